#include "container/pause.h"

#include <memory>

#include "oci_cli/commands.h"

namespace berth::oci_cli {

Command register_pause(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command =
      app.add_subcommand("pause", "pause suspends all processes inside the container");
  auto id = std::make_shared<std::string>();
  command->add_option("container-id", *id, "the name of the container")->required();
  return {command, [&globals, id]() -> CommandResult {
            TRY(container::pause_container(globals.root, *id));
            return 0;
          }};
}

}  // namespace berth::oci_cli
