#include <memory>

#include "oci_cli/commands.h"
#include "container/pause.h"

namespace berth::oci_cli {

Command register_resume(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command =
      app.add_subcommand("resume", "resumes all processes that have been previously paused");
  auto id = std::make_shared<std::string>();
  command->add_option("container-id", *id, "the name of the container")->required();
  return {command, [&globals, id]() -> CommandResult {
            TRY(container::resume_container(globals.root, *id));
            return 0;
          }};
}

}  // namespace berth::oci_cli
