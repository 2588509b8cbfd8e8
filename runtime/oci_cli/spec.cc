#include "spec/spec.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "oci_cli/commands.h"
#include "core/defer.h"
#include "core/files.h"

namespace berth::oci_cli {
namespace {

struct SpecFlags {
  std::string bundle;
  bool rootless = false;
};

}  // namespace

Command register_spec(CLI::App& app, const GlobalOptions&) {
  CLI::App* command = app.add_subcommand("spec", "create a new specification file");
  auto flags = std::make_shared<SpecFlags>();
  command->add_option("-b,--bundle", flags->bundle, "path to the root of the bundle directory");
  command->add_flag("--rootless", flags->rootless,
                    "generate a configuration for a rootless container");
  return {command, [flags]() -> CommandResult {
            std::string path =
                flags->bundle.empty() ? "config.json" : flags->bundle + "/config.json";
            // O_EXCL: never overwrite a config the user may have edited, even
            // when two spec commands race. 0666 less the umask, as runc.
            auto file = open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
            if (!file && file.error().errno_value() == EEXIST)
              return make_error("File config.json exists. Remove it first");
            if (!file) return unexpected(std::move(file.error()));
            Defer remove_partial([&path] { ::unlink(path.c_str()); });
            // runc indents with tabs and ends without a newline.
            std::string text = spec::default_spec_json(flags->rootless).dump(1, '\t');
            TRY_CTX(write_all(file->get(), text.data(), text.size()), "write {}", path);
            remove_partial.release();
            return 0;
          }};
}

}  // namespace berth::oci_cli
