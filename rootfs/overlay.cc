#include "rootfs/overlay.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "core/files.h"

namespace berth::image {

namespace {

using Lowerdir = OverlayLayers::Lowerdir;

Status check_layer_path(const std::string& path) {
  // The option string separates layers with ':' and options with ','.
  if (path.find_first_of(":,") != std::string::npos)
    return make_error("overlay layer path {} contains ':' or ','", path);
  return ok();
}

// The new mount API, each layer its own "lowerdir+" (Linux 6.8). Returns
// false, with nothing mounted, on a kernel that does not know the key.
Result<bool> mount_one_by_one(const OverlayLayers& layers, const std::string& target) {
  UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) return sys_error("fsopen overlay (is the overlay module loaded?)");
  for (const std::string& layer : layers.lower_top_first) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", layer.c_str(), 0) == 0) continue;
    if (errno == EINVAL && &layer == &layers.lower_top_first.front() &&
        layers.lowerdir == Lowerdir::Automatic)
      return false;
    return sys_error("overlay lowerdir+ {}", layer);
  }
  if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "upperdir", layers.upper.c_str(), 0) < 0)
    return sys_error("overlay upperdir {}", layers.upper);
  if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "workdir", layers.work.c_str(), 0) < 0)
    return sys_error("overlay workdir {}", layers.work);
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    return sys_error("create overlay for {}", target);
  UniqueFd mounted(::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (!mounted) return sys_error("fsmount overlay for {}", target);
  if (::move_mount(mounted.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return sys_error("mount overlay on {}", target);
  return true;
}

// Older kernels: mount(2) with one option string, which must fit in a page
// (fsconfig's string values are capped at 256 bytes, too short for it).
// Each layer is named "/proc/self/fd/N" of an O_PATH fd held until the
// mount is made: about 17 bytes a layer, whatever the store's path.
Status mount_single_string(const OverlayLayers& layers, const std::string& target) {
  std::vector<UniqueFd> held;
  std::string options = "lowerdir=";
  for (const std::string& layer : layers.lower_top_first) {
    auto fd = TRY_VALUE(open_file(layer, O_PATH | O_DIRECTORY));
    if (!held.empty()) options += ':';
    options += "/proc/self/fd/" + std::to_string(fd.get());
    held.push_back(std::move(fd));
  }
  options += ",upperdir=" + layers.upper + ",workdir=" + layers.work;
  if (options.size() >= static_cast<size_t>(::sysconf(_SC_PAGESIZE)))
    return make_error("{} layers do not fit in overlayfs's one-page option string on this kernel",
                      layers.lower_top_first.size());
  if (::mount("overlay", target.c_str(), "overlay", 0, options.c_str()) < 0)
    return sys_error("mount overlay of {} layers on {}", layers.lower_top_first.size(), target);
  return ok();
}

}  // namespace

Status mount_overlay(const OverlayLayers& layers, const std::string& target) {
  if (layers.lower_top_first.empty()) return make_error("overlay on {}: no layers", target);
  for (const std::string& layer : layers.lower_top_first) TRY(check_layer_path(layer));
  TRY(check_layer_path(layers.upper));
  TRY(check_layer_path(layers.work));
  if (layers.lowerdir != Lowerdir::SingleString && TRY_VALUE(mount_one_by_one(layers, target)))
    return ok();
  return mount_single_string(layers, target);
}

Status unmount_overlay(const std::string& target) {
  if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) return ok();
  if (errno == EINVAL || errno == ENOENT) return ok();  // not a mount point, or gone
  return sys_error("unmount overlay {}", target);
}

}  // namespace berth::image
