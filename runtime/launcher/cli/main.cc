// berth: the launcher's command line. Docker's commands and flags for
// running images as containers; the containers themselves are made by the
// runtime library, the same code berth-runtime runs.
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "launcher/cli/commands.h"
#include "launcher/run.h"

namespace berth::launcher_cli {
namespace {

constexpr const char* kDescription =
    "berth: run images as containers, with Docker's commands and flags and no daemon.\n"
    "    berth import IMAGE-ARCHIVE\n"
    "    berth run -it --rm -v ~/notebooks:/workdir IMAGE [COMMAND...]";

int report_failure(const Error& error) {
  std::fprintf(stderr, "berth: %s\n", error.message().c_str());
  return launcher::exit_status_for_error(error);
}

int run_main(int argc, char** argv) {
  GlobalOptions globals;
  CLI::App app(kDescription, "berth");
  app.add_option("--root", globals.root, "where images and containers are stored")
      ->capture_default_str();
  app.add_option("--bridge", globals.bridge,
                 "the host bridge of --network bridge containers (default berth0)");
  app.add_option("--subnet", globals.subnet,
                 "the bridge's IPv4 subnet, when berth creates it (default 10.87.0.0/16)");
  app.add_option("--registries-config", globals.registries_config,
                 "registry mirrors and insecure registries (default $BERTH_REGISTRIES_CONFIG or "
                 "/etc/berth/registries.json)");
  std::vector<Command> commands = {
      register_run(app, globals),    register_import(app, globals),  register_images(app, globals),
      register_rmi(app, globals),    register_inspect(app, globals), register_ps(app, globals),
      register_logs(app, globals),   register_exec(app, globals),    register_stop(app, globals),
      register_kill(app, globals),   register_rm(app, globals),      register_port(app, globals),
      register_system(app, globals),  register_pull(app, globals),    register_tag(app, globals),
      register_login(app, globals),   register_logout(app, globals),  register_push(app, globals),
  };
  app.require_subcommand(1, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::fprintf(stderr, "berth: %s\nSee 'berth --help'.\n", error.what());
    return 125;
  }
  for (const Command& command : commands) {
    if (!command.app->parsed()) continue;
    try {
      CommandResult result = command.run();
      if (!result) return report_failure(result.error());
      return result.value();
    } catch (const std::exception& error) {
      std::fprintf(stderr, "berth %s: %s\n", command.app->get_name().c_str(), error.what());
      return 125;
    }
  }
  return 125;
}

}  // namespace
}  // namespace berth::launcher_cli

int main(int argc, char** argv) { return berth::launcher_cli::run_main(argc, argv); }
