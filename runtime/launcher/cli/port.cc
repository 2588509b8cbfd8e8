#include <memory>

#include "launcher/cli/commands.h"
#include "launcher/container_network.h"
#include "launcher/records.h"
#include "launcher/network/ports.h"

namespace berth::launcher_cli {

Command register_port(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command =
      app.add_subcommand("port", "List port mappings or a specific mapping for the container");
  auto name = std::make_shared<std::string>();
  auto port = std::make_shared<std::string>();
  command->add_option("container", *name, "name or id")->required();
  command->add_option("port", *port, "PRIVATE_PORT[/PROTO]");
  return {
      command, [&globals, name, port]() -> CommandResult {
        auto records = TRY_VALUE(launcher::ContainerRecords::open(globals.root));
        auto record = TRY_VALUE(records.find(*name));
        auto status = records.status(record);
        if (status != launcher::RecordStatus::Running && status != launcher::RecordStatus::Paused)
          return make_error("container {} is not running", record.name);
        if (port->empty()) {
          for (const network::PortMapping& mapping : record.ports)
            fmt::print("{}\n", network::describe_mapping(mapping));
          return 0;
        }
        auto wanted = TRY_VALUE(launcher::parse_publish(*port));
        bool found = false;
        for (const network::PortMapping& mapping : record.ports) {
          if (mapping.container_port != wanted.container_port ||
              mapping.protocol != wanted.protocol)
            continue;
          fmt::print("{}:{}\n", mapping.host_ip ? mapping.host_ip->to_string() : "0.0.0.0",
                     mapping.host_port);
          found = true;
        }
        if (!found) return make_error("no public port '{}' published for {}", *port, record.name);
        return 0;
      }};
}

}  // namespace berth::launcher_cli
