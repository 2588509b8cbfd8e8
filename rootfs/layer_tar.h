// A layer directory of the store back into an OCI layer tar, for a push of
// a layer the store has no compressed blob for (an imported uncompressed
// layer, later a committed one).
//
// The tar is deterministic: the same tree always gives the same bytes, so
// its digests are stable from one push (and one registry) to the next.
// Entries are depth-first, each directory's entries sorted by their names
// in the tar (bytewise); PAX format (libarchive's restricted pax: ustar
// headers, a pax header only where ustar cannot say it, e.g. xattrs or
// long names); numeric uid/gid, no user or group names; mode and mtime
// (whole seconds) from the files; no atime or ctime; xattrs sorted, except
// overlayfs's own (trusted.overlay.*). Overlay whiteouts go back to OCI
// ones: a 0:0 character device NAME is an empty file ".wh.NAME", a
// directory with trusted.overlay.opaque=y gets an empty ".wh..wh..opq"
// inside it; both with mode 0, owner 0:0 and mtime 0, fixed values so
// that a whiteout's tar entry never depends on when it was extracted.
// Hard links to a file seen earlier in that order are tar hard links.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "core/error.h"

namespace berth::image {

struct LayerTar {
  std::string digest;       // "sha256:<hex>" of what was written (gzip'd or not)
  uint64_t size = 0;        // bytes written
  std::string diff_id;      // "sha256:<hex>" of the uncompressed tar
  uint64_t tar_size = 0;
};

// Receives the archive's bytes in order.
using ByteSink = std::function<Status(std::span<const std::byte>)>;

// Writes the tar of dir to sink (an empty sink only hashes), gzip'd when
// gzip (zlib, default level, a header without name or time), hashing the
// compressed and the uncompressed stream in the same pass.
Result<LayerTar> write_layer_tar(const std::string& dir, bool gzip, const ByteSink& sink);

}  // namespace berth::image
