// Switching the process's root to the rootfs: pivot_root, or MS_MOVE and
// chroot when pivot_root cannot be used (--no-pivot, e.g. a rootfs on the
// initramfs).
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/files.h"
#include "linux/mount_internal.h"

namespace berth::linux {

namespace {

// pivot_root(".", ".") stacks the old root on top of the new one at the
// same place, so no put_old directory has to exist in (or be created in)
// the image; the old root is then unmounted from under the cwd. The trick
// is LXC's, and runc's pivotRoot.
Status pivot_into(const std::string& rootfs) {
  UniqueFd old_root = TRY_VALUE(open_file("/", O_DIRECTORY | O_RDONLY));
  UniqueFd new_root = TRY_VALUE(open_file(rootfs, O_DIRECTORY | O_RDONLY));
  if (::fchdir(new_root.get()) < 0) return sys_error("chdir to {}", rootfs);
  if (::syscall(SYS_pivot_root, ".", ".") < 0) return sys_error("pivot_root to {}", rootfs);
  // The kernel leaves the cwd on the old root today, but does not promise
  // it: go there explicitly.
  if (::fchdir(old_root.get()) < 0) return sys_error("chdir to the old root");
  // rslave, not rprivate, before unmounting: the unmount must not
  // propagate to the host, and a private copy would keep host mounts busy
  // from here (devicemapper's reason, in runc).
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    return sys_error("make the old root rslave");
  if (::umount2(".", MNT_DETACH) < 0) return sys_error("unmount the old root");
  if (::chdir("/") < 0) return sys_error("chdir to the new root");
  return ok();
}

// Unlike runc's msMoveRoot this does not first unmount (or cover) the
// host's full procfs and sysfs mounts: they stay reachable in the mount
// namespace, outside the chroot. chroot is not a security boundary
// against a process with CAP_SYS_CHROOT; --no-pivot is for hosts where
// pivot_root cannot work, not for untrusted workloads.
Status move_into(const std::string& rootfs) {
  if (::chdir(rootfs.c_str()) < 0) return sys_error("chdir to {}", rootfs);
  if (::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) < 0)
    return sys_error("move the mount {} onto /", rootfs);
  if (::chroot(".") < 0) return sys_error("chroot to {}", rootfs);
  if (::chdir("/") < 0) return sys_error("chdir to the new root");
  return ok();
}

}  // namespace

Status enter_rootfs(const MountContext& context, bool no_pivot) {
  return no_pivot ? move_into(context.rootfs) : pivot_into(context.rootfs);
}

}  // namespace berth::linux
