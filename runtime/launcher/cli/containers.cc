// The commands that act on one or more existing containers: logs, exec,
// stop, kill, rm.
#include <memory>

#include "launcher/cli/commands.h"
#include "launcher/manage.h"

namespace berth::launcher_cli {
namespace {

using launcher::ContainerRecords;

// Docker acts on each named container and reports each failure, exiting
// non-zero if any failed.
CommandResult for_each(const std::vector<std::string>& names,
                       const std::function<Status(const std::string&)>& action) {
  Error last;
  bool failed = false;
  for (const std::string& name : names) {
    if (auto status = action(name); !status) {
      if (failed) fmt::print(stderr, "berth: {}\n", last.message());
      last = status.error();
      failed = true;
      continue;
    }
    fmt::print("{}\n", name);
  }
  if (failed) return last;
  return 0;
}

}  // namespace

Command register_logs(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("logs", "Fetch the logs of a detached container");
  auto name = std::make_shared<std::string>();
  auto follow = std::make_shared<bool>(false);
  command->add_flag("-f,--follow", *follow, "Follow log output");
  command->add_option("container", *name, "name or id")->required();
  return {command, [&globals, name, follow]() -> CommandResult {
            auto records = TRY_VALUE(ContainerRecords::open(globals.root));
            TRY(launcher::print_logs(records, *name, *follow));
            return 0;
          }};
}

Command register_exec(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("exec", "Execute a command in a running container");
  command->prefix_command();
  auto request = std::make_shared<launcher::ExecRequest>();
  command->add_flag("-i,--interactive", request->interactive, "Keep STDIN open");
  command->add_flag("-t,--tty", request->tty, "Allocate a pseudo-TTY");
  command->add_flag("-d,--detach", request->detach, "Detached mode: run command in the background");
  command->add_option("-e,--env", request->env, "Set environment variables")
      ->allow_extra_args(false);
  command->add_option("-w,--workdir", request->workdir, "Working directory inside the container");
  command->add_option("-u,--user", request->user, "Username or UID (format: <name|uid>[:<group|gid>])");
  return {command, [&globals, command, request]() -> CommandResult {
            std::vector<std::string> rest = command->remaining(true);
            if (rest.size() < 2)
              return make_error("\"berth exec\" requires at least 2 arguments: CONTAINER COMMAND");
            request->command.assign(rest.begin() + 1, rest.end());
            auto records = TRY_VALUE(ContainerRecords::open(globals.root));
            return launcher::exec_in_container(records, rest[0], *request);
          }};
}

Command register_stop(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("stop", "Stop one or more running containers");
  auto names = std::make_shared<std::vector<std::string>>();
  auto timeout = std::make_shared<int>(10);
  command->add_option("-t,--time", *timeout, "Seconds to wait before killing the container")
      ->capture_default_str();
  command->add_option("container", *names, "name or id")->required();
  return {command, [&globals, names, timeout]() -> CommandResult {
            auto records = TRY_VALUE(ContainerRecords::open(globals.root));
            return for_each(*names, [&](const std::string& name) {
              return launcher::stop_container(records, name, *timeout);
            });
          }};
}

Command register_kill(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("kill", "Kill one or more running containers");
  auto names = std::make_shared<std::vector<std::string>>();
  auto signal = std::make_shared<std::string>("KILL");
  command->add_option("-s,--signal", *signal, "Signal to send to the container")->capture_default_str();
  command->add_option("container", *names, "name or id")->required();
  return {command, [&globals, names, signal]() -> CommandResult {
            auto records = TRY_VALUE(ContainerRecords::open(globals.root));
            return for_each(*names, [&](const std::string& name) {
              return launcher::signal_container(records, name, *signal);
            });
          }};
}

Command register_rm(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("rm", "Remove one or more containers");
  auto names = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  command->add_flag("-f,--force", *force, "Force the removal of a running container (uses SIGKILL)");
  command->add_option("container", *names, "name or id")->required();
  return {command, [&globals, names, force]() -> CommandResult {
            auto records = TRY_VALUE(ContainerRecords::open(globals.root));
            return for_each(*names, [&](const std::string& name) {
              return launcher::remove_container(records, name, *force);
            });
          }};
}

}  // namespace berth::launcher_cli
