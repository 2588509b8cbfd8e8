#include <memory>

#include "oci_cli/commands.h"

namespace berth::oci_cli {
namespace {

struct DeleteFlags {
  std::string id;
  bool force = false;
};

}  // namespace

Command register_delete(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand(
      "delete", "delete any resources held by the container often used with detached container");
  auto flags = std::make_shared<DeleteFlags>();
  command->add_flag("-f,--force", flags->force,
                    "Forcibly deletes the container if it is still running (uses SIGKILL)");
  command->add_option("container-id", flags->id, "the name of the container")->required();
  return {command, [&globals, flags]() -> CommandResult {
            // With --force, the library treats a container that does not exist
            // as deleted: containerd's shim cleans up that way after a failed
            // create.
            TRY(container::delete_container(globals.root, flags->id, flags->force));
            return 0;
          }};
}

}  // namespace berth::oci_cli
