#include "linux/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "core/files.h"

namespace berth::linux {

using spec::NamespaceType;

bool NamespacePlan::has(NamespaceType type) const {
  return std::find(present.begin(), present.end(), type) != present.end();
}

Result<NamespacePlan> plan_namespaces(const spec::Linux& linux) {
  NamespacePlan plan;
  const spec::Namespace* user = linux.find_namespace(NamespaceType::User);
  bool join_user = user && !user->path.empty();
  for (size_t i = 0; i < linux.namespaces.size(); ++i) {
    const spec::Namespace& ns = linux.namespaces[i];
    plan.present.push_back(ns.type);
    if (ns.path.empty()) {
      if (ns.type == NamespaceType::Time) {
        plan.new_time = true;
      } else if (join_user) {
        if (ns.type == NamespaceType::Pid)
          return make_error(
              "linux.namespaces[{}]: a new pid namespace inside a joined user namespace is "
              "not supported",
              i);
        plan.unshare_flags |= spec::clone_flag(ns.type);
      } else {
        plan.clone_flags |= spec::clone_flag(ns.type);
      }
      if (ns.type == NamespaceType::User) plan.new_user = true;
      continue;
    }
    auto fd = open_file(ns.path, O_RDONLY);
    if (!fd) return fd.error().add_context(fmt::format("linux.namespaces[{}] ({})", i, ns.path));
    if (ns.type == NamespaceType::Pid) {
      plan.joined_pid = std::move(fd.value());
    } else if (ns.type == NamespaceType::User) {
      plan.joined_by_child.insert(plan.joined_by_child.begin(),
                                  JoinedNamespace{ns.type, std::move(fd.value())});
    } else {
      plan.joined_by_child.push_back(JoinedNamespace{ns.type, std::move(fd.value())});
    }
  }
  // The mount namespace is joined last: the others' fds are already open,
  // but setns into a mount namespace changes what later paths mean.
  std::stable_partition(plan.joined_by_child.begin(), plan.joined_by_child.end(),
                        [](const JoinedNamespace& j) { return j.type != NamespaceType::Mount; });
  return plan;
}

namespace {

// The name of the namespace's file in /proc/<pid>/ns/.
const char* proc_name(NamespaceType type) {
  switch (type) {
    case NamespaceType::Mount:
      return "mnt";
    case NamespaceType::Network:
      return "net";
    default:
      return spec::to_string(type);  // "pid", "uts", "ipc", "user", "cgroup", "time"
  }
}

}  // namespace

Result<NamespacePlan> plan_joining_process(pid_t pid, const std::vector<NamespaceType>& types) {
  NamespacePlan plan;
  for (NamespaceType type : types) {
    if (plan.has(type)) continue;
    std::string path = fmt::format("/proc/{}/ns/{}", pid, proc_name(type));
    std::string own_path = fmt::format("/proc/self/ns/{}", proc_name(type));
    auto fd = TRY_VALUE(open_file(path, O_RDONLY));
    struct stat theirs, ours;
    if (::fstat(fd.get(), &theirs) < 0) return sys_error("stat {}", path);
    if (::stat(own_path.c_str(), &ours) < 0) return sys_error("stat {}", own_path);
    // Shared with us (e.g. the host's): nothing to join. setns into one's
    // own user namespace would even fail (EINVAL).
    if (theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino) continue;
    plan.present.push_back(type);
    if (type == NamespaceType::Pid) {
      plan.joined_pid = std::move(fd);
    } else if (type == NamespaceType::Time) {
      plan.joined_time = std::move(fd);
    } else if (type == NamespaceType::User) {
      // First: setns into the others needs capabilities in their owner.
      plan.joined_by_child.insert(plan.joined_by_child.begin(),
                                  JoinedNamespace{type, std::move(fd)});
    } else {
      plan.joined_by_child.push_back(JoinedNamespace{type, std::move(fd)});
    }
  }
  // Mount last, as plan_namespaces orders it.
  std::stable_partition(plan.joined_by_child.begin(), plan.joined_by_child.end(),
                        [](const JoinedNamespace& j) { return j.type != NamespaceType::Mount; });
  return plan;
}

Status enter_namespaces(NamespacePlan& plan) {
  for (JoinedNamespace& joined : plan.joined_by_child) {
    if (::setns(joined.fd.get(), spec::clone_flag(joined.type)) < 0)
      return sys_error("join {} namespace", spec::to_string(joined.type));
    joined.fd.reset();
  }
  if (plan.unshare_flags && ::unshare(plan.unshare_flags) < 0)
    return sys_error("unshare namespaces (flags {:#x})", plan.unshare_flags);
  return ok();
}

namespace {

std::string format_mappings(const std::vector<spec::IdMapping>& mappings) {
  std::string text;
  for (const spec::IdMapping& m : mappings)
    text += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return text;
}

}  // namespace

Status write_id_mappings(pid_t pid, const spec::Linux& linux) {
  // One write() per file: the kernel accepts the map only once, whole.
  if (!linux.uid_mappings.empty())
    TRY_CTX(write_file(fmt::format("/proc/{}/uid_map", pid), format_mappings(linux.uid_mappings)),
            "write uid mappings");
  if (!linux.gid_mappings.empty())
    TRY_CTX(write_file(fmt::format("/proc/{}/gid_map", pid), format_mappings(linux.gid_mappings)),
            "write gid mappings");
  return ok();
}

Result<ParentNamespaceSwitch> ParentNamespaceSwitch::enter(const NamespacePlan& plan,
                                                           const spec::Linux& linux) {
  ParentNamespaceSwitch guard;
  if (plan.joined_pid) {
    guard.original_pid_ = TRY_VALUE(open_file("/proc/self/ns/pid", O_RDONLY));
    if (::setns(plan.joined_pid.get(), CLONE_NEWPID) < 0) return sys_error("join pid namespace");
  }
  if (plan.joined_time) {
    guard.original_time_ = TRY_VALUE(open_file("/proc/self/ns/time", O_RDONLY));
    if (::setns(plan.joined_time.get(), CLONE_NEWTIME) < 0) return sys_error("join time namespace");
  } else if (plan.new_time) {
    guard.original_time_ = TRY_VALUE(open_file("/proc/self/ns/time", O_RDONLY));
    if (::unshare(CLONE_NEWTIME) < 0) return sys_error("unshare time namespace");
    std::string offsets;
    for (const auto& [clock, offset] : linux.time_offsets)
      offsets += fmt::format("{} {} {}\n", clock, offset.secs, offset.nanosecs);
    if (!offsets.empty())
      TRY_CTX(write_file("/proc/self/timens_offsets", offsets), "set linux.timeOffsets");
  }
  return guard;
}

Status ParentNamespaceSwitch::restore() {
  if (original_pid_ && ::setns(original_pid_.get(), CLONE_NEWPID) < 0)
    return sys_error("return to the runtime's pid namespace");
  original_pid_.reset();
  if (original_time_ && ::setns(original_time_.get(), CLONE_NEWTIME) < 0)
    return sys_error("return to the runtime's time namespace");
  original_time_.reset();
  return ok();
}

ParentNamespaceSwitch::~ParentNamespaceSwitch() { (void)restore(); }

}  // namespace berth::linux
