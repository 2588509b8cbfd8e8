#include <unistd.h>

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
  registry::PullOptions options{.platform = platform};
  auto result = TRY_VALUE(registry::pull_image(store, registries, stored_credentials(), reference, options, progress));
  if (!quiet) {
    fmt::print(out, "Digest: {}\n", result.manifest_digest);
    fmt::print(out, "Status: {} for {}\n", result.downloaded ? "Downloaded newer image" : "Image is up to date",
               reference.familiar_string());
  }
  return result;
}

Command register_pull(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("pull", "Download an image from a registry");
  auto flags = std::make_shared<PullFlags>();
  command->add_flag("-q,--quiet", flags->quiet, "Suppress verbose output");
  command->add_option("--platform", flags->platform, "Set platform if server is multi-platform capable");
  command->add_option("name", flags->name, "NAME[:TAG|@DIGEST]")->required();
  return {command, [&globals, flags]() -> CommandResult {
            auto result = pull(globals, flags->name, flags->platform, flags->quiet, stdout);
            if (!result) {
              // Docker's pull fails with status 1, not the 125 of berth's own errors.
              std::fflush(stdout);
              fmt::print(stderr, "berth: {}\n", result.error().message());
              return 1;
            }
            auto reference = image::parse_reference(flags->name);
            fmt::print("{}\n", reference ? reference->string() : flags->name);
            return 0;
          }};
}

}  // namespace berth::launcher_cli
