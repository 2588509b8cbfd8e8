// ps: the container's processes, as runc's `ps` lists them: the host pids
// in its cgroup subtree, as JSON or as the host's own `ps` table cut down
// to those pids.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace berth::container {

// Host pids of every process in the container's cgroup and the cgroups below
// it (runc's Processes). Empty once the container has stopped.
Result<std::vector<pid_t>> container_pids(const std::string& state_root, const std::string& id);

// runc's table: the host's `ps` run with ps_args (none: "-ef"), its header
// line and the lines whose PID column is one of pids.
Result<std::string> ps_table(const std::vector<pid_t>& pids, std::vector<std::string> ps_args);

// The selection step of ps_table, on ps's output: fails as runc does when
// the header has no PID column ("couldn't find PID field in ps output").
Result<std::string> select_ps_lines(const std::string& ps_output, const std::vector<pid_t>& pids);

}  // namespace berth::container
