#include <memory>

#include "launcher/cli/commands.h"
#include "launcher/manage.h"

namespace berth::launcher_cli {

Command register_logs(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("logs", "Fetch the logs of a detached container");
  auto name = std::make_shared<std::string>();
  auto follow = std::make_shared<bool>(false);
  command->add_flag("-f,--follow", *follow, "Follow log output");
  command->add_option("container", *name, "name or id")->required();
  return {command, [&globals, name, follow]() -> CommandResult {
            auto records = TRY_VALUE(launcher::ContainerRecords::open(globals.root));
            TRY(launcher::print_logs(records, *name, *follow));
            return 0;
          }};
}

}  // namespace berth::launcher_cli
