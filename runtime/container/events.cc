#include "container/events.h"

#include <optional>

#include "container/state.h"
#include "core/log.h"
#include "linux/cgroup_events.h"

namespace berth::container {
namespace {

// The cgroup of a container that has not stopped. The directory (and its
// lock) is released on return: what follows only reads the cgroup.
Result<std::string> live_container_cgroup(const std::string& state_root, const std::string& id) {
  auto dir = TRY_VALUE(ContainerDirectory::open(state_root, id));
  auto stored = TRY_VALUE(dir.load());
  if (current_status(stored, dir) == ContainerStatus::Stopped)
    return Error(fmt::format("container with id {} is not running", id), ESRCH);
  if (stored.cgroup_dir.empty())
    return make_error(
        "container \"{}\" has no cgroup to read events from: the host had no cgroup2 hierarchy "
        "when it was created",
        id);
  return stored.cgroup_dir;
}

uint64_t value_of(const std::map<std::string, uint64_t>& values, const char* key) {
  auto it = values.find(key);
  return it == values.end() ? 0 : it->second;
}

// An interval beyond a century never fires anyway; the bound keeps the
// deadline arithmetic from overflowing.
std::chrono::nanoseconds bounded(std::chrono::nanoseconds interval) {
  return std::min<std::chrono::nanoseconds>(interval, std::chrono::hours(24 * 365 * 100));
}

}  // namespace

Result<linux::CgroupStats> container_stats(const std::string& state_root, const std::string& id) {
  std::string cgroup = TRY_VALUE(live_container_cgroup(state_root, id));
  return linux::read_cgroup_stats(cgroup);
}

nlohmann::ordered_json stats_event(const std::string& id, const linux::CgroupStats& stats) {
  return {{"type", "stats"}, {"id", id}, {"data", linux::stats_to_json(stats)}};
}

nlohmann::ordered_json oom_event(const std::string& id) { return {{"type", "oom"}, {"id", id}}; }

Status watch_container_events(const std::string& state_root, const std::string& id,
                              std::chrono::nanoseconds interval, const EventSink& emit) {
  std::string cgroup = TRY_VALUE(live_container_cgroup(state_root, id));
  return watch_cgroup_events(cgroup, id, interval, emit);
}

Status watch_cgroup_events(const std::string& cgroup, const std::string& id,
                           std::chrono::nanoseconds interval, const EventSink& emit) {
  if (interval <= std::chrono::nanoseconds(0))
    return make_error("duration interval must be greater than 0");
  interval = bounded(interval);
  auto populated = TRY_VALUE(linux::CgroupEventFile::open(cgroup + "/cgroup.events"));
  std::vector<const linux::CgroupEventFile*> watched = {&populated};
  // memory.events exists only with the memory controller: without it there
  // are no OOM kills to report, only the end of the container to wait for.
  std::optional<linux::CgroupEventFile> memory_events;
  uint64_t oom_kills = 0;
  if (auto file = linux::CgroupEventFile::open(cgroup + "/memory.events")) {
    oom_kills = value_of(TRY_VALUE(file->read()), "oom_kill");
    memory_events = std::move(file.value());
    watched.push_back(&*memory_events);
  } else if (file.error().errno_value() != ENOENT) {
    return file.error();
  }

  auto next_stats = std::chrono::steady_clock::now() + interval;
  for (;;) {
    // OOM kills before the end: the kill of the last process makes both
    // files change at once, and that kill must still be reported.
    if (memory_events) {
      if (auto values = memory_events->read()) {
        uint64_t kills = value_of(values.value(), "oom_kill");
        if (kills > oom_kills) emit(oom_event(id));
        oom_kills = kills;
      }
    }
    auto state = populated.read();
    // ENODEV: the cgroup was removed (deleted) while we waited.
    if (!state && state.error().errno_value() != ENODEV) return state.error();
    if (!state || value_of(state.value(), "populated") == 0) return ok();

    auto now = std::chrono::steady_clock::now();
    if (now >= next_stats) {
      if (auto stats = linux::read_cgroup_stats(cgroup))
        emit(stats_event(id, stats.value()));
      else
        log::write(log::Level::Error, stats.error().message());
      next_stats += interval;
      // After a stall (a stopped terminal, a suspended host), no burst of
      // catch-up events: the next one an interval from now.
      if (next_stats <= now) next_stats = now + interval;
    }
    TRY(linux::wait_for_change(watched, next_stats - std::chrono::steady_clock::now()));
  }
}

}  // namespace berth::container
