// events: a container's statistics and OOM kills, as runc's `events`
// reports them, one JSON object per event:
//   {"type":"stats","id":"<id>","data":{<runc's types.Stats>}}
//   {"type":"oom","id":"<id>"}
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "linux/cgroup_stats.h"

namespace berth::container {

// The statistics of a created, running or paused container; a stopped one
// fails with runc's "container with id <id> is not running".
Result<linux::CgroupStats> container_stats(const std::string& state_root, const std::string& id);

nlohmann::ordered_json stats_event(const std::string& id, const linux::CgroupStats& stats);
nlohmann::ordered_json oom_event(const std::string& id);

using EventSink = std::function<void(const nlohmann::ordered_json& event)>;

// Streams events until no process is left in the container's cgroup (how
// runc's events ends on cgroup v2): a stats event every interval, the
// first one interval after the start, and an oom event each time
// memory.events' oom_kill has grown. A failed statistics read is logged and
// the stream goes on, as in runc. The container's lock is held only while
// its state is read, so the stream never blocks other commands on the id.
Status watch_container_events(const std::string& state_root, const std::string& id,
                              std::chrono::nanoseconds interval, const EventSink& emit);

// The same stream from a cgroup directory, for a container id already
// checked.
Status watch_cgroup_events(const std::string& cgroup, const std::string& id,
                           std::chrono::nanoseconds interval, const EventSink& emit);

}  // namespace berth::container
