// exec [flags] <container-id> <command> [args...], or -p process.json
// <container-id>: runc's flags. Without --process the Process is the
// container's own (config.json's process) with the flags applied, as
// runc's getProcess builds it.
#include "container/exec.h"

#include <cstdlib>
#include <memory>

#include "oci_cli/commands.h"
#include "core/files.h"
#include "linux/capabilities.h"
#include "linux/process.h"

namespace berth::oci_cli {
namespace {

struct ExecFlags {
  container::ExecOptions options;
  std::string id;
  std::string process_file;
  std::string cwd;
  std::vector<std::string> env;
  bool tty = false;
  std::string user;
  std::vector<int64_t> additional_gids;
  std::string process_label;
  std::string apparmor;
  bool no_new_privs = false;
  std::vector<std::string> caps;
  int preserve_fds = 0;
};

Result<uint32_t> parse_id(const std::string& text, const char* what) {
  char* end = nullptr;
  errno = 0;
  unsigned long value = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value > UINT32_MAX || text[0] == '-')
    return make_error("--user: \"{}\" is not a numeric {}", text, what);
  return static_cast<uint32_t>(value);
}

// KEY=VALUE replaces an earlier KEY, in its place, as runc's environment
// handling does; a new key is appended.
Status add_env(std::vector<std::string>& env, const std::string& entry) {
  size_t equals = entry.find('=');
  if (equals == std::string::npos || equals == 0)
    return make_error("--env: invalid environment variable \"{}\"", entry);
  std::string prefix = entry.substr(0, equals + 1);
  for (std::string& existing : env) {
    if (existing.rfind(prefix, 0) == 0) {
      existing = entry;
      return ok();
    }
  }
  env.push_back(entry);
  return ok();
}

Result<spec::Process> process_from_file(const std::string& path) {
  std::string text = TRY_VALUE(read_file(path));
  nlohmann::json document = nlohmann::json::parse(text, nullptr, false);
  if (document.is_discarded()) return make_error("--process {}: not valid JSON", path);
  auto process = spec::parse_process_json(document);
  if (!process) return process.error().add_context(fmt::format("--process {}", path));
  return process;
}

// The container's own process with the flags applied.
Result<spec::Process> process_from_flags(const GlobalOptions& globals, const ExecFlags& flags,
                                         std::vector<std::string> command) {
  auto state = TRY_VALUE(container::container_state(globals.root, flags.id));
  spec::Spec spec = TRY_VALUE(spec::load_spec(state.bundle));
  if (!spec.process) return make_error("{}/config.json: process: required", state.bundle);
  spec::Process process = std::move(*spec.process);
  process.args = std::move(command);
  if (!flags.cwd.empty()) process.cwd = flags.cwd;
  if (!flags.apparmor.empty()) process.apparmor_profile = flags.apparmor;
  if (!flags.process_label.empty()) process.selinux_label = flags.process_label;
  for (const std::string& cap : flags.caps) {
    TRY_CTX(linux::capability_from_name(cap), "--cap");
    // A process without a capabilities object keeps them all already.
    if (!process.capabilities) continue;
    spec::Capabilities& sets = *process.capabilities;
    for (auto* set :
         {&sets.bounding, &sets.effective, &sets.permitted, &sets.inheritable, &sets.ambient})
      set->push_back(cap);
  }
  for (const std::string& entry : flags.env) TRY(add_env(process.env, entry));
  process.terminal = flags.tty;
  if (flags.no_new_privs) process.no_new_privileges = true;
  if (!flags.user.empty()) {
    size_t colon = flags.user.find(':');
    process.user.uid = TRY_VALUE(parse_id(flags.user.substr(0, colon), "uid"));
    if (colon != std::string::npos)
      process.user.gid = TRY_VALUE(parse_id(flags.user.substr(colon + 1), "gid"));
  }
  for (int64_t gid : flags.additional_gids) {
    if (gid < 0 || gid > UINT32_MAX)
      return make_error("--additional-gids: {} is not a valid gid", gid);
    process.user.additional_gids.push_back(static_cast<uint32_t>(gid));
  }
  return process;
}

}  // namespace

Command register_exec(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("exec", "execute new process inside the container");
  // Everything after <container-id> <command> is the command's, flags too.
  command->prefix_command();
  auto flags = std::make_shared<ExecFlags>();
  container::ExecOptions& options = flags->options;
  // One value per occurrence: a repeatable flag must not swallow the
  // container id and the command that follow it.
  auto repeatable = [](CLI::Option* option) { option->allow_extra_args(false); };
  command->add_option("--console-socket", options.console_socket,
                      "path to an AF_UNIX socket which will receive a file descriptor "
                      "referencing the master end of the console's pseudoterminal");
  command->add_option("--cwd", flags->cwd, "current working directory in the container");
  repeatable(command->add_option("-e,--env", flags->env, "set environment variables"));
  command->add_flag("-t,--tty", flags->tty, "allocate a pseudo-TTY");
  command->add_option("-u,--user", flags->user, "UID (format: <uid>[:<gid>])");
  repeatable(
      command->add_option("-g,--additional-gids", flags->additional_gids, "additional gids"));
  command->add_option("-p,--process", flags->process_file, "path to the process.json");
  command->add_flag("-d,--detach", options.detach, "detach from the container's process");
  command->add_option("--pid-file", options.pid_file,
                      "specify the file to write the process id to");
  command->add_option("--process-label", flags->process_label,
                      "set the asm process label for the process commonly used with selinux");
  command->add_option("--apparmor", flags->apparmor, "set the apparmor profile for the process");
  command->add_flag("--no-new-privs", flags->no_new_privs,
                    "set the no new privileges value for the process");
  repeatable(command->add_option("-c,--cap", flags->caps,
                                 "add a capability to the bounding set for the process"));
  command
      ->add_option("--preserve-fds", flags->preserve_fds,
                   "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N "
                   "in total)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command->add_option("container-id", flags->id, "the name of the container")->required();

  return {command,
          [&globals, flags, command]() -> CommandResult {
            // What prefix_command left: the command line, after any flag
            // CLI11 did not know (which came before it).
            std::vector<std::string> rest = command->remaining();
            // "exec -- ID CMD": the marker ends exec's flags, as runc's.
            if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
            if (!rest.empty() && rest.front().starts_with("-"))
              return make_error("unknown flag {}", rest.front());
            TRY(linux::check_preserved_fds(flags->preserve_fds));
            container::ExecOptions options = flags->options;
            options.preserve_fds = flags->preserve_fds;
            options.id = flags->id;
            if (!flags->process_file.empty()) {
              if (!rest.empty())
                return make_error("a command ({}) cannot be given with --process", rest.front());
              options.process = TRY_VALUE(process_from_file(flags->process_file));
            } else {
              if (rest.empty()) return make_error("process args cannot be empty");
              options.process = TRY_VALUE(process_from_flags(globals, *flags, std::move(rest)));
            }
            return container::exec_in_container(globals.root, options);
          },
          255};
}

}  // namespace berth::oci_cli
