// berth-runtime's commands, one file each (runc's command line). Each
// register_* adds its subcommand and flags to the app and returns what to
// run once parsing succeeded; main() configures the log, runs the chosen
// command and turns its error into the log entry and exit status.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "container/container.h"
#include "core/error.h"

namespace berth::oci_cli {

// runc's global flags.
struct GlobalOptions {
  std::string root = container::kDefaultStateRoot;
  std::string log_path;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  std::string criu = "criu";
  std::string rootless = "auto";
};

// A command's result: the process exit status on success (run exits with
// the container's), or the error main() reports with status 1.
using CommandResult = Result<int>;

struct Command {
  CLI::App* app = nullptr;
  std::function<CommandResult()> run;
  // The exit status of a failed command: 1, except exec's 255 (as runc's),
  // which keeps its failures apart from the exit statuses of the process.
  int failure_status = 1;
};

Command register_create(CLI::App& app, const GlobalOptions& globals);
Command register_start(CLI::App& app, const GlobalOptions& globals);
Command register_state(CLI::App& app, const GlobalOptions& globals);
Command register_kill(CLI::App& app, const GlobalOptions& globals);
Command register_delete(CLI::App& app, const GlobalOptions& globals);
Command register_run(CLI::App& app, const GlobalOptions& globals);
Command register_list(CLI::App& app, const GlobalOptions& globals);
Command register_spec(CLI::App& app, const GlobalOptions& globals);
Command register_features(CLI::App& app, const GlobalOptions& globals);
Command register_exec(CLI::App& app, const GlobalOptions& globals);
Command register_pause(CLI::App& app, const GlobalOptions& globals);
Command register_resume(CLI::App& app, const GlobalOptions& globals);
Command register_ps(CLI::App& app, const GlobalOptions& globals);
Command register_events(CLI::App& app, const GlobalOptions& globals);
Command register_update(CLI::App& app, const GlobalOptions& globals);
Command register_checkpoint(CLI::App& app, const GlobalOptions& globals);
Command register_restore(CLI::App& app, const GlobalOptions& globals);

// The flags create and run share, and the checks for what berth does not
// support yet (create.cc).
struct CreateFlags {
  container::CreateOptions options;
};
void add_create_flags(CLI::App& command, CreateFlags& flags);
Status check_create_flags(const GlobalOptions& globals, const CreateFlags& flags);

}  // namespace berth::oci_cli
