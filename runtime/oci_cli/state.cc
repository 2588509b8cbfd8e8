#include <cstdio>
#include <memory>

#include "oci_cli/commands.h"

namespace berth::oci_cli {

Command register_state(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("state", "output the state of a container");
  auto id = std::make_shared<std::string>();
  command->add_option("container-id", *id, "the name of the container")->required();
  return {command, [&globals, id]() -> CommandResult {
            auto state = TRY_VALUE(container::container_state(globals.root, *id));
            // runc prints the indented document with no trailing newline.
            std::string text =
                state.to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
            std::fputs(text.c_str(), stdout);
            return 0;
          }};
}

}  // namespace berth::oci_cli
