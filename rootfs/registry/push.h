// berth push: an image of the store into a repository of a registry.
//
// Each layer (bottom first) goes up as a blob the registry can take
// without resending where possible:
//   1. a blob the store remembers for the layer (it came from a pull, or a
//      push) that the repository already has: HEAD says so, "Layer already
//      exists";
//   2. one that another repository of the same registry has: a
//      cross-repository mount, "Mounted from <repo>" (a registry that will
//      not mount answers 202 with an upload session, used for step 3);
//   3. otherwise a gzip'd tar made from the layer directory, deterministic
//      (rootfs/layer_tar.h) so that every push of the layer makes the same
//      blob; its uncompressed digest must be the layer's diff_id, or the
//      layer on disk no longer matches its image and the push is refused.
//      The blob is remembered for the next push.
// Then the config, the same way, and the manifest by tag. A pulled image
// whose every layer went up as the blob its manifest names is pushed with
// that manifest's exact bytes (its digest stays the same); otherwise the
// manifest is made anew, Docker schema 2 (or OCI with PushFormat::kOci).
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"
#include "rootfs/reference.h"
#include "rootfs/registry/pull.h"
#include "rootfs/registry/registries.h"
#include "rootfs/store.h"

namespace berth::registry {

inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";

enum class PushFormat {
  kDefault,  // the pulled manifest when it can be sent as it is, else Docker schema 2
  kDocker,   // Docker schema 2
  kOci,      // OCI image manifest
};

// What a push reports of each layer, as Docker's lines.
enum class PushStatus {
  kPreparing,      // "Preparing"
  kPushing,        // "Pushing"
  kPushed,         // "Pushed"
  kAlreadyExists,  // "Layer already exists"
  kMounted,        // "Mounted from <repo>"
};

class PushObserver {
 public:
  virtual ~PushObserver() = default;
  // layer: the layer's diff_id; from: the repository a mount came from.
  virtual void layer(const std::string& layer, PushStatus status, const std::string& from) = 0;
};

struct PushOptions {
  PushFormat format = PushFormat::kDefault;
};

struct PushResult {
  std::string tag;
  std::string digest;  // the manifest's
  uint64_t size = 0;   // the manifest's bytes
};

// Pushes the image the reference's tag names in the store to that tag.
Result<PushResult> push_image(image::Store& store, const RegistriesConfig& registries,
                              const CredentialsFor& credentials, const image::Reference& reference,
                              const PushOptions& options, PushObserver& observer);

}  // namespace berth::registry
