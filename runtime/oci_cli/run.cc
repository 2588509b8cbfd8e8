#include <memory>

#include "oci_cli/commands.h"

namespace berth::oci_cli {
namespace {

struct RunFlags {
  CreateFlags create;
  bool detach = false;
  bool keep = false;
  bool no_subreaper = false;
};

}  // namespace

Command register_run(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("run", "create and run a container");
  auto flags = std::make_shared<RunFlags>();
  add_create_flags(*command, flags->create);
  command->add_flag("-d,--detach", flags->detach, "detach from the container's process");
  command->add_flag("--keep", flags->keep, "do not delete the container after it exits");
  // berth never makes itself a subreaper, so there is nothing to disable;
  // the flag is accepted for callers that pass it.
  command->add_flag("--no-subreaper", flags->no_subreaper,
                    "disable the use of the subreaper used to reap reparented processes");
  return {command, [&globals, flags]() -> CommandResult {
            TRY(check_create_flags(globals, flags->create));
            if (flags->keep)
              return make_error("--keep: keeping a container after it exits is not supported yet");
            return container::run_container(globals.root, flags->create.options, flags->detach);
          }};
}

}  // namespace berth::oci_cli
