// The last filesystem steps, run inside the new root: readonly and masked
// paths, the read-only remounts put off until /dev was filled, a read-only
// root, and rootfsPropagation. Paths are plain here: after pivot_root a
// symlink in the image can no longer lead outside the container's root.
#include <sys/mount.h>
#include <sys/statfs.h>

#include "linux/mount_internal.h"

namespace berth::linux {

namespace {

// Remount path read-only, keeping the flags it has: dropping nosuid, nodev
// or noexec would be an escalation (and fails in a user namespace, where
// they are locked).
Status remount_read_only(const std::string& path) {
  struct statfs st;
  if (::statfs(path.c_str(), &st) < 0) return sys_error("statfs {}", path);
  unsigned long flags =
      (mount_flags_from_statfs(st) & kLockableMountFlags) | MS_BIND | MS_REMOUNT | MS_RDONLY;
  if (::mount(nullptr, path.c_str(), nullptr, flags, nullptr) < 0)
    return sys_error("remount {} {}", path, describe_mount_flags(flags));
  return ok();
}

// A bind of the path onto itself makes it a mount of its own, which can
// then be read-only while its parent stays writable.
Status make_path_read_only(const std::string& path) {
  if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    if (errno == ENOENT) return ok();
    return sys_error("bind-mount {} onto itself", path);
  }
  return remount_read_only(path);
}

// A file is covered by /dev/null, a directory by an empty read-only tmpfs.
// Binding a file onto a directory fails with ENOTDIR, which tells the two
// apart without a stat (runc's maskPath).
Status mask_path(const std::string& path, const std::string& mount_label) {
  if (::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr) == 0) return ok();
  if (errno == ENOENT) return ok();
  if (errno != ENOTDIR) return sys_error("mask {} with /dev/null", path);
  std::string data = mount_label.empty() ? "" : "context=\"" + mount_label + "\"";
  if (::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY, data.empty() ? nullptr : data.c_str()) < 0)
    return sys_error("mask {} with a read-only tmpfs", path);
  return ok();
}

// tmpfs mounts (and a /dev that is not a bind) were mounted writable so
// that /dev could be filled and mount points made in them; the spec's "ro"
// is applied now.
Status apply_delayed_read_only(const spec::Spec& spec) {
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const spec::Mount& mount = spec.mounts[i];
    auto options = parse_mount_options(mount.options);
    if (!options || !(options->flags & MS_RDONLY) || is_bind_mount(mount, *options)) continue;
    if (mount.type != "tmpfs" && clean_path(mount.destination) != "/dev") continue;
    unsigned long flags =
        (options->flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) | MS_BIND | MS_REMOUNT | MS_RDONLY;
    if (::mount(nullptr, mount.destination.c_str(), nullptr, flags, nullptr) < 0)
      return sys_error("remount {} (mounts[{}]) {}", mount.destination, i,
                       describe_mount_flags(flags));
  }
  return ok();
}

}  // namespace

Status finish_rootfs(const spec::Spec& spec) {
  if (spec.linux) {
    for (const std::string& path : spec.linux->readonly_paths)
      TRY_CTX(make_path_read_only(path), "readonly path {}", path);
    for (const std::string& path : spec.linux->masked_paths)
      TRY_CTX(mask_path(path, spec.linux->mount_label), "masked path {}", path);
  }
  TRY(apply_delayed_read_only(spec));
  if (spec.root.readonly) TRY_CTX(remount_read_only("/"), "make the root read-only");
  unsigned long propagation = spec.linux ? propagation_flags(spec.linux->rootfs_propagation) : 0;
  if (propagation && ::mount(nullptr, "/", nullptr, propagation, nullptr) < 0)
    return sys_error("set the propagation of / to {}", describe_mount_flags(propagation));
  return ok();
}

}  // namespace berth::linux
