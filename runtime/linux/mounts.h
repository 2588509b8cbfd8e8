// The container's filesystem view, built in the child inside its new mount
// namespace, in this order (the caller runs createContainer hooks between
// populate_dev and enter_rootfs, as the runtime spec places them):
//
//   prepare_rootfs_mount  root propagation (rootfsPropagation, default
//                         rslave as runc), rootfs bind-mounted onto itself
//   mount_spec_mounts     the spec's mounts, in order
//   populate_dev          default devices, the spec's devices, /dev links
//   enter_rootfs          pivot_root (or MS_MOVE + chroot with --no-pivot)
//   finish_rootfs         masked paths, readonly paths, readonly root,
//                         rootfsPropagation re-applied to "/"
//
// Every destination (and every bind source that lives in the rootfs) is
// resolved inside the rootfs with openat2(RESOLVE_IN_ROOT): a symlink in the
// image must never redirect a mount to the host. Mounts then target the
// resolved O_PATH fd through /proc/self/fd/N.
#pragma once

#include <string>

#include "core/error.h"
#include "core/unique_fd.h"
#include "spec/spec.h"

namespace berth::linux {

struct MountContext {
  std::string rootfs;             // absolute host path of the rootfs directory
  bool user_namespace = false;    // mknod is impossible: bind host devices
  bool network_namespace = true;  // own netns: sysfs can be mounted fresh
  bool cgroup_namespace = false;  // own cgroupns: cgroup2 can be mounted fresh
  std::string cgroup_host_path;   // the container's cgroup dir on the host, or ""
  std::string mount_label;        // SELinux context= for mounts, or ""
};

Status prepare_rootfs_mount(const spec::Spec& spec, const MountContext& context);
Status mount_spec_mounts(const spec::Spec& spec, const MountContext& context);
Status populate_dev(const spec::Spec& spec, const MountContext& context);
Status enter_rootfs(const MountContext& context, bool no_pivot);
Status finish_rootfs(const spec::Spec& spec);

// Open path inside the directory rootfs_fd as if rootfs_fd were "/", never
// escaping it through ".." or symlinks. flags are openat2 open flags.
Result<UniqueFd> open_in_rootfs(int rootfs_fd, const std::string& path, int flags);

// Create every missing directory of path inside rootfs_fd (safely, as
// open_in_rootfs), and the last component as a directory or, when
// as_file, an empty regular file. Returns an O_PATH fd to it.
Result<UniqueFd> make_path_in_rootfs(int rootfs_fd, const std::string& path, bool as_file,
                                     mode_t mode = 0755);

// Parsed mount options: flags for mount(2), propagation flags applied
// separately, MS_REC etc., and the filesystem data string.
struct MountOptions {
  unsigned long flags = 0;
  unsigned long propagation = 0;         // MS_SHARED/MS_SLAVE/... | MS_REC
  unsigned long recursive_attr_set = 0;  // "rro", "rnosuid", ... (mount_setattr)
  unsigned long recursive_attr_clear = 0;
  std::string data;
  // Flags an option asked to clear ("rw", "suid", "dev", ...): a bind mount
  // with any of them is remounted even when no flag is set, as runc does.
  unsigned long cleared_flags = 0;
};
Result<MountOptions> parse_mount_options(const std::vector<std::string>& options);

}  // namespace berth::linux
