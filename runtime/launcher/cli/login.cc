#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "core/defer.h"
#include "launcher/cli/commands.h"
#include "rootfs/registry/credentials.h"
#include "rootfs/registry/login.h"

namespace berth::launcher_cli {
namespace {

struct LoginFlags {
  std::string username;
  std::string password;
  bool password_stdin = false;
  std::string server;
};

// A line from the terminal, without echo when secret (Docker's prompt).
Result<std::string> prompt(const std::string& question, bool secret) {
  if (::isatty(STDIN_FILENO) != 1) {
    return make_error("cannot perform an interactive login from a non TTY device");
  }
  fmt::print("{}", question);
  std::fflush(stdout);
  termios saved;
  bool hide = secret && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (hide) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    if (::tcsetattr(STDIN_FILENO, TCSANOW, &quiet) < 0) return sys_error("turn off echo on the terminal");
  }
  Defer restore([&] {
    if (hide) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  });
  std::string line;
  std::getline(std::cin, line);
  if (secret) fmt::print("\n");
  return line;
}

Result<registry::Credentials> credentials_from(const LoginFlags& flags) {
  registry::Credentials credentials{.username = flags.username, .password = flags.password};
  if (flags.password_stdin) {
    if (!flags.password.empty()) return make_error("--password and --password-stdin are mutually exclusive");
    if (flags.username.empty()) return make_error("must provide --username with --password-stdin");
    std::getline(std::cin, credentials.password);
    if (!credentials.password.empty() && credentials.password.back() == '\r') credentials.password.pop_back();
  }
  if (credentials.username.empty()) credentials.username = TRY_VALUE(prompt("Username: ", false));
  if (credentials.username.empty()) return make_error("username is required");
  if (credentials.password.empty()) credentials.password = TRY_VALUE(prompt("Password: ", true));
  if (credentials.password.empty()) return make_error("password is required");
  return credentials;
}

Status log_in(const GlobalOptions& globals, const LoginFlags& flags) {
  if (!flags.password.empty()) {
    fmt::print(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  }
  registry::Credentials credentials = TRY_VALUE(credentials_from(flags));
  std::string registry = registry::login_registry(flags.server);
  auto registries = TRY_VALUE(registry::RegistriesConfig::load(registry::registries_config_path(globals.registries_config)));
  TRY(registry::check_login(registries, registry, credentials));
  registry::CredentialStore store(registry::docker_config_file());
  TRY(store.store(registry, credentials));
  fmt::print(stderr, "WARNING! Your password will be stored unencrypted in {}.\n", store.config_file());
  fmt::print("Login Succeeded\n");
  return ok();
}

CommandResult status_one(const Status& status) { return status ? 0 : registry_failure(status.error()); }

}  // namespace

Command register_login(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("login", "Log in to a registry (Docker Hub if no server is given)");
  auto flags = std::make_shared<LoginFlags>();
  command->add_option("-u,--username", flags->username, "Username");
  command->add_option("-p,--password", flags->password, "Password");
  command->add_flag("--password-stdin", flags->password_stdin, "Take the password from stdin");
  command->add_option("server", flags->server, "SERVER");
  return {command, [&globals, flags]() -> CommandResult { return status_one(log_in(globals, *flags)); }};
}

Command register_logout(CLI::App& app, const GlobalOptions&) {
  CLI::App* command = app.add_subcommand("logout", "Log out from a registry (Docker Hub if no server is given)");
  auto server = std::make_shared<std::string>();
  command->add_option("server", *server, "SERVER");
  return {command, [server]() -> CommandResult {
            std::string registry = registry::login_registry(*server);
            registry::CredentialStore store(registry::docker_config_file());
            auto current = store.get(registry);
            if (!current) return status_one(std::move(current.error()));
            if (!*current) {
              fmt::print("Not logged in to {}\n", registry);
              return 0;
            }
            fmt::print("Removing login credentials for {}\n", registry);
            return status_one(store.erase(registry));
          }};
}

}  // namespace berth::launcher_cli
