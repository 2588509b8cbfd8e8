// checkpoint and restore: runc's are CRIU's dump and restore, and berth has
// no CRIU support (nor does CRIU work on the kernels berth is tested on).
// containerd's shim calls them with runc's flags, restore with Go's
// single-dash `-no-subreaper` that CLI11 cannot declare; so each takes any
// arguments and is refused saying why, rather than as an unknown command.
#include "oci_cli/commands.h"

namespace berth::oci_cli {
namespace {

Command register_unsupported(CLI::App& app, const char* name, const char* description) {
  CLI::App* command = app.add_subcommand(name, description);
  // runc's flags and the container id, whatever they are: left unparsed.
  command->prefix_command();
  return {command, [name]() -> CommandResult {
            return make_error("{} is not supported: berth-runtime has no CRIU support", name);
          }};
}

}  // namespace

Command register_checkpoint(CLI::App& app, const GlobalOptions&) {
  return register_unsupported(app, "checkpoint", "checkpoint a running container (not supported)");
}

Command register_restore(CLI::App& app, const GlobalOptions&) {
  return register_unsupported(app, "restore",
                              "restore a container from a previous checkpoint (not supported)");
}

}  // namespace berth::oci_cli
