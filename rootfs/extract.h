// Safe extraction of one image layer (a tar stream, plain or gzip/zstd/xz
// compressed) into its own directory, as an overlayfs layer.
//
// A layer is untrusted input. Every entry is created relative to an fd of
// the layer directory, resolved with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS), so no path ("../x",
// "/etc/x"), symlink or hard link in the archive can make us write outside
// it; such an entry fails the whole extraction with an error naming the
// entry. OCI whiteouts become overlayfs ones: ".wh.NAME" a 0:0 character
// device NAME, ".wh..wh..opq" the xattr trusted.overlay.opaque=y on its
// directory.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "core/error.h"

namespace berth::image {

struct ExtractStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;        // file contents written
  std::string input_digest;    // "sha256:<hex>" of the bytes read (the blob as stored)
  std::string content_digest;  // of the uncompressed tar stream: the layer's diff_id
};

// Returns the next block of the archive's bytes; an empty span at the end.
// A block stays valid until the next call (it is hashed on a helper thread
// that extraction joins before it returns).
using LayerReader = std::function<Result<std::span<const std::byte>>()>;

// dest must exist and be empty (the caller owns it and removes it on error).
Result<ExtractStats> extract_layer(const LayerReader& reader, const std::string& dest);
Result<ExtractStats> extract_layer_file(const std::string& archive_path, const std::string& dest);

}  // namespace berth::image
