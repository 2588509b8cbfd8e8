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
              fmt::print("{:<14} {:<24} {:<22} {:<16} {:<26} {}\n", "CONTAINER ID", "IMAGE",
                         "COMMAND", "CREATED", "STATUS", "NAMES");
            for (const launcher::ContainerRecord& record : TRY_VALUE(records.list())) {
              launcher::RecordStatus status = records.status(record);
              if (!*all && status != launcher::RecordStatus::Running &&
                  status != launcher::RecordStatus::Paused)
                continue;
              if (*quiet) {
                fmt::print("{}\n", record.id.substr(0, 12));
                continue;
              }
              fmt::print("{:<14} {:<24} {:<22} {:<16} {:<26} {}\n", record.id.substr(0, 12),
                         record.image, quoted_command(record.command), human_since(record.created),
                         describe_status(records, record), record.name);
            }
            return 0;
          }};
}

}  // namespace berth::launcher_cli
