// The image store under berth's --root (default /var/lib/berth):
//
//   layers/<hex>/          a layer, unpacked once, addressed by its diff_id
//                          (sha256 of the uncompressed layer tar)
//   images/<hex>.json      an image: its OCI config (hex = the config's digest,
//                          which is the image id), layer diff_ids bottom first
//   repositories.json      "name:tag" -> image id, the name in its familiar
//                          form ("python:3", "kbaafi/dockerml:latest",
//                          "127.0.0.1:5000/x:1"; see rootfs/reference.h)
//   store.lock             flock held by every change to the above
//
// A layer appears under layers/ only complete: it is extracted into a temp
// dir beside it and renamed into place.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
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
