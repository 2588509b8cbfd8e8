#include "rootfs/overlay.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/files.h"

namespace berth::rootfs {

namespace {

// glibc 2.36 declares the new mount API in <sys/mount.h>; fsconfig keys are
// strings, so a kernel without "lowerdir+" answers EINVAL.
Status set_string(int fs, const char* key, const std::string& value, const std::string& what) {
  if (::fsconfig(fs, FSCONFIG_SET_STRING, key, value.c_str(), 0) < 0)
    return sys_error("overlay {} {}", key, what);
  return ok();
}

Status check_layer_path(const std::string& path) {
  // The legacy option string separates layers with ':' and options with ','.
  if (path.find_first_of(":,") != std::string::npos)
    return make_error("overlay layer path {} contains ':' or ','", path);
  return ok();
}

Result<UniqueFd> open_overlay_context() {
  UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) return sys_error("fsopen overlay (is the overlay module loaded?)");
  return fs;
}

// "lowerdir=/proc/self/fd/7:/proc/self/fd/8:..." from O_PATH fds we hold
// until the mount is made: about 17 bytes a layer whatever the store path.
Status configure_legacy_lowerdir(int fs, const OverlayLayers& layers, std::vector<UniqueFd>& held) {
  std::string lowerdir;
  for (const std::string& layer : layers.lower_top_first) {
    auto fd = TRY_VALUE(open_file(layer, O_PATH | O_DIRECTORY));
    if (!lowerdir.empty()) lowerdir += ':';
    lowerdir += "/proc/self/fd/" + std::to_string(fd.get());
    held.push_back(std::move(fd));
  }
  if (lowerdir.size() >= static_cast<size_t>(::sysconf(_SC_PAGESIZE)))
    return make_error("{} layers do not fit in overlayfs's lowerdir option on this kernel",
                      layers.lower_top_first.size());
  return set_string(fs, "lowerdir", lowerdir, "");
}

}  // namespace

Status mount_overlay(const OverlayLayers& layers, const std::string& target) {
  if (layers.lower_top_first.empty()) return make_error("overlay on {}: no layers", target);
  for (const std::string& layer : layers.lower_top_first) TRY(check_layer_path(layer));
  TRY(check_layer_path(layers.upper));
  TRY(check_layer_path(layers.work));

  auto fs = TRY_VALUE(open_overlay_context());
  std::vector<UniqueFd> held;
  bool appended = true;
  for (const std::string& layer : layers.lower_top_first) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", layer.c_str(), 0) == 0) continue;
    if (errno != EINVAL || &layer != &layers.lower_top_first.front())
      return sys_error("overlay lowerdir+ {}", layer);
    appended = false;  // a kernel before 6.8: no "lowerdir+" key at all
    break;
  }
  if (!appended) {
    // A failed fsconfig may leave the context unusable: start afresh.
    fs = TRY_VALUE(open_overlay_context());
    TRY(configure_legacy_lowerdir(fs.get(), layers, held));
  }
  TRY(set_string(fs.get(), "upperdir", layers.upper, layers.upper));
  TRY(set_string(fs.get(), "workdir", layers.work, layers.work));
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    return sys_error("create overlay for {}", target);
  UniqueFd mounted(::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (!mounted) return sys_error("fsmount overlay for {}", target);
  if (::move_mount(mounted.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return sys_error("mount overlay on {}", target);
  return ok();
}

Status unmount_overlay(const std::string& target) {
  if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) return ok();
  if (errno == EINVAL || errno == ENOENT) return ok();  // not a mount point, or gone
  return sys_error("unmount overlay {}", target);
}

}  // namespace berth::rootfs
