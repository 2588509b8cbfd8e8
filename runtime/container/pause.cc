// Both verbs hold the container's lock while they freeze or thaw, so no
// other command on the id sees the cgroup half frozen.
#include "container/pause.h"

#include "container/state.h"
#include "linux/cgroup_freezer.h"

namespace berth::container {
namespace {

Status require_cgroup(const StoredState& stored) {
  if (stored.cgroup_dir.empty())
    return make_error(
        "container \"{}\" has no cgroup to freeze: the host had no cgroup2 hierarchy when it was "
        "created",
        stored.state.id);
  return ok();
}

}  // namespace

Status pause_container(const std::string& state_root, const std::string& id) {
  auto dir = TRY_VALUE(ContainerDirectory::open(state_root, id));
  auto stored = TRY_VALUE(dir.load());
  ContainerStatus status = current_status(stored, dir);
  if (status == ContainerStatus::Created)
    return Error("container not running: a created container is paused only once started", ESRCH);
  if (status != ContainerStatus::Running) return Error("container not running", ESRCH);
  TRY(require_cgroup(stored));
  TRY_CTX(linux::freeze_cgroup(stored.cgroup_dir), "pause container \"{}\"", id);
  return ok();
}

Status resume_container(const std::string& state_root, const std::string& id) {
  auto dir = TRY_VALUE(ContainerDirectory::open(state_root, id));
  auto stored = TRY_VALUE(dir.load());
  if (current_status(stored, dir) != ContainerStatus::Paused)
    return Error("container not paused", EINVAL);
  TRY(require_cgroup(stored));
  TRY_CTX(linux::thaw_cgroup(stored.cgroup_dir), "resume container \"{}\"", id);
  return ok();
}

}  // namespace berth::container
