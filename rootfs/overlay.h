// A container's root filesystem: an overlayfs of the image's layer
// directories, read-only, under the container's own upper and work dirs.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"

namespace berth::image {

struct OverlayLayers {
  std::vector<std::string> lower_top_first;  // absolute layer directories
  std::string upper;
  std::string work;  // on the same filesystem as upper
  // How the layers reach the kernel: "lowerdir+" where it exists, else the
  // single string (Automatic); or one of them only, as tests do to cover
  // the older kernels' path on a new one.
  enum class Lowerdir { Automatic, OneByOne, SingleString };
  Lowerdir lowerdir = Lowerdir::Automatic;
};

// Mounts the overlay on target. Layers are given one by one with the new
// mount API's "lowerdir+" (Linux 6.8); on older kernels mount(2)'s single
// option string is used, with each layer named by a short /proc/self/fd
// path, so even many layers fit in its one page.
Status mount_overlay(const OverlayLayers& layers, const std::string& target);

// Detaches the overlay from target; a target with nothing mounted is fine.
Status unmount_overlay(const std::string& target);

}  // namespace berth::image
