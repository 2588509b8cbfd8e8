// The lifecycle part of cgroup v2 (the resource manager is issue #4): find
// the v2 hierarchy, create the container's cgroup from linux.cgroupsPath,
// hand clone3 an fd of it (CLONE_INTO_CGROUP places init there before it
// runs any code), and remove it on delete.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"

namespace berth::linux {

// The cgroup2 mount point, read from /proc/self/mountinfo (never assumed:
// on hybrid hosts it is /sys/fs/cgroup/unified). "" when there is none.
Result<std::string> find_cgroup2_mount();

// The host directory for cgroupsPath, as runc's fs2 driver maps it: an
// absolute path is taken below the hierarchy's root; a relative one below
// the parent of the runtime's own cgroup; an empty one is the id, relative.
Result<std::string> cgroup_directory(const std::string& mount, const std::string& cgroups_path,
                                     const std::string& id);

// mkdir -p the cgroup; returns an O_DIRECTORY fd for CLONE_INTO_CGROUP.
// created_dirs lists what this call made, for removal on failure.
Result<UniqueFd> create_cgroup(const std::string& directory, std::vector<std::string>& created);

// Kill every process left in the cgroup and remove it. A missing cgroup is
// fine. Parent directories are left: other containers may share them.
Status remove_cgroup(const std::string& directory);

// SIGKILL every process in the cgroup and its descendants: atomically with
// cgroup.kill (Linux 5.14; no process can fork its way out), else one by
// one from cgroup.procs.
Status kill_cgroup(const std::string& directory);

// Pids in cgroup.procs.
Result<std::vector<pid_t>> cgroup_pids(const std::string& directory);

}  // namespace berth::linux
