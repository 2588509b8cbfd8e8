#include <memory>

#include "launcher/cli/commands.h"

namespace berth::launcher_cli {

Command register_tag(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
  auto names = std::make_shared<std::pair<std::string, std::string>>();
  command->add_option("source", names->first, "SOURCE_IMAGE[:TAG] or image id")->required();
  command->add_option("target", names->second, "TARGET_IMAGE[:TAG]")->required();
  return {command, [&globals, names]() -> CommandResult {
            auto store = TRY_VALUE(image::Store::open(globals.root));
            auto lock = TRY_VALUE(store.lock());
            TRY(store.tag_image(names->first, names->second));
            return 0;
          }};
}

}  // namespace berth::launcher_cli
