#include "launcher/cli/commands.h"

namespace berth::launcher_cli {

Command register_images(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("images", "List images");
  auto quiet = std::make_shared<bool>(false);
  auto no_trunc = std::make_shared<bool>(false);
  command->add_flag("-q,--quiet", *quiet, "Only show image IDs");
  command->add_flag("--no-trunc", *no_trunc, "Don't truncate output");
  return {command, [&globals, quiet, no_trunc]() -> CommandResult {
            auto store = TRY_VALUE(image::Store::open(globals.root));
            auto images = TRY_VALUE(store.list_images());
            if (!*quiet)
              fmt::print("{:<30} {:<15} {:<14} {:<16} {}\n", "REPOSITORY", "TAG", "IMAGE ID",
                         "CREATED", "SIZE");
            for (const image::Image& image : images) {
              std::string short_id = *no_trunc ? image.id : image.id.substr(7, 12);
              if (*quiet) {
                fmt::print("{}\n", short_id);
                continue;
              }
              std::vector<std::string> tags = image.tags;
              if (tags.empty()) tags.push_back("<none>:<none>");
              std::string created = human_since(image.config.value("created", image.imported));
              for (const std::string& tag : tags) {
                size_t colon = tag.rfind(':');
                fmt::print("{:<30} {:<15} {:<14} {:<16} {}\n", tag.substr(0, colon),
                           tag.substr(colon + 1), short_id, created, human_size(image.size));
              }
            }
            return 0;
          }};
}

}  // namespace berth::launcher_cli
