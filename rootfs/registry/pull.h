// berth pull: an image from a registry into the store.
//
// The manifest (from an index, the one for the platform asked for), then
// the config, then the layers: several at once, each streamed from the
// socket through its digest and the decompressor into the store's safe
// extractor, with no copy of the compressed blob on disk. A layer the
// store already has is not downloaded. Every digest is checked: the
// manifest's when pulled by digest, the config's and each layer's blob
// (a mismatch fails the layer and nothing of it stays). The image is
// recorded only when all its layers are in.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/error.h"
#include "rootfs/reference.h"
#include "rootfs/registry/credentials.h"
#include "rootfs/registry/registries.h"
#include "rootfs/store.h"

namespace berth::registry {

// What a pull reports of each layer, as Docker's progress lines.
enum class LayerStatus {
  kAlreadyExists,    // "Already exists"
  kPullingFsLayer,   // "Pulling fs layer"
  kDownloading,      // "Downloading", with bytes of total
  kDownloadComplete, // "Download complete"
  kPullComplete,     // "Pull complete"
};

// Told of the pull's steps; called from one thread at a time.
class PullObserver {
 public:
  virtual ~PullObserver() = default;
  // "latest: Pulling from library/python"
  virtual void pulling(const std::string& tag_or_digest, const std::string& repository) = 0;
  // layer: the blob's digest.
  virtual void layer(const std::string& layer, LayerStatus status, uint64_t current, uint64_t total) = 0;
};

// The credentials for a registry ("docker.io", "127.0.0.1:5000"), if any.
using CredentialsFor = std::function<Result<std::optional<Credentials>>(const std::string& registry)>;

struct PullOptions {
  // "os/arch[/variant]"; empty: this machine's (linux/amd64 on x86_64).
  std::string platform;
  int parallel_layers = 3;
  // Set (by a signal handler, say) to stop the pull: each layer stops at
  // its next block and the store removes what it had of it; the layers
  // already complete stay, for the next pull.
  const std::atomic<bool>* interrupted = nullptr;
};

struct PullResult {
  image::Image image;
  std::string manifest_digest;  // what "Digest: sha256:..." prints
  bool downloaded = false;      // false: the tag already named this image
};

Result<PullResult> pull_image(image::Store& store, const RegistriesConfig& registries,
                              const CredentialsFor& credentials, const image::Reference& reference,
                              const PullOptions& options, PullObserver& observer);

// "linux/amd64" for this machine.
std::string host_platform();

}  // namespace berth::registry
