// berth import: images into the store from
//   - a `docker save` archive (manifest.json with Config, RepoTags, Layers),
//   - an OCI image layout, as a directory or as a tar archive of one
//     (index.json, blobs/sha256/...; names from the
//     org.opencontainers.image.ref.name annotation),
//   - with `rootfs`, a plain root filesystem tarball (like `docker import`).
// Archives may be plain or gzip/zstd/xz compressed. Every digest the source
// names (manifest, config, layer) is checked against the bytes read.
#pragma once

#include <string>
#include <vector>

#include "rootfs/store.h"

namespace berth::image {

struct ImportOptions {
  std::string path;
  std::string reference;  // required with rootfs; else renames a one-image source
  bool rootfs = false;
};

struct ImportResult {
  std::vector<Image> images;
  uint64_t layers_extracted = 0;  // layers the store did not have yet
  uint64_t bytes_extracted = 0;
};

Result<ImportResult> import_images(Store& store, const ImportOptions& options);

}  // namespace berth::image
