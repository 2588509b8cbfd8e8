#include <memory>

#include "launcher/cli/commands.h"
#include "launcher/manage.h"

namespace berth::launcher_cli {

Command register_kill(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("kill", "Kill one or more running containers");
  auto names = std::make_shared<std::vector<std::string>>();
  auto signal = std::make_shared<std::string>("KILL");
  command->add_option("-s,--signal", *signal, "Signal to send to the container")
      ->capture_default_str();
  command->add_option("container", *names, "name or id")->required();
  return {command, [&globals, names, signal]() -> CommandResult {
            auto records = TRY_VALUE(launcher::ContainerRecords::open(globals.root));
            return for_each_container(*names, [&](const std::string& name) {
              return launcher::signal_container(records, name, *signal);
            });
          }};
}

}  // namespace berth::launcher_cli
