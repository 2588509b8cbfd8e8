// The image store under berth's --root (default /var/lib/berth):
//
//   layers/<hex>/          a layer, unpacked once, addressed by its diff_id
//                          (sha256 of the uncompressed layer tar)
//   layers/<hex>.json      its size, entry count, and the compressed blobs
//                          known to hold it (digest, media type, size, and
//                          the repositories that have it), so a push of a
//                          pulled layer recompresses and resends nothing
//   images/<hex>.json      an image: its OCI config (hex = the config's digest,
//                          which is the image id), layer diff_ids bottom first,
//                          and its repo digests ("name@sha256:<manifest>")
//   repositories.json      "name:tag" -> image id, the name in its familiar
//                          form ("python:3", "kbaafi/dockerml:latest",
//                          "127.0.0.1:5000/x:1"; see rootfs/reference.h)
//   store.lock             flock held by every change to the above
//
// A layer appears under layers/ only complete: it is extracted into a temp
// dir beside it and renamed into place.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"
#include "rootfs/extract.h"

namespace berth::image {

constexpr const char* kDefaultStoreRoot = "/var/lib/berth";

struct Image {
  std::string id;                   // "sha256:<hex>" of the config's bytes
  std::vector<std::string> tags;    // "name:tag", sorted
  std::vector<std::string> layers;  // diff_ids, bottom first
  nlohmann::json config;            // the OCI image config document
  std::string imported;             // RFC3339
  uint64_t size = 0;                // bytes of the layers' files
  // "name@sha256:<manifest digest>", familiar names, sorted: where a
  // registry holds this image (Docker's RepoDigests).
  std::vector<std::string> repo_digests;
};

// An image's manifest in a registry, as pulled: pushing the image with the
// same blobs sends these bytes again, so its digest stays the same.
struct ImageManifest {
  std::string media_type;
  std::string bytes;
};

// A compressed blob that holds a layer: what a registry serves for it.
struct LayerBlob {
  std::string digest;      // "sha256:<hex>" of the blob's bytes
  std::string media_type;  // as the manifest named it
  uint64_t size = 0;
  // "registry/path" of each repository known to have the blob
  // ("127.0.0.1:5000/x", "docker.io/library/python"), oldest first.
  std::vector<std::string> repositories;
};

// Held for the whole of a change to the store (or a read that must see one
// consistent state); released by the destructor.
class StoreLock {
 public:
  explicit StoreLock(UniqueFd fd) : fd_(std::move(fd)) {}

 private:
  UniqueFd fd_;
};

class Store {
 public:
  // Makes the directories if missing.
  static Result<Store> open(const std::string& root);

  const std::string& root() const { return root_; }
  Result<StoreLock> lock() const;

  std::string layer_dir(const std::string& diff_id) const;
  bool has_layer(const std::string& diff_id) const;
  // Extracts a layer unless the store has it; returns the stats (zero if it
  // was there). diff_id: "sha256:<hex>". With expected_input_digest, a
  // layer whose bytes do not have that digest is refused.
  Result<ExtractStats> add_layer(const std::string& diff_id, const LayerReader& reader,
                                 const std::string& expected_input_digest = "");

  // Remembers that blob holds the layer and that repository ("registry/path")
  // has it; a blob already known gets the repository added. The caller
  // holds the lock.
  Status remember_layer_blob(const std::string& diff_id, const LayerBlob& blob,
                             const std::string& repository);
  // The blobs known to hold a layer, first remembered first.
  Result<std::vector<LayerBlob>> layer_blobs(const std::string& diff_id) const;

  // Adds "name@sha256:<manifest digest>" to the image's repo digests,
  // replacing one of the same name. The caller holds the lock.
  Status add_repo_digest(const std::string& image_id, const std::string& repo_digest);

  // The config exactly as recorded (its digest is the id).
  Result<std::string> config_bytes(const std::string& image_id) const;
  // Keeps the manifest an image was pulled with (one: the last). The caller
  // holds the lock.
  Status remember_manifest(const std::string& image_id, const ImageManifest& manifest);
  Result<std::optional<ImageManifest>> image_manifest(const std::string& image_id) const;

  // Records an image (config bytes as given, so its digest is its id) and
  // points each tag at it; a tag that pointed elsewhere moves. The caller
  // holds the lock.
  Result<Image> add_image(const std::string& config_bytes, const std::vector<std::string>& tags);

  // Points a tag at the image source names (a tag or an id prefix), as
  // `docker tag`; a tag that pointed elsewhere moves. The caller holds the lock.
  Result<Image> tag_image(const std::string& source, const std::string& tag);

  // Any reference to a tag ("python", "docker.io/library/python:latest"),
  // a full id, or a unique id prefix; ENOENT when there is no such image.
  Result<Image> find_image(const std::string& reference) const;
  Result<std::vector<Image>> list_images() const;

  // Removes one tag (or all tags of an id); the image and then its unused
  // layers go when nothing refers to them. in_use: image ids containers
  // still use, which are refused. The caller holds the lock.
  Result<std::vector<std::string>> remove_image(const std::string& reference,
                                                const std::vector<std::string>& in_use);

 private:
  explicit Store(std::string root) : root_(std::move(root)) {}
  Result<nlohmann::json> load_repositories() const;
  Status save_repositories(const nlohmann::json& repositories) const;
  Result<Image> load_image(const std::string& id, const nlohmann::json& repositories) const;
  std::string image_file(const std::string& id) const;
  Status update_image_record(const std::string& id, const std::function<void(nlohmann::json&)>& change);

  std::string root_;
};

// The key of a reference in repositories.json: the familiar "name:tag"
// ("docker.io/library/python" -> "python:latest"), or "name@digest" when it
// has a digest (which then decides, as in Docker). Refuses what Docker
// refuses, with its reason.
Result<std::string> normalize_reference(const std::string& reference);
// normalize_reference for a name an image is given: a digest names a
// manifest in a registry, it cannot be a tag.
Result<std::string> normalize_tag(const std::string& reference);

}  // namespace berth::image
