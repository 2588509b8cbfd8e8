#include <memory>

#include "oci_cli/commands.h"

namespace berth::oci_cli {
namespace {

struct KillFlags {
  std::string id;
  std::string signal = "SIGTERM";
  bool all = false;
};

}  // namespace

Command register_kill(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand(
      "kill", "kill sends the specified signal (default: SIGTERM) to the container's init process");
  auto flags = std::make_shared<KillFlags>();
  command->add_flag("-a,--all", flags->all,
                    "send the specified signal to all processes inside the container");
  command->add_option("container-id", flags->id, "the name of the container")->required();
  command->add_option("signal", flags->signal, "the signal to send: a name or a number")
      ->capture_default_str();
  return {command, [&globals, flags]() -> CommandResult {
            int signal = TRY_VALUE(container::parse_signal(flags->signal));
            TRY(container::kill_container(globals.root, flags->id, signal, flags->all));
            return 0;
          }};
}

}  // namespace berth::oci_cli
