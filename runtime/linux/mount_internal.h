// Pieces shared by the files of the mounts module (mounts.cc, devices.cc,
// pivot.cc, finish_rootfs.cc, ...); not part of its interface (mounts.h).
#pragma once

#include <sys/mount.h>
#include <sys/statfs.h>

#include <string>
#include <vector>

#include "linux/mounts.h"
#include "spec/spec.h"

namespace berth::linux {

// "/proc/self/fd/N": mount(2) takes paths, and this one names exactly the
// object the fd was opened on, whatever happens to the path later.
std::string proc_fd_path(int fd);

// One line of /proc/self/mountinfo, paths unescaped.
struct MountInfoEntry {
  std::string mount_point;
  std::string optional_fields;  // "shared:1 master:2"
  std::string fs_type;
  std::string super_options;  // "rw,memory" for a cgroup v1 memory hierarchy
};
Result<std::vector<MountInfoEntry>> read_mountinfo();

// Lexically cleaned absolute path ("//dev/./pts/" -> "/dev/pts"), for
// comparing destinations; ".." stops at "/".
std::string clean_path(const std::string& path);

// A bind mount is type "bind" or any type with the bind/rbind option (the
// type is then meaningless, as in runc).
bool is_bind_mount(const spec::Mount& mount, const MountOptions& options);

// MS_* flags for rootfsPropagation; 0 when unset.
unsigned long propagation_flags(spec::Propagation propagation);

// "ro,nosuid,bind,rec" for error messages.
std::string describe_mount_flags(unsigned long flags);

// The per-mount flags a mount already has, from statfs(2)'s f_flags.
unsigned long mount_flags_from_statfs(const struct statfs& st);

// Flags the kernel locks on mounts inherited from a more privileged user
// namespace (MNT_LOCK_*): a bind remount there must keep them.
inline constexpr unsigned long kAtimeMountFlags =
    MS_NOATIME | MS_RELATIME | MS_STRICTATIME | MS_NODIRATIME;
inline constexpr unsigned long kLockableMountFlags =
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | kAtimeMountFlags;

}  // namespace berth::linux
