#include "launcher/run.h"

#include <unistd.h>

#include <memory>

#include "launcher/cli/commands.h"
#include "launcher/sealed_copy.h"
#include "rootfs/reference.h"

namespace berth::launcher_cli {
namespace {

// Each use of a repeatable flag takes exactly one value, as in Docker:
// `-v /a:/b IMAGE` must not take IMAGE as a second volume.
CLI::Option* repeatable(CLI::App* command, const std::string& name,
                        std::vector<std::string>& values, const std::string& help) {
  return command->add_option(name, values, help)->allow_extra_args(false);
}

struct PullFlags {
  std::string policy = "missing";
  std::string platform;
};

// --pull: missing (Docker's default) pulls an image the store lacks, always
// pulls first, never uses the store only. What the pull prints goes to
// stderr, as Docker's, so the container's output stays alone on stdout.
Status ensure_image(const GlobalOptions& globals, const PullFlags& flags, const std::string& name) {
  if (flags.policy == "never") return ok();
  if (flags.policy == "missing") {
    auto store = TRY_VALUE(image::Store::open(globals.root));
    auto found = store.find_image(name);
    if (found) return ok();
    if (found.error().errno_value() != ENOENT) return std::move(found.error());
    image::Reference reference = TRY_VALUE(image::parse_reference(name));
    fmt::print(stderr, "Unable to find image '{}' locally\n", reference.familiar_string());
  }
  TRY(pull(globals, name, flags.platform, false, stderr));
  return ok();
}

}  // namespace

Command register_run(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("run", "Create and run a new container from an image");
  // IMAGE and everything after it are the image and its command, flags too.
  command->prefix_command();
  command->set_help_flag("--help", "Print this help message and exit");  // -h is --hostname
  auto options = std::make_shared<launcher::RunOptions>();
  auto entrypoint = std::make_shared<std::string>();
  auto pull_flags = std::make_shared<PullFlags>();
  command->add_option("--pull", pull_flags->policy, "Pull image before running (always, missing, never)")
      ->check(CLI::IsMember({"always", "missing", "never"}))
      ->capture_default_str();
  command->add_option("--platform", pull_flags->platform, "Set platform if server is multi-platform capable");
  command->add_flag("-i,--interactive", options->interactive, "Keep STDIN open");
  command->add_flag("-t,--tty", options->tty, "Allocate a pseudo-TTY");
  command->add_flag("-d,--detach", options->detach, "Run in the background and print the id");
  command->add_flag("--rm", options->remove, "Remove the container when it exits");
  command->add_option("--name", options->name, "Assign a name to the container");
  repeatable(command, "-e,--env", options->env, "Set an environment variable (KEY=VALUE or KEY)");
  repeatable(command, "--env-file", options->env_files, "Read environment variables from a file");
  command->add_option("-w,--workdir", options->workdir, "Working directory inside the container");
  command->add_option("-u,--user", options->user,
                      "Username or UID (format: <name|uid>[:<group|gid>])");
  command->add_option("--entrypoint", *entrypoint, "Overwrite the image's ENTRYPOINT");
  repeatable(command, "-v,--volume", options->volumes, "Bind mount a volume (HOST:CONTAINER[:ro])");
  repeatable(command, "--tmpfs", options->tmpfs, "Mount a tmpfs (CONTAINER[:OPTIONS])");
  command->add_option("-h,--hostname", options->hostname, "Container host name");
  command->add_flag("--init", options->init,
                    "Run an init inside the container that forwards signals and reaps processes");
  command->add_option("-m,--memory", options->memory, "Memory limit (e.g. 512m)");
  command->add_option("--pids-limit", options->pids_limit, "Tune container pids limit");
  command->add_option("--cpus", options->cpus, "Number of CPUs (e.g. 1.5)");
  command->add_flag("--read-only", options->read_only,
                    "Mount the container's root filesystem as read only");
  repeatable(command, "--cap-add", options->cap_add, "Add Linux capabilities");
  repeatable(command, "--cap-drop", options->cap_drop, "Drop Linux capabilities");
  repeatable(command, "--security-opt", options->security_opts,
             "Security options (seccomp=unconfined|PROFILE.json, no-new-privileges)");
  command->add_option("--network,--net", options->network, "Network: bridge, none or host")
      ->capture_default_str();
  repeatable(command, "-p,--publish", options->publish,
             "Publish a container's port to the host ([IP:]HOSTPORT:CTRPORT[/PROTO] or CTRPORT)");
  command->add_flag("-P,--publish-all", options->publish_all,
                    "Publish all exposed ports to free host ports");
  return {command, [&globals, command, options, entrypoint, pull_flags]() -> CommandResult {
            if (command->count("--entrypoint")) options->entrypoint = *entrypoint;
            std::vector<std::string> rest = command->remaining(true);
            if (rest.empty())
              return make_error("\"berth run\" requires at least 1 argument: IMAGE");
            options->image = rest[0];
            options->bridge = globals.bridge;
            options->subnet = globals.subnet;
            options->command.assign(rest.begin() + 1, rest.end());
            launcher::LauncherPaths paths{globals.root, launcher::init_binary_path()};
            // CVE-2019-5736: before anything is made (launcher/sealed_copy.h).
            TRY(launcher::reexec_from_sealed_copy_if_ptrace(*options, paths.init_binary));
            if (options->init && ::access(paths.init_binary.c_str(), X_OK) < 0)
              return sys_error("--init: {}", paths.init_binary);
            TRY(ensure_image(globals, *pull_flags, options->image));
            return launcher::run_container(paths, *options);
          }};
}

}  // namespace berth::launcher_cli
