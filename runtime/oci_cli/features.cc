#include "container/features.h"

#include <cstdio>

#include "oci_cli/commands.h"

namespace berth::oci_cli {

Command register_features(CLI::App& app, const GlobalOptions&) {
  CLI::App* command = app.add_subcommand("features", "show the enabled features");
  return {command, []() -> CommandResult {
            // Four-space indent and a final newline, as runc prints it.
            std::printf("%s\n", container::features_document().dump(4).c_str());
            return 0;
          }};
}

}  // namespace berth::oci_cli
