#include <memory>

#include "launcher/cli/commands.h"
#include "launcher/container_network.h"
#include "launcher/manage.h"
#include "launcher/records.h"

namespace berth::launcher_cli {

// `berth system prune`: what Docker's removes that berth has (stopped
// containers), and the network state that containers which ended without
// being finished left behind (their leases, DNAT elements and veths).
// Images stay: berth has no dangling images or build cache.
Command register_system(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* system = app.add_subcommand("system", "Manage berth");
  system->require_subcommand(1, 1);
  CLI::App* prune = system->add_subcommand(
      "prune", "Remove stopped containers and the network state of ended ones");
  auto force = std::make_shared<bool>(false);
  prune->add_flag("-f,--force", *force, "Do not prompt for confirmation (berth never prompts)");
  return {system, [&globals, prune, force]() -> CommandResult {
            if (!prune->parsed()) return make_error("berth system: expected prune");
            auto records = TRY_VALUE(launcher::ContainerRecords::open(globals.root));
            std::vector<std::string> removed;
            for (const launcher::ContainerRecord& record : TRY_VALUE(records.list())) {
              if (records.status(record) != launcher::RecordStatus::Exited) continue;
              TRY(launcher::remove_container(records, record.id, false));
              removed.push_back(record.id);
            }
            auto reaped = TRY_VALUE(launcher::reap_network(globals.bridge, globals.subnet));
            if (!removed.empty()) fmt::print("Deleted Containers:\n");
            for (const std::string& id : removed) fmt::print("{}\n", id);
            if (!reaped.empty()) fmt::print("Released network leases of ended containers:\n");
            for (const std::string& id : reaped) fmt::print("{}\n", id);
            fmt::print("Total: {} containers, {} network leases\n", removed.size(), reaped.size());
            return 0;
          }};
}

}  // namespace berth::launcher_cli
