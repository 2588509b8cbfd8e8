// pause and resume: every process of a container stopped and restarted at
// once through its cgroup's v2 freezer (linux/cgroup_freezer.h). `state`
// reports "paused" while cgroup.freeze is 1 (container/state.cc).
#pragma once

#include <string>

#include "core/error.h"

namespace berth::container {

// Only a running container; anything else fails with runc's "container not
// running". Unlike runc 1.1, a created container is refused too: its init,
// frozen while it waits on exec.fifo, would make `start` wait forever.
Status pause_container(const std::string& state_root, const std::string& id);

// Only a paused container ("container not paused" otherwise); it is running
// again when this returns.
Status resume_container(const std::string& state_root, const std::string& id);

}  // namespace berth::container
