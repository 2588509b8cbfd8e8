#include "rootfs/import.h"

#include <memory>

#include "launcher/cli/commands.h"

namespace berth::launcher_cli {

Command register_import(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand(
      "import",
      "Import images from a docker save archive, an OCI image layout (directory or archive), or "
      "with --rootfs a root filesystem tarball");
  auto options = std::make_shared<image::ImportOptions>();
  command->add_flag("--rootfs", options->rootfs,
                    "PATH is a root filesystem tarball (like docker import); NAME:TAG required");
  command->add_option("path", options->path, "archive or OCI layout directory")->required();
  command->add_option("reference", options->reference, "NAME[:TAG] for the image");
  return {command, [&globals, options]() -> CommandResult {
            auto store = TRY_VALUE(image::Store::open(globals.root));
            auto result = TRY_VALUE(image::import_images(store, *options));
            for (const image::Image& image : result.images)
              for (const std::string& tag : image.tags)
                fmt::print("Loaded image: {} ({})\n", tag, image.id.substr(7, 12));
            fmt::print(stderr, "{} new layers, {} extracted\n", result.layers_extracted,
                       human_size(result.bytes_extracted));
            return 0;
          }};
}

}  // namespace berth::launcher_cli
