// berth's commands, one file each, with Docker's flags. Each register_*
// adds its subcommand to the app and returns what to run once parsing
// succeeded; main() runs it and turns an error into the message on stderr
// and Docker's exit status (125 for berth's own errors).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <string>

#include "core/error.h"
#include "rootfs/registry/pull.h"
#include "rootfs/store.h"

namespace berth::launcher_cli {

struct GlobalOptions {
  std::string root = image::kDefaultStoreRoot;
  std::string bridge;  // "" is network::kDefaultBridge
  std::string subnet;  // "" is network::kDefaultSubnet
  std::string registries_config;  // "" is $BERTH_REGISTRIES_CONFIG or /etc/berth/registries.json
};

// The exit status on success; an error becomes status 125 (126/127 when
// the container's command could not be run).
using CommandResult = Result<int>;

struct Command {
  CLI::App* app = nullptr;
  std::function<CommandResult()> run;
};

Command register_run(CLI::App& app, const GlobalOptions& globals);
Command register_import(CLI::App& app, const GlobalOptions& globals);
Command register_images(CLI::App& app, const GlobalOptions& globals);
Command register_rmi(CLI::App& app, const GlobalOptions& globals);
Command register_inspect(CLI::App& app, const GlobalOptions& globals);
Command register_ps(CLI::App& app, const GlobalOptions& globals);
Command register_logs(CLI::App& app, const GlobalOptions& globals);
Command register_exec(CLI::App& app, const GlobalOptions& globals);
Command register_stop(CLI::App& app, const GlobalOptions& globals);
Command register_kill(CLI::App& app, const GlobalOptions& globals);
Command register_rm(CLI::App& app, const GlobalOptions& globals);
Command register_port(CLI::App& app, const GlobalOptions& globals);
Command register_system(CLI::App& app, const GlobalOptions& globals);
Command register_pull(CLI::App& app, const GlobalOptions& globals);
Command register_tag(CLI::App& app, const GlobalOptions& globals);
Command register_push(CLI::App& app, const GlobalOptions& globals);
Command register_login(CLI::App& app, const GlobalOptions& globals);
Command register_logout(CLI::App& app, const GlobalOptions& globals);

// Pulls an image as `berth pull` does, printing Docker's progress and
// status lines on out (none with quiet); run uses it for an image it lacks.
Result<registry::PullResult> pull(const GlobalOptions& globals, const std::string& name,
                                  const std::string& platform, bool quiet, std::FILE* out);
// Docker's pull, push, login and logout fail with status 1, not the 125 of
// berth's own errors (130, as a shell's 128 + SIGINT, for an interrupted
// pull): the message goes to stderr after whatever stdout had.
int registry_failure(const Error& error);
// Credentials from Docker's config.json (and its credential helpers).
registry::CredentialsFor stored_credentials();

// Runs action on each named container, printing each name that succeeded
// and each failure but the last, which is returned (Docker's behaviour for
// stop, kill, rm).
CommandResult for_each_container(const std::vector<std::string>& names,
                                 const std::function<Status(const std::string&)>& action);

// "3 seconds ago", "2 hours ago": Docker's human durations since an RFC3339 time.
std::string human_since(const std::string& rfc3339);
std::string human_duration(long long seconds);
std::string human_size(uint64_t bytes);

}  // namespace berth::launcher_cli
