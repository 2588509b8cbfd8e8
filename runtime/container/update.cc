// `update`: new limits for a live container. The stored resources (what
// create applied, with every update since) are merged with the change and
// written again whole, as runc's update does, so state.json always says
// what the cgroup holds.
#include "container/container.h"
#include "container/state.h"
#include "linux/cgroup.h"
#include "linux/cgroup_limits.h"

namespace berth::container {

Status update_container(const std::string& state_root, const std::string& id,
                        const spec::Resources& changes) {
  auto dir = TRY_VALUE(ContainerDirectory::open(state_root, id));
  auto stored = TRY_VALUE(dir.load());
  if (current_status(stored, dir) == ContainerStatus::Stopped)
    return make_error("cannot update container \"{}\": it is stopped", id);
  if (stored.cgroup_dir.empty())
    return make_error(
        "cannot update container \"{}\": it has no cgroup (this host has no "
        "cgroup v2 hierarchy)",
        id);
  std::string mount = TRY_VALUE(linux::find_cgroup2_mount());
  if (mount.empty() || stored.cgroup_dir.rfind(mount + "/", 0) != 0)
    return make_error(
        "cannot update container \"{}\": its cgroup {} is not under the cgroup v2 "
        "mount",
        id, stored.cgroup_dir);

  spec::Resources merged =
      TRY_VALUE(spec::parse_resources(stored.resources, dir.path() + "/state.json resources"));
  merged.merge(changes);
  auto writes = TRY_VALUE(linux::cgroup_writes(merged, "linux.resources"));
  if (changes.memory && changes.memory->limit)
    TRY(linux::check_memory_usage(stored.cgroup_dir, merged));
  TRY(linux::enable_controllers(mount, stored.cgroup_dir, writes));
  TRY(linux::write_limits(stored.cgroup_dir, writes));
  stored.resources = spec::resources_to_json(merged);
  return dir.save(stored);
}

}  // namespace berth::container
