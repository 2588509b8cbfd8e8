#include <memory>

#include "launcher/cli/commands.h"
#include "rootfs/reference.h"
#include "rootfs/registry/push.h"

namespace berth::launcher_cli {
namespace {

struct PushFlags {
  std::string name;
  std::string format;
  bool quiet = false;
};

// Docker's push lines, one per step (no live bars: a push's steps are few).
class PushLines : public registry::PushObserver {
 public:
  explicit PushLines(bool quiet) : quiet_(quiet) {}
  void layer(const std::string& layer, registry::PushStatus status, const std::string& from) override {
    if (quiet_) return;
    std::string id = layer.substr(7, 12);
    switch (status) {
      case registry::PushStatus::kPreparing: fmt::print("{}: Preparing\n", id); break;
      case registry::PushStatus::kPushing: fmt::print("{}: Pushing\n", id); break;
      case registry::PushStatus::kPushed: fmt::print("{}: Pushed\n", id); break;
      case registry::PushStatus::kAlreadyExists: fmt::print("{}: Layer already exists\n", id); break;
      case registry::PushStatus::kMounted: fmt::print("{}: Mounted from {}\n", id, from); break;
    }
    std::fflush(stdout);
  }

 private:
  bool quiet_;
};

Result<registry::PushResult> push(const GlobalOptions& globals, const PushFlags& flags) {
  image::Reference reference = TRY_VALUE(image::parse_reference(flags.name));
  registry::PushOptions options;
  if (flags.format == "oci") {
    options.format = registry::PushFormat::kOci;
  } else if (flags.format == "docker") {
    options.format = registry::PushFormat::kDocker;
  } else if (!flags.format.empty()) {
    return make_error("invalid --format \"{}\": docker or oci", flags.format);
  }
  auto store = TRY_VALUE(image::Store::open(globals.root));
  auto registries = TRY_VALUE(registry::RegistriesConfig::load(registry::registries_config_path(globals.registries_config)));
  if (!flags.quiet) fmt::print("The push refers to repository [{}]\n", reference.name());
  PushLines lines(flags.quiet);
  return registry::push_image(store, registries, stored_credentials(), reference, options, lines);
}

}  // namespace

Command register_push(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("push", "Upload an image to a registry");
  auto flags = std::make_shared<PushFlags>();
  command->add_flag("-q,--quiet", flags->quiet, "Suppress verbose output");
  command->add_option("--format", flags->format, "Manifest format: docker (Docker schema 2, the default) or oci");
  command->add_option("name", flags->name, "NAME[:TAG]")->required();
  return {command, [&globals, flags]() -> CommandResult {
            auto result = push(globals, *flags);
            if (!result) return registry_failure(result.error());
            if (flags->quiet) {
              fmt::print("{}\n", image::parse_reference(flags->name)->string());
            } else {
              fmt::print("{}: digest: {} size: {}\n", result->tag, result->digest, result->size);
            }
            return 0;
          }};
}

}  // namespace berth::launcher_cli
