#include "container/features.h"

#include <cstdio>

#include "cli/commands.h"

namespace berth::cli {

Command register_features(CLI::App& app, const GlobalOptions&) {
  CLI::App* command = app.add_subcommand("features", "show the enabled features");
  return {command, []() -> CommandResult {
            // Four-space indent and a final newline, as runc prints it.
            std::printf("%s\n", container::features_document().dump(4).c_str());
            return 0;
          }};
}

}  // namespace berth::cli
