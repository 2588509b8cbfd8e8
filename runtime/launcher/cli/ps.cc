#include <memory>

#include "launcher/cli/commands.h"
#include "launcher/records.h"

namespace berth::launcher_cli {
namespace {

std::string quoted_command(const std::vector<std::string>& command) {
  std::string joined;
  for (const std::string& arg : command) joined += (joined.empty() ? "" : " ") + arg;
  if (joined.size() > 20) joined = joined.substr(0, 19) + "…";
  return "\"" + joined + "\"";
}

std::string describe_status(const launcher::ContainerRecords& records,
                            const launcher::ContainerRecord& record) {
  switch (records.status(record)) {
    case launcher::RecordStatus::Running: {
      std::string since = human_since(record.started);  // "5 seconds ago"
      return "Up " + since.substr(0, since.size() - 4);
    }
    case launcher::RecordStatus::Paused:
      return "Up (Paused)";
    case launcher::RecordStatus::Created:
      return "Created";
    case launcher::RecordStatus::Exited:
      return fmt::format("Exited ({}) {}", record.exit_code ? *record.exit_code : -1,
                         human_since(record.finished.empty() ? record.started : record.finished));
  }
  return "";
}

// Docker's PORTS column: "0.0.0.0:8888->8888/tcp, 127.0.0.1:5353->53/udp".
std::string describe_ports(const launcher::ContainerRecord& record) {
  std::string text;
  for (const network::PortMapping& mapping : record.ports)
    text +=
        fmt::format("{}{}:{}->{}/{}", text.empty() ? "" : ", ",
                    mapping.host_ip ? mapping.host_ip->to_string() : "0.0.0.0", mapping.host_port,
                    mapping.container_port, network::to_string(mapping.protocol));
  return text;
}

}  // namespace

Command register_ps(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("ps", "List containers");
  auto all = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);
  command->add_flag("-a,--all", *all, "Show all containers (default shows just running)");
  command->add_flag("-q,--quiet", *quiet, "Only display container IDs");
  return {command, [&globals, all, quiet]() -> CommandResult {
            auto records = TRY_VALUE(launcher::ContainerRecords::open(globals.root));
            if (!*quiet)
              fmt::print("{:<14} {:<24} {:<22} {:<16} {:<26} {:<24} {}\n", "CONTAINER ID", "IMAGE",
                         "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES");
            for (const launcher::ContainerRecord& record : TRY_VALUE(records.list())) {
              launcher::RecordStatus status = records.status(record);
              if (!*all && status != launcher::RecordStatus::Running &&
                  status != launcher::RecordStatus::Paused)
                continue;
              if (*quiet) {
                fmt::print("{}\n", record.id.substr(0, 12));
                continue;
              }
              bool live = status == launcher::RecordStatus::Running ||
                          status == launcher::RecordStatus::Paused;
              fmt::print("{:<14} {:<24} {:<22} {:<16} {:<26} {:<24} {}\n", record.id.substr(0, 12),
                         record.image, quoted_command(record.command), human_since(record.created),
                         describe_status(records, record), live ? describe_ports(record) : "",
                         record.name);
            }
            return 0;
          }};
}

}  // namespace berth::launcher_cli
