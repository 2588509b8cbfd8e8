// berth-runtime: the OCI runtime command line, flag for flag runc's, so that
// containerd's runc shim can drive it. Errors come back from the commands as
// values and are reported here, once, the way runc reports them: an
// "error" entry in the --log file (which the shim reads) and, when that file
// is not stderr, the plain message on stderr; exit status 1.
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "oci_cli/commands.h"
#include "container/features.h"
#include "core/log.h"

namespace berth::oci_cli {
namespace {

constexpr const char* kDescription =
    "berth-runtime: an Open Container Initiative runtime, command-line compatible with runc.\n"
    "Containers are configured using bundles: a directory with a config.json specification\n"
    "and a root filesystem. To create and start a container in one step:\n"
    "    berth-runtime run [-b bundle] <container-id>";

struct LogSettings {
  std::string path;
  std::string format = "text";

  // runc's default --log is /dev/stderr.
  bool to_stderr() const { return path.empty() || path == "/dev/stderr"; }
};

void add_global_flags(CLI::App& app, GlobalOptions& globals) {
  app.add_option("--root", globals.root,
                 "root directory for storage of container state (this should be located in "
                 "tmpfs)")
      ->capture_default_str();
  app.add_option("--log", globals.log_path,
                 "set the log file to write berth-runtime logs to (default is '/dev/stderr')");
  app.add_option("--log-format", globals.log_format,
                 "set the log format ('text' (default), or 'json')")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", globals.debug, "enable debug logging");
  app.add_option("--criu", globals.criu,
                 "path to the criu binary used for checkpoint and restore (accepted; "
                 "checkpoint is not supported)")
      ->capture_default_str();
  app.add_flag("--systemd-cgroup", globals.systemd_cgroup,
               "enable systemd cgroup support (not supported: commands that create fail)");
  app.add_option("--rootless", globals.rootless,
                 "ignore cgroup permission errors ('true', 'false', or 'auto')")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "true", "false"}));
  app.set_version_flag("-v,--version",
                       fmt::format("berth-runtime version {}\nspec: {}", container::kRuntimeVersion,
                                   container::kOciVersionMax));
}

// On a parse error the bound variables may not have been assigned yet, but
// the options' raw results are there: read --log and --log-format from them
// so the error still reaches the log the caller asked for.
LogSettings log_settings_after_parse_error(const CLI::App& app) {
  LogSettings settings;
  const CLI::Option* log = app.get_option("--log");
  const CLI::Option* format = app.get_option("--log-format");
  if (log->count() > 0) settings.path = log->results().back();
  if (format->count() > 0 && format->results().back() == "json") settings.format = "json";
  return settings;
}

void configure_log(const LogSettings& settings, bool debug) {
  log::configure(settings.to_stderr() ? "" : settings.path,
                 settings.format == "json" ? log::Format::Json : log::Format::Text, debug);
}

int report_failure(const LogSettings& settings, const std::string& message, int status = 1) {
  log::write(log::Level::Error, message);
  if (!settings.to_stderr()) std::fprintf(stderr, "berth-runtime: %s\n", message.c_str());
  return status;
}

// Arguments CLI11 could not place (allow_extras keeps them): an unknown flag
// or command, or one positional argument too many.
std::string describe_extra_argument(const std::string& argument, bool command_chosen) {
  if (argument.starts_with("-")) return fmt::format("unknown flag {}", argument);
  if (!command_chosen) return fmt::format("unknown command {}", argument);
  return fmt::format("unexpected argument {}", argument);
}

std::string join_arguments(int argc, char** argv) {
  std::string joined;
  for (int i = 0; i < argc; ++i) joined += (i ? " " : "") + std::string(argv[i]);
  return joined;
}

int run_main(int argc, char** argv) {
  GlobalOptions globals;
  CLI::App app(kDescription, "berth-runtime");
  // Set before the subcommands are added: they inherit it.
  app.allow_extras();
  add_global_flags(app, globals);

  std::vector<Command> commands = {
      register_create(app, globals),  register_delete(app, globals),
      register_exec(app, globals),    register_features(app, globals),
      register_kill(app, globals),    register_list(app, globals),
      register_run(app, globals),     register_spec(app, globals),
      register_start(app, globals),   register_state(app, globals),
      register_update(app, globals),  register_pause(app, globals),
      register_resume(app, globals),  register_ps(app, globals),
      register_events(app, globals),  register_checkpoint(app, globals),
      register_restore(app, globals),
  };
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& help_or_version) {
    return app.exit(help_or_version);
  } catch (const CLI::ParseError& error) {
    LogSettings settings = log_settings_after_parse_error(app);
    configure_log(settings, false);
    return report_failure(settings, error.what());
  }

  LogSettings settings{globals.log_path, globals.log_format};
  configure_log(settings, globals.debug);

  const Command* chosen = nullptr;
  for (const Command& command : commands)
    if (command.app->parsed()) chosen = &command;
  // A command that ends in the user's command line (exec: prefix_command)
  // keeps what follows its own arguments; that is not extra.
  bool takes_command_line = chosen && chosen->app->get_prefix_command();
  std::vector<std::string> extras = app.remaining(!takes_command_line);
  if (!extras.empty())
    return report_failure(settings, describe_extra_argument(extras.front(), chosen != nullptr));
  if (!chosen) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }

  log::debug("command {}: {}", chosen->app->get_name(), join_arguments(argc, argv));
  try {
    CommandResult result = chosen->run();
    if (!result) return report_failure(settings, result.error().message(), chosen->failure_status);
    return result.value();
  } catch (const std::exception& error) {
    return report_failure(settings, fmt::format("{}: {}", chosen->app->get_name(), error.what()),
                          chosen->failure_status);
  }
}

}  // namespace
}  // namespace berth::oci_cli

int main(int argc, char** argv) { return berth::oci_cli::run_main(argc, argv); }
