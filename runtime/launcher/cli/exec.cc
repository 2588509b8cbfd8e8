#include <memory>

#include "launcher/cli/commands.h"
#include "launcher/manage.h"

namespace berth::launcher_cli {

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
  command->add_option("-u,--user", request->user,
                      "Username or UID (format: <name|uid>[:<group|gid>])");
  return {command, [&globals, command, request]() -> CommandResult {
            std::vector<std::string> rest = command->remaining(true);
            if (rest.size() < 2)
              return make_error("\"berth exec\" requires at least 2 arguments: CONTAINER COMMAND");
            request->command.assign(rest.begin() + 1, rest.end());
            auto records = TRY_VALUE(launcher::ContainerRecords::open(globals.root));
            return launcher::exec_in_container(records, rest[0], *request);
          }};
}

}  // namespace berth::launcher_cli
