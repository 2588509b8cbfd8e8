#include <memory>

#include "launcher/cli/commands.h"
#include "launcher/manage.h"

namespace berth::launcher_cli {

Command register_rm(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("rm", "Remove one or more containers");
  auto names = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  command->add_flag("-f,--force", *force,
                    "Force the removal of a running container (uses SIGKILL)");
  command->add_option("container", *names, "name or id")->required();
  return {command, [&globals, names, force]() -> CommandResult {
            auto records = TRY_VALUE(launcher::ContainerRecords::open(globals.root));
            return for_each_container(*names, [&](const std::string& name) {
              return launcher::remove_container(records, name, *force);
            });
          }};
}

}  // namespace berth::launcher_cli
