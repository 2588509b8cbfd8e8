#include <memory>

#include "launcher/cli/commands.h"
#include "launcher/manage.h"

namespace berth::launcher_cli {

Command register_stop(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("stop", "Stop one or more running containers");
  auto names = std::make_shared<std::vector<std::string>>();
  auto timeout = std::make_shared<int>(10);
  command->add_option("-t,--time", *timeout, "Seconds to wait before killing the container")
      ->capture_default_str();
  command->add_option("container", *names, "name or id")->required();
  return {command, [&globals, names, timeout]() -> CommandResult {
            auto records = TRY_VALUE(launcher::ContainerRecords::open(globals.root));
            return for_each_container(*names, [&](const std::string& name) {
              return launcher::stop_container(records, name, *timeout);
            });
          }};
}

}  // namespace berth::launcher_cli
