// The host's cgroup hierarchies as the tests see them, and the removal of
// a cgroup a test left behind.
#pragma once

#include <string>
#include <vector>

namespace berth::test {

// Mount points of every cgroup v1 and v2 hierarchy (runc puts a container
// into the v1 ones on a hybrid host, berth into v2).
std::vector<std::string> cgroup_mounts();
// Where cgroup2 is mounted (/sys/fs/cgroup/unified on a hybrid host, ""
// without one).
const std::string& cgroup2_mount();
// Whether the cgroup v2 directory offers controller (its cgroup.controllers).
bool has_controller(const std::string& cgroup_dir, const std::string& controller);
// rmdir a cgroup and its children, killing what still runs in them.
void remove_cgroup_tree(const std::string& directory);

}  // namespace berth::test
