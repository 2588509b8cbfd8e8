#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>

#include "launcher/cli/commands.h"
#include "launcher/pull_progress.h"
#include "rootfs/reference.h"
#include "rootfs/registry/credentials.h"
#include "rootfs/registry/pull.h"

namespace berth::launcher_cli {
namespace {

struct PullFlags {
  std::string name;
  std::string platform;
  bool quiet = false;
};

// True when the user named neither a tag nor a digest ("python", not
// "python:3" or "127.0.0.1:5000/x"): Docker says it uses "latest".
bool uses_default_tag(const std::string& name) {
  std::string last = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
  return last.find(':') == std::string::npos && name.find('@') == std::string::npos;
}

// Ctrl-C during a pull. Dying at once would leave the layer being
// extracted as a temp dir in the store (removed only by the next command
// that locks it); instead the first SIGINT or SIGTERM sets this flag, the
// layer readers fail at their next block, and the store removes what it
// had of them. A second signal kills as usual, for a pull stuck waiting on
// the network.
std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void on_interrupt(int signal) {
  if (interrupted.exchange(true)) {
    // The signal is blocked while its handler runs: it is delivered, with
    // its default action, once this returns.
    ::signal(signal, SIG_DFL);
    ::raise(signal);
  }
}

// The handler while a pull runs (`berth run` pulls too); the previous
// dispositions come back after.
class InterruptHandler {
 public:
  InterruptHandler() {
    interrupted = false;
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, &old_int_);
    ::sigaction(SIGTERM, &action, &old_term_);
  }
  ~InterruptHandler() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  InterruptHandler(const InterruptHandler&) = delete;
  InterruptHandler& operator=(const InterruptHandler&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace

registry::CredentialsFor stored_credentials() {
  return [](const std::string& registry) -> Result<std::optional<registry::Credentials>> {
    return registry::CredentialStore(registry::docker_config_file()).get(registry);
  };
}

Result<registry::PullResult> pull(const GlobalOptions& globals, const std::string& name,
                                  const std::string& platform, bool quiet, std::FILE* out) {
  image::Reference reference = TRY_VALUE(image::parse_reference(name));
  if (!quiet && uses_default_tag(name)) fmt::print(out, "Using default tag: {}\n", reference.tag);
  auto store = TRY_VALUE(image::Store::open(globals.root));
  auto registries = TRY_VALUE(registry::RegistriesConfig::load(registry::registries_config_path(globals.registries_config)));
  launcher::PullProgress progress(out, ::isatty(::fileno(out)) == 1, quiet);
  InterruptHandler interrupt_handler;
  registry::PullOptions options{.platform = platform, .interrupted = &interrupted};
  auto pulled = registry::pull_image(store, registries, stored_credentials(), reference, options, progress);
  if (!pulled && interrupted) return Error("pull interrupted; the layers it finished are kept", EINTR);
  auto result = TRY_VALUE(std::move(pulled));
  if (!quiet) {
    fmt::print(out, "Digest: {}\n", result.manifest_digest);
    fmt::print(out, "Status: {} for {}\n", result.downloaded ? "Downloaded newer image" : "Image is up to date",
               reference.familiar_string());
  }
  return result;
}

int registry_failure(const Error& error) {
  std::fflush(stdout);
  fmt::print(stderr, "berth: {}\n", error.message());
  return error.errno_value() == EINTR ? 130 : 1;
}

Command register_pull(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("pull", "Download an image from a registry");
  auto flags = std::make_shared<PullFlags>();
  command->add_flag("-q,--quiet", flags->quiet, "Suppress verbose output");
  command->add_option("--platform", flags->platform, "Set platform if server is multi-platform capable");
  command->add_option("name", flags->name, "NAME[:TAG|@DIGEST]")->required();
  return {command, [&globals, flags]() -> CommandResult {
            auto result = pull(globals, flags->name, flags->platform, flags->quiet, stdout);
            if (!result) return registry_failure(result.error());
            auto reference = image::parse_reference(flags->name);
            fmt::print("{}\n", reference ? reference->string() : flags->name);
            return 0;
          }};
}

}  // namespace berth::launcher_cli
