// events [--interval DURATION] [--stats] <container-id>: JSON events on
// stdout, one per line, flushed as they come (a reader follows the stream).
#include "container/events.h"

#include <cstdio>
#include <memory>

#include "oci_cli/commands.h"
#include "core/duration.h"

namespace berth::oci_cli {
namespace {

struct EventsFlags {
  std::string id;
  std::string interval = "5s";
  bool stats = false;
};

void print_event(const nlohmann::ordered_json& event) {
  std::printf("%s\n", event.dump().c_str());
  std::fflush(stdout);
}

}  // namespace

Command register_events(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand(
      "events",
      "display container events such as OOM notifications, cpu, memory, and IO usage statistics");
  auto flags = std::make_shared<EventsFlags>();
  command->add_option("--interval", flags->interval, "set the stats collection interval")
      ->capture_default_str();
  command->add_flag("--stats", flags->stats, "display the container's stats then exit");
  command->add_option("container-id", flags->id, "the name of the container")->required();
  return {command, [&globals, flags]() -> CommandResult {
            auto interval = parse_go_duration(flags->interval);
            if (!interval)
              return interval.error().add_context(
                  fmt::format("invalid value \"{}\" for flag -interval", flags->interval));
            // Checked before --stats too, as runc does.
            if (interval.value() <= std::chrono::nanoseconds(0))
              return make_error("duration interval must be greater than 0");
            if (flags->stats) {
              auto stats = TRY_VALUE(container::container_stats(globals.root, flags->id));
              print_event(container::stats_event(flags->id, stats));
              return 0;
            }
            TRY(container::watch_container_events(globals.root, flags->id, interval.value(),
                                                  print_event));
            return 0;
          }};
}

}  // namespace berth::oci_cli
