#include <memory>

#include "oci_cli/commands.h"
#include "linux/process.h"

namespace berth::oci_cli {

void add_create_flags(CLI::App& command, CreateFlags& flags) {
  container::CreateOptions& options = flags.options;
  command
      .add_option("-b,--bundle", options.bundle,
                  "path to the root of the bundle directory, defaults to the current directory")
      ->capture_default_str();
  command.add_option("--console-socket", options.console_socket,
                     "path to an AF_UNIX socket which will receive a file descriptor "
                     "referencing the master end of the console's pseudoterminal");
  command.add_option("--pid-file", options.pid_file, "specify the file to write the process id to");
  command.add_flag("--no-pivot", options.no_pivot,
                   "do not use pivot root to jail process inside rootfs. This should be used "
                   "whenever the rootfs is on top of a ramdisk");
  command.add_flag("--no-new-keyring", options.no_new_keyring,
                   "do not create a new session keyring for the container. This will cause "
                   "the container to inherit the calling processes session key");
  command
      .add_option("--preserve-fds", options.preserve_fds,
                  "Pass N additional file descriptors to the container (stdio + "
                  "$LISTEN_FDS + N in total)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command.add_option("container-id", options.id, "your name for the instance of the container")
      ->required();
}

Status check_create_flags(const GlobalOptions& globals, const CreateFlags& flags) {
  if (globals.systemd_cgroup)
    return make_error("systemd cgroup driver is not supported: berth manages cgroup v2 directly");
  return linux::check_preserved_fds(flags.options.preserve_fds);
}

Command register_create(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("create", "create a container");
  auto flags = std::make_shared<CreateFlags>();
  add_create_flags(*command, *flags);
  return {command, [&globals, flags]() -> CommandResult {
            TRY(check_create_flags(globals, *flags));
            TRY(container::create_container(globals.root, flags->options));
            return 0;
          }};
}

}  // namespace berth::oci_cli
