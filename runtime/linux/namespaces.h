// Namespaces from linux.namespaces: which are created by clone3, which are
// joined by path, and the uid/gid mappings of a new user namespace.
//
// Who does what, and why:
//  - new namespaces are created by the clone3 flags of the container's init,
//    in one step, so they all belong to the new user namespace if any;
//  - joined namespaces are setns()ed by the child, user namespace first
//    (setns into the others needs capabilities in their owning user ns);
//  - a joined pid namespace is entered by the parent before clone3 and left
//    right after: setns(CLONE_NEWPID) only changes the pid namespace of
//    future children (pid_namespaces(7));
//  - a new time namespace is unshared by the parent, given its offsets in
//    /proc/self/timens_offsets (only possible before any process is in it,
//    time_namespaces(7)) and left the same way after clone3;
//  - exec joins the namespaces of the container's init: the same split, its
//    pid and time namespaces by the parent around clone3 (both apply to
//    children only), the others by the child.
#pragma once

#include <sys/types.h>

#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"
#include "spec/spec.h"

namespace berth::linux {

struct JoinedNamespace {
  spec::NamespaceType type;
  UniqueFd fd;
};

struct NamespacePlan {
  int clone_flags = 0;    // CLONE_NEW* for clone3
  int unshare_flags = 0;  // CLONE_NEW* the child unshares after joining a user ns
  std::vector<JoinedNamespace> joined_by_child;  // user first
  UniqueFd joined_pid;                           // entered by the parent around clone3
  UniqueFd joined_time;                          // likewise (exec only)
  bool new_user = false;
  bool new_time = false;
  bool has(spec::NamespaceType type) const;  // created or joined
  std::vector<spec::NamespaceType> present;
};

// Opens every namespace path (so a bad path fails before clone, naming it).
Result<NamespacePlan> plan_namespaces(const spec::Linux& linux);

// For exec: join those of types that the running process pid (the
// container's init) does not share with the caller. Their fds are opened
// here, so that the caller can then check that pid was not reused meanwhile.
Result<NamespacePlan> plan_joining_process(pid_t pid,
                                           const std::vector<spec::NamespaceType>& types);

// In the child: setns() each joined namespace, then unshare what is left.
Status enter_namespaces(NamespacePlan& plan);

// In the parent, for a new user namespace: write /proc/PID/{uid,gid}_map.
Status write_id_mappings(pid_t pid, const spec::Linux& linux);

// Around clone3 in the parent: enter a joined pid (or time) namespace /
// create the new time namespace with its offsets; the guard restores the
// parent's own.
class ParentNamespaceSwitch {
 public:
  static Result<ParentNamespaceSwitch> enter(const NamespacePlan& plan, const spec::Linux& linux);
  ParentNamespaceSwitch(ParentNamespaceSwitch&&) = default;
  ~ParentNamespaceSwitch();
  Status restore();

 private:
  ParentNamespaceSwitch() = default;
  UniqueFd original_pid_;
  UniqueFd original_time_;
};

}  // namespace berth::linux
