// ps [--format table|json] <container-id> [ps options...]: as runc's, every
// argument after the id goes to the host's ps, flags included.
#include "container/ps.h"

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "oci_cli/commands.h"

namespace berth::oci_cli {
namespace {

struct PsFlags {
  std::string format = "table";
  std::string id;
  std::vector<std::string> ps_args;
};

}  // namespace

Command register_ps(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command =
      app.add_subcommand("ps", "ps displays the processes running inside a container");
  auto flags = std::make_shared<PsFlags>();
  command->add_option("-f,--format", flags->format, "select one of: table or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "json"}));
  command->add_option("container-id", flags->id, "the name of the container")->required();
  command->add_option("ps-options", flags->ps_args, "options for ps (default: -ef)");
  // From the first positional on, nothing is parsed as our flag: "ps ID -f"
  // runs `ps -f`.
  command->positionals_at_end();
  return {command, [&globals, flags]() -> CommandResult {
            auto pids = TRY_VALUE(container::container_pids(globals.root, flags->id));
            if (flags->format == "json") {
              // Go's encoding of a nil slice: an empty list is null.
              nlohmann::json list = nullptr;
              for (pid_t pid : pids) list.push_back(pid);
              std::printf("%s\n", list.dump().c_str());
              return 0;
            }
            std::string table = TRY_VALUE(container::ps_table(pids, flags->ps_args));
            std::fputs(table.c_str(), stdout);
            return 0;
          }};
}

}  // namespace berth::oci_cli
