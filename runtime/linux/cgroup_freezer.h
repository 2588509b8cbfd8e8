// cgroup v2's freezer (Linux 5.2): writing 1 to cgroup.freeze asks the
// kernel to stop every task of the cgroup and its descendants; the request
// is complete only when cgroup.events says "frozen 1", since each task stops
// at its next return to user space. Frozen tasks show as sleeping ('S') in
// /proc, not stopped, and can still be killed.
#pragma once

#include <chrono>
#include <string>

#include "core/error.h"

namespace berth::linux {

// runc's bound: 1000 polls of cgroup.events, 10 ms apart.
constexpr std::chrono::milliseconds kFreezeTimeout{10000};

// Write 1 and wait for "frozen 1". On timeout the cgroup is thawed again, as
// runc does, rather than left half frozen. A cgroup without cgroup.freeze
// fails with "freezer not supported: ...".
Status freeze_cgroup(const std::string& directory,
                     std::chrono::milliseconds timeout = kFreezeTimeout);

// Write 0 and wait for "frozen 0", which only a frozen parent can delay.
Status thaw_cgroup(const std::string& directory,
                   std::chrono::milliseconds timeout = kFreezeTimeout);

}  // namespace berth::linux
