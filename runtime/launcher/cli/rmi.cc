#include <memory>

#include "launcher/cli/commands.h"
#include "launcher/records.h"

namespace berth::launcher_cli {

Command register_rmi(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("rmi", "Remove one or more images");
  auto references = std::make_shared<std::vector<std::string>>();
  command->add_option("image", *references, "NAME[:TAG] or image id")->required();
  return {command, [&globals, references]() -> CommandResult {
            auto store = TRY_VALUE(image::Store::open(globals.root));
            auto records = TRY_VALUE(launcher::ContainerRecords::open(globals.root));
            auto lock = TRY_VALUE(store.lock());
            // Every container, running or not, holds its image (as Docker's
            // rmi without -f): its upper layer needs the layers below.
            std::vector<std::string> in_use;
            for (const launcher::ContainerRecord& record : TRY_VALUE(records.list()))
              in_use.push_back(record.image_id);
            for (const std::string& reference : *references)
              for (const std::string& line : TRY_VALUE(store.remove_image(reference, in_use)))
                fmt::print("{}\n", line);
            return 0;
          }};
}

}  // namespace berth::launcher_cli
