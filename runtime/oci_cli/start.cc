#include <memory>

#include "oci_cli/commands.h"

namespace berth::oci_cli {

Command register_start(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command =
      app.add_subcommand("start", "executes the user defined process in a created container");
  auto id = std::make_shared<std::string>();
  command->add_option("container-id", *id, "the name of the created container")->required();
  return {command, [&globals, id]() -> CommandResult {
            TRY(container::start_container(globals.root, *id));
            return 0;
          }};
}

}  // namespace berth::oci_cli
