// The rootfs as a mount point and the spec's mounts on it, made in the
// child inside its new mount namespace while the host's tree is still
// visible (before pivot_root). Semantics follow runc's rootfs_linux.go.
#include "linux/mounts.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/files.h"
#include "linux/mount_internal.h"

namespace berth::linux {

namespace {

// What may be mounted over inside /proc: files lxcfs emulates, and
// ns_last_pid for CRIU. As runc's checkProcMount.
constexpr std::string_view kAllowedProcDestinations[] = {
    "/proc/cpuinfo", "/proc/diskstats",
    "/proc/meminfo", "/proc/stat",
    "/proc/swaps",   "/proc/uptime",
    "/proc/loadavg", "/proc/slabinfo",
    "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
};

bool is_inside(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

Result<std::string> canonical_path(const std::string& path) {
  char resolved[PATH_MAX];
  if (!::realpath(path.c_str(), resolved)) return sys_error("resolve {}", path);
  return std::string(resolved);
}

// pivot_root refuses a new root whose parent mount is shared, and a shared
// parent would also propagate the rootfs bind below back to the host. Only
// possible when rootfsPropagation asked for shared.
Status make_parent_mount_private(const std::string& rootfs) {
  std::string path = TRY_VALUE(canonical_path(rootfs));
  auto entries = TRY_VALUE(read_mountinfo());
  const MountInfoEntry* parent = nullptr;
  for (const MountInfoEntry& entry : entries)
    if (is_inside(path, entry.mount_point) &&
        (!parent || entry.mount_point.size() >= parent->mount_point.size()))
      parent = &entry;
  if (!parent || parent->optional_fields.find("shared:") == std::string::npos) return ok();
  if (::mount(nullptr, parent->mount_point.c_str(), nullptr, MS_PRIVATE, nullptr) < 0)
    return sys_error("make {}, the parent mount of the rootfs, private", parent->mount_point);
  return ok();
}

// One spec mount on its way in: everything its steps need.
struct MountRequest {
  const spec::Mount& mount;
  const MountOptions& options;
  const MountContext& context;
  int rootfs_fd;
  const std::string& rootfs_path;  // canonical, to place resolved fds
};

// The main mount(2) of a spec mount: the caller's context names the mount,
// so the message is errno's text alone.
Status mount_on(const char* source, int target_fd, const char* type, unsigned long flags,
                const std::string& data) {
  if (::mount(source, proc_fd_path(target_fd).c_str(), type, flags,
              data.empty() ? nullptr : data.c_str()) == 0)
    return ok();
  int saved = errno;
  const char* text = strerrordesc_np(saved);
  return Error(text ? text : fmt::format("errno {}", saved), saved);
}

std::string with_mount_label(const std::string& data, const std::string& label) {
  if (label.empty()) return data;
  return data + (data.empty() ? "" : ",") + "context=\"" + label + "\"";
}

// After a mount, the fd of its mount point still names the covered
// directory; later steps need the new mount's root, so the destination is
// resolved again, from a freshly opened rootfs in case the mount covered
// the rootfs itself.
Result<UniqueFd> open_mounted_destination(const MountRequest& r) {
  UniqueFd rootfs = TRY_VALUE(open_file(r.context.rootfs, O_PATH | O_DIRECTORY));
  return open_in_rootfs(rootfs.get(), r.mount.destination, O_PATH);
}

// Where fd lies inside the rootfs ("/proc/cpuinfo"), from the kernel's
// own name for it: the path after the image's symlinks were followed.
Result<std::string> path_inside_rootfs(const MountRequest& r, int fd) {
  char buffer[PATH_MAX];
  ssize_t n = ::readlink(proc_fd_path(fd).c_str(), buffer, sizeof buffer - 1);
  if (n < 0) return sys_error("resolve the destination");
  std::string resolved(buffer, static_cast<size_t>(n));
  if (!is_inside(resolved, r.rootfs_path))
    return make_error("the destination resolves to {}, outside the rootfs {}", resolved,
                      r.rootfs_path);
  std::string inside = r.rootfs_path == "/" ? resolved : resolved.substr(r.rootfs_path.size());
  return inside.empty() ? "/" : inside;
}

// A spec may name a directory that resolves (through the image's symlinks)
// into /proc; mounting over procfs files would hide what the kernel shows
// there, e.g. to defeat AppArmor's /proc/self/attr (CVE-2019-16884).
Status check_proc_destination(const std::string& inside, bool source_is_proc) {
  if (inside == "/proc") {
    if (source_is_proc) return ok();
    return make_error("only a proc filesystem may be mounted on /proc");
  }
  if (!is_inside(inside, "/proc")) return ok();
  for (std::string_view allowed : kAllowedProcDestinations)
    if (inside == allowed) return ok();
  return make_error(
      "the destination {} is inside /proc, where only files like /proc/meminfo "
      "may be mounted over",
      inside);
}

// The destination, resolved and created inside the rootfs, and checked
// against /proc.
Result<UniqueFd> make_destination(const MountRequest& r, bool as_file, bool source_is_proc) {
  auto dest = make_path_in_rootfs(r.rootfs_fd, r.mount.destination, as_file, 0755);
  if (!dest) {
    // procfs refuses to create anything, with a bare ENOENT: say why.
    std::string parent = clean_path(r.mount.destination + "/..");
    auto parent_fd = open_in_rootfs(r.rootfs_fd, parent, O_PATH);
    if (!parent_fd) return dest.error();
    auto inside = path_inside_rootfs(r, parent_fd->get());
    if (inside && is_inside(*inside, "/proc"))
      return make_error("the destination is inside /proc ({}), where nothing can be created",
                        *inside);
    return dest.error();
  }
  std::string inside = TRY_VALUE(path_inside_rootfs(r, dest->get()));
  TRY(check_proc_destination(inside, source_is_proc));
  return dest;
}

Status apply_propagation_and_attributes(const MountRequest& r) {
  const MountOptions& o = r.options;
  if (!o.propagation && !o.recursive_attr_set && !o.recursive_attr_clear) return ok();
  UniqueFd mounted = TRY_VALUE(open_mounted_destination(r));
  if (o.propagation &&
      ::mount(nullptr, proc_fd_path(mounted.get()).c_str(), nullptr, o.propagation, nullptr) < 0)
    return sys_error("set propagation {}", describe_mount_flags(o.propagation));
  if (o.recursive_attr_set || o.recursive_attr_clear) {
    struct mount_attr attr = {};
    attr.attr_set = o.recursive_attr_set;
    attr.attr_clr = o.recursive_attr_clear;
    if (::mount_setattr(mounted.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
      return sys_error("set recursive mount attributes (set {:#x}, clear {:#x})", attr.attr_set,
                       attr.attr_clr);
  }
  return ok();
}

// MS_BIND ignores every other flag: a second MS_BIND|MS_REMOUNT call sets
// them on the new mount (and only on it, not on the source).
Status remount_bind(const MountRequest& r, int source_fd, unsigned long flags) {
  UniqueFd mounted = TRY_VALUE(open_mounted_destination(r));
  std::string target = proc_fd_path(mounted.get());
  unsigned long remount = (flags & ~MS_REC) | MS_BIND | MS_REMOUNT;
  if (::mount(nullptr, target.c_str(), nullptr, remount, nullptr) == 0) return ok();
  int saved = errno;
  // In a user namespace the kernel locks the flags a mount inherited from a
  // more privileged one (MNT_LOCK_*: ro, nosuid, nodev, noexec, atime), and
  // a remount that drops one fails. Retry keeping them, unless the spec
  // explicitly cleared a locked flag or asked for another atime mode: then
  // the mount cannot be what was asked for (runc's rule).
  struct statfs st;
  if (::fstatfs(source_fd, &st) < 0) return sys_error("statfs the bind source");
  unsigned long existing = mount_flags_from_statfs(st);
  unsigned long asked_atime = flags & kAtimeMountFlags;
  bool clears_locked = existing & r.options.cleared_flags & kLockableMountFlags;
  bool atime_conflict = asked_atime && asked_atime != (existing & kAtimeMountFlags);
  if (!clears_locked && !atime_conflict) {
    remount |= existing & kLockableMountFlags;
    if (::mount(nullptr, target.c_str(), nullptr, remount, nullptr) == 0) return ok();
    saved = errno;
  }
  return Error::from_errno_value(fmt::format("remount {}", describe_mount_flags(remount)), saved);
}

Status mount_bind(const MountRequest& r, const std::string& source, unsigned long flags) {
  // A relative source is relative to the bundle, the runtime's cwd.
  auto source_fd = open_file(source, O_PATH);
  if (!source_fd)
    return Error::from_errno_value(fmt::format("bind source {}", source),
                                   source_fd.error().errno_value());
  struct stat st;
  if (::fstat(source_fd->get(), &st) < 0) return sys_error("stat bind source {}", source);
  struct statfs sfs;
  if (::fstatfs(source_fd->get(), &sfs) < 0) return sys_error("statfs bind source {}", source);
  UniqueFd dest =
      TRY_VALUE(make_destination(r, !S_ISDIR(st.st_mode), sfs.f_type == PROC_SUPER_MAGIC));
  TRY(mount_on(proc_fd_path(source_fd->get()).c_str(), dest.get(), nullptr,
               MS_BIND | (flags & MS_REC), ""));
  if ((flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) || r.options.cleared_flags)
    TRY(remount_bind(r, source_fd->get(), flags));
  return apply_propagation_and_attributes(r);
}

// proc and sysfs: a symlink or a file at the destination has been a way to
// redirect these mounts (runc's CVE-2019-19921 family); only a plain
// directory, or nothing, is accepted.
Status mount_kernel_fs(const MountRequest& r) {
  auto existing = open_in_rootfs(r.rootfs_fd, r.mount.destination, O_PATH | O_NOFOLLOW);
  if (existing) {
    struct stat st;
    if (::fstat(existing->get(), &st) < 0) return sys_error("stat the destination");
    if (!S_ISDIR(st.st_mode))
      return make_error("{} must be mounted on a directory, not a symlink or file", r.mount.type);
  }
  // proc itself belongs at /proc: only the other types are checked.
  auto dest = r.mount.type == "proc" ? make_path_in_rootfs(r.rootfs_fd, r.mount.destination, false)
                                     : make_destination(r, false, false);
  if (!dest) return dest.error();
  // No SELinux context=: procfs and sysfs cannot be labelled.
  TRY(mount_on(r.mount.source.c_str(), dest->get(), r.mount.type.c_str(), r.options.flags,
               r.options.data));
  return apply_propagation_and_attributes(r);
}

Status mount_tmpfs(const MountRequest& r) {
  std::string data = r.options.data;
  auto existing = open_in_rootfs(r.rootfs_fd, r.mount.destination, O_PATH | O_DIRECTORY);
  if (existing) {
    // Over an existing directory the tmpfs keeps its mode (/tmp's 1777), as
    // in runc; a mode= in the options comes later and wins.
    struct stat st;
    if (::fstat(existing->get(), &st) < 0) return sys_error("stat the destination");
    data = fmt::format("mode={:04o}", st.st_mode & 07777) + (data.empty() ? "" : "," + data);
  } else if (existing.error().errno_value() != ENOENT) {
    return existing.error();
  }
  UniqueFd dest = TRY_VALUE(make_destination(r, false, false));
  // Read-only comes in finish_rootfs: /dev is filled after this, and any
  // tmpfs may receive later mounts' mount points (runc does the same).
  TRY(mount_on(r.mount.source.c_str(), dest.get(), "tmpfs", r.options.flags & ~MS_RDONLY,
               with_mount_label(data, r.context.mount_label)));
  return apply_propagation_and_attributes(r);
}

// The host's cgroup2 mount point, outside the rootfs; "" when it has none.
Result<std::string> find_cgroup2_mount_point(const std::string& rootfs_path) {
  auto entries = TRY_VALUE(read_mountinfo());
  for (const MountInfoEntry& entry : entries)
    if (entry.fs_type == "cgroup2" && !is_inside(entry.mount_point, rootfs_path))
      return entry.mount_point;
  return std::string();
}

Status mount_cgroup(const MountRequest& r) {
  if (r.context.cgroup_namespace) {
    // In its own cgroup namespace a fresh cgroup2 mount shows the
    // container's cgroup as its root.
    UniqueFd dest = TRY_VALUE(make_destination(r, false, false));
    Status fresh = mount_on(r.mount.source.c_str(), dest.get(), "cgroup2",
                            r.options.flags & ~(MS_BIND | MS_REC), r.options.data);
    if (fresh) return apply_propagation_and_attributes(r);
    // EPERM/EBUSY: the namespace may not mount cgroup2 (a user namespace
    // without the cgroup's delegation); a bind shows the same tree.
    int e = fresh.error().errno_value();
    if (e != EPERM && e != EBUSY) return fresh;
  }
  std::string source = r.context.cgroup_host_path;
  if (source.empty()) {
    source = TRY_VALUE(find_cgroup2_mount_point(r.rootfs_path));
    if (source.empty()) return ok();  // a host without cgroup2 has nothing to show
  }
  return mount_bind(r, source, r.options.flags | MS_BIND);
}

Status mount_other_fs(const MountRequest& r) {
  UniqueFd dest = TRY_VALUE(make_destination(r, false, false));
  // mqueue takes no context= (runc labels the directory instead).
  std::string data = r.mount.type == "mqueue"
                         ? r.options.data
                         : with_mount_label(r.options.data, r.context.mount_label);
  TRY(mount_on(r.mount.source.c_str(), dest.get(), r.mount.type.c_str(), r.options.flags, data));
  return apply_propagation_and_attributes(r);
}

Status mount_one(const MountRequest& r) {
  const std::string& type = r.mount.type;
  if (is_bind_mount(r.mount, r.options))
    return mount_bind(r, r.mount.source, r.options.flags | MS_BIND);
  // sysfs may only be mounted by the owner of the network namespace: a
  // user-namespaced container sharing the host's netns gets the host's
  // /sys bound instead (runc does so for rootless containers). That brings
  // the host's submounts (cgroup hierarchies, ...) along, so "ro" is made
  // recursive.
  if (type == "sysfs" && r.context.user_namespace && !r.context.network_namespace) {
    MountOptions options = r.options;
    if (options.flags & MS_RDONLY) options.recursive_attr_set |= MOUNT_ATTR_RDONLY;
    MountRequest host_sys{r.mount, options, r.context, r.rootfs_fd, r.rootfs_path};
    return mount_bind(host_sys, "/sys", options.flags | MS_BIND | MS_REC);
  }
  if (type == "cgroup" || type == "cgroup2") return mount_cgroup(r);
  if (type == "proc" || type == "sysfs") return mount_kernel_fs(r);
  if (type == "tmpfs") return mount_tmpfs(r);
  return mount_other_fs(r);
}

}  // namespace

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int value = 0;
      bool octal = true;
      for (size_t j = 1; j <= 3; ++j) {
        char c = field[i + j];
        if (c < '0' || c > '7') octal = false;
        value = value * 8 + (c - '0');
      }
      if (octal) {
        out += static_cast<char>(value);
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

}  // namespace

// proc(5): "id parent major:minor root mount-point options [optional...] -
// fstype source super-options".
Result<std::vector<MountInfoEntry>> read_mountinfo() {
  std::string text = TRY_VALUE(read_file("/proc/self/mountinfo"));
  std::vector<MountInfoEntry> entries;
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) line_end = text.size();
    std::string_view line(text.data() + line_start, line_end - line_start);
    line_start = line_end + 1;
    std::vector<std::string_view> fields;
    size_t pos = 0;
    while (pos < line.size()) {
      size_t end = line.find(' ', pos);
      if (end == std::string_view::npos) end = line.size();
      fields.push_back(line.substr(pos, end - pos));
      pos = end + 1;
    }
    size_t separator = 6;
    while (separator < fields.size() && fields[separator] != "-") ++separator;
    if (fields.size() < 7 || separator + 1 >= fields.size()) continue;
    MountInfoEntry entry;
    entry.mount_point = unescape_mountinfo(fields[4]);
    for (size_t i = 6; i < separator; ++i) {
      if (!entry.optional_fields.empty()) entry.optional_fields += ' ';
      entry.optional_fields += fields[i];
    }
    entry.fs_type = fields[separator + 1];
    if (separator + 3 < fields.size()) entry.super_options = fields[separator + 3];
    entries.push_back(std::move(entry));
  }
  return entries;
}

Status prepare_rootfs_mount(const spec::Spec& spec, const MountContext& context) {
  unsigned long propagation = spec.linux ? propagation_flags(spec.linux->rootfs_propagation) : 0;
  // rslave by default: nothing mounted from here on reaches the host, while
  // the host's later mounts still reach the container, as in runc.
  if (!propagation) propagation = MS_SLAVE | MS_REC;
  if (::mount(nullptr, "/", nullptr, propagation, nullptr) < 0)
    return sys_error("set the propagation of / to {}", describe_mount_flags(propagation));
  struct stat st;
  if (::stat(context.rootfs.c_str(), &st) < 0) return sys_error("rootfs {}", context.rootfs);
  if (!S_ISDIR(st.st_mode)) return make_error("rootfs {} is not a directory", context.rootfs);
  if (propagation & MS_SHARED) TRY(make_parent_mount_private(context.rootfs));
  // pivot_root needs the new root to be a mount point. MS_REC keeps what is
  // already mounted below the rootfs (an overlay's volumes, for one).
  if (::mount(context.rootfs.c_str(), context.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) <
      0)
    return sys_error("bind-mount the rootfs {} onto itself", context.rootfs);
  return ok();
}

Status mount_spec_mounts(const spec::Spec& spec, const MountContext& context) {
  std::string rootfs_path = TRY_VALUE(canonical_path(context.rootfs));
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const spec::Mount& mount = spec.mounts[i];
    auto options = parse_mount_options(mount.options);
    std::string kind = options && is_bind_mount(mount, *options) ? "bind" : mount.type;
    std::string what =
        fmt::format("mount {} {} on {} (mounts[{}])", kind, mount.source, mount.destination, i);
    if (!options) return options.error().add_context(what);
    // Opened per mount: an earlier mount may have covered the rootfs itself.
    auto rootfs = open_file(context.rootfs, O_PATH | O_DIRECTORY);
    if (!rootfs) return rootfs.error().add_context(what);
    MountRequest request{mount, *options, context, rootfs->get(), rootfs_path};
    Status status = mount_one(request);
    if (!status) return status.error().add_context(what);
  }
  return ok();
}

}  // namespace berth::linux
