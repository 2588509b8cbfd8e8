#include "rootfs/registry/push.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "core/unique_fd.h"
#include "rootfs/digest.h"
#include "rootfs/layer_tar.h"
#include "rootfs/registry/client.h"

namespace berth::registry {
namespace {

using nlohmann::json;

bool is_gzip_layer(const std::string& type) {
  return type == kDockerLayerGzip || type == kOciLayerGzip;
}

// The media type a remembered blob has in a manifest of this format; ""
// when the format has none for it (Docker schema 2 has no zstd layer).
std::string layer_type_for(const std::string& blob_type, bool oci) {
  if (is_gzip_layer(blob_type)) return oci ? kOciLayerGzip : kDockerLayerGzip;
  if (!oci) return "";
  if (blob_type == "application/vnd.oci.image.layer.v1.tar+zstd" || blob_type == "application/vnd.oci.image.layer.v1.tar")
    return blob_type;
  return "";
}

// Where a push goes: the registry's repository, and what is said of it.
struct Target {
  Client client;
  std::string domain;      // "127.0.0.1:5000"
  std::string repository;  // "127.0.0.1:5000/x", as the store names repositories
  bool oci = false;
};

// A remembered blob of the layer on this registry, and the other
// repository of it that has the blob (for a mount), if any.
std::string mount_source(const image::LayerBlob& blob, const Target& target) {
  for (const std::string& repository : blob.repositories) {
    if (repository != target.repository && repository.starts_with(target.domain + "/"))
      return repository.substr(target.domain.size() + 1);
  }
  return "";
}

// Reads a file from its start on each copy: a retried PUT resends the
// whole blob (the client copies the source for every try).
BodySource file_source(int fd) {
  return [fd, offset = uint64_t{0}](std::span<std::byte> buffer) mutable -> Result<size_t> {
    for (;;) {
      ssize_t got = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return sys_error("read the layer's blob");
      offset += static_cast<uint64_t>(got);
      return static_cast<size_t>(got);
    }
  };
}

BodySource string_source(const std::string& bytes) {
  return [&bytes, offset = size_t{0}](std::span<std::byte> buffer) mutable -> Result<size_t> {
    size_t n = std::min(buffer.size(), bytes.size() - offset);
    std::memcpy(buffer.data(), bytes.data() + offset, n);
    offset += n;
    return n;
  };
}

// The layer as a deterministic gzip'd tar, into an unnamed temp file of the
// store. A temp file rather than tarring twice (once to learn the digest
// the upload's PUT names, once to send): one pass over the layer's files,
// and a retried upload rereads the file instead of tarring and gzipping
// the whole layer again. The file is as big as the compressed blob and
// goes when its fd closes.
Result<std::pair<UniqueFd, image::LayerTar>> make_layer_blob(const image::Store& store, const std::string& diff_id) {
  UniqueFd fd(::open(store.root().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!fd) return sys_error("make a temp file in {}", store.root());
  uint64_t offset = 0;
  image::ByteSink sink = [&](std::span<const std::byte> bytes) -> Status {
    while (!bytes.empty()) {
      ssize_t put = ::pwrite(fd.get(), bytes.data(), bytes.size(), static_cast<off_t>(offset));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) return sys_error("write the blob of layer {}", diff_id);
      offset += static_cast<uint64_t>(put);
      bytes = bytes.subspan(static_cast<size_t>(put));
    }
    return ok();
  };
  image::LayerTar tar = TRY_VALUE(image::write_layer_tar(store.layer_dir(diff_id), true, sink));
  if (tar.diff_id != diff_id) {
    // The store keeps a layer's files, not its tar: a tar another tool
    // wrote (GNU tar's, Go's) is not made again byte for byte (Docker
    // keeps tar-split data for that; berth does not yet).
    return make_error("layer {}: a tar of its files has digest {}, not its diff_id: the layer was changed on disk, "
                      "or its tar was not written as berth writes one and no compressed blob of it is known "
                      "(pull the image from a registry to push it elsewhere)",
                      diff_id, tar.diff_id);
  }
  return std::pair{std::move(fd), std::move(tar)};
}

// Step 3 of push.h: a blob made from the layer directory, uploaded
// (through upload_url when a refused mount opened a session already).
Result<Descriptor> upload_layer(image::Store& store, Target& target, const std::string& diff_id,
                                std::optional<std::string> upload_url, PushObserver& observer) {
  auto [fd, tar] = TRY_VALUE(make_layer_blob(store, diff_id));
  Descriptor blob{target.oci ? kOciLayerGzip : kDockerLayerGzip, tar.digest, tar.size};
  bool exists = !upload_url && TRY_VALUE(target.client.has_blob(blob.digest));
  if (exists) {
    observer.layer(diff_id, PushStatus::kAlreadyExists, "");
  } else {
    observer.layer(diff_id, PushStatus::kPushing, "");
    if (!upload_url) upload_url = *TRY_VALUE(target.client.start_upload());
    TRY(target.client.put_blob(*upload_url, blob, file_source(fd.get())));
    observer.layer(diff_id, PushStatus::kPushed, "");
  }
  auto lock = TRY_VALUE(store.lock());
  TRY(store.remember_layer_blob(diff_id, {blob.digest, blob.media_type, blob.size, {}}, target.repository));
  return blob;
}

// One layer: a remembered blob the repository has or can mount, else a
// new one (push.h). preferred: the blob the pulled manifest names, tried
// first.
Result<Descriptor> push_layer(image::Store& store, Target& target, const std::string& diff_id,
                              const std::string& preferred, PushObserver& observer) {
  auto blobs = TRY_VALUE(store.layer_blobs(diff_id));
  std::stable_partition(blobs.begin(), blobs.end(), [&](const image::LayerBlob& b) { return b.digest == preferred; });
  std::optional<std::string> session;
  for (const image::LayerBlob& known : blobs) {
    std::string type = layer_type_for(known.media_type, target.oci);
    if (type.empty()) continue;
    Descriptor blob{type, known.digest, known.size};
    if (TRY_VALUE(target.client.has_blob(blob.digest))) {
      observer.layer(diff_id, PushStatus::kAlreadyExists, "");
      return blob;
    }
    std::string from = mount_source(known, target);
    if (from.empty() || session) continue;
    target.client.add_scope(repository_scope(from, "pull"));
    session = TRY_VALUE(target.client.start_upload(blob.digest, from));
    if (!session) {
      observer.layer(diff_id, PushStatus::kMounted, from);
      auto lock = TRY_VALUE(store.lock());
      TRY(store.remember_layer_blob(diff_id, known, target.repository));
      return blob;
    }
  }
  return upload_layer(store, target, diff_id, std::move(session), observer);
}

Status push_config(Target& target, const Descriptor& config, const std::string& bytes) {
  if (TRY_VALUE(target.client.has_blob(config.digest))) return ok();
  std::string upload_url = *TRY_VALUE(target.client.start_upload());
  return target.client.put_blob(upload_url, config, string_source(bytes));
}

json descriptor_json(const Descriptor& d) {
  return {{"mediaType", d.media_type}, {"size", d.size}, {"digest", d.digest}};
}

// The pulled manifest, if every layer went up as the blob it names (and
// the format asked for is its own); else a new one.
image::ImageManifest manifest_for(const std::optional<image::ImageManifest>& pulled, const std::vector<Descriptor>& layers,
                                  const Descriptor& config, const PushOptions& options) {
  if (pulled) {
    json document = json::parse(pulled->bytes, nullptr, false);
    bool same_format = options.format == PushFormat::kDefault ||
                       (options.format == PushFormat::kOci) == (pulled->media_type == kOciManifest);
    bool same = same_format && document.is_object() && document.contains("layers") &&
                document["layers"].is_array() && document["layers"].size() == layers.size() &&
                document.contains("config") && document["config"].value("digest", "") == config.digest;
    for (size_t i = 0; same && i < layers.size(); ++i) same = document["layers"][i].value("digest", "") == layers[i].digest;
    if (same) return *pulled;
  }
  bool oci = options.format == PushFormat::kOci;
  json document = {{"schemaVersion", 2}, {"mediaType", oci ? kOciManifest : kDockerManifest}};
  document["config"] = descriptor_json(config);
  document["layers"] = json::array();
  for (const Descriptor& layer : layers) document["layers"].push_back(descriptor_json(layer));
  return {oci ? kOciManifest : kDockerManifest, document.dump(3)};
}

// The registry's own endpoint that answers (HTTPS, then plain HTTP for an
// insecure one), with a client asking for push.
Result<Client> connect(const RegistriesConfig& registries, const CredentialsFor& credentials,
                       const image::Reference& reference) {
  auto endpoints = TRY_VALUE(registries.registry_endpoints(reference.domain));
  auto creds = TRY_VALUE(credentials(reference.domain));
  std::optional<Error> last;
  for (const Endpoint& endpoint : endpoints) {
    Client client(endpoint, reference.path, "pull,push", creds);
    auto response = client.ping();
    if (response) return client;
    if (response.error().errno_value() == EACCES) return std::move(response.error());
    last = std::move(response.error());
  }
  return last->add_context(fmt::format("push to {}", reference.domain));
}

}  // namespace

Result<PushResult> push_image(image::Store& store, const RegistriesConfig& registries,
                              const CredentialsFor& credentials, const image::Reference& reference,
                              const PushOptions& options, PushObserver& observer) {
  if (reference.tag.empty()) return make_error("push {}: a digest cannot be pushed to, name a tag", reference.string());
  image::Image image = TRY_VALUE(store.find_image(reference.familiar_name() + ":" + reference.tag));
  std::string config_bytes = TRY_VALUE(store.config_bytes(image.id));
  auto pulled = TRY_VALUE(store.image_manifest(image.id));
  Target target{TRY_VALUE(connect(registries, credentials, reference)), reference.domain,
                reference.domain + "/" + reference.path, options.format == PushFormat::kOci};
  json pulled_document = pulled ? json::parse(pulled->bytes, nullptr, false) : json();
  std::set<std::string> seen;
  for (const std::string& diff_id : image.layers)
    if (seen.insert(diff_id).second) observer.layer(diff_id, PushStatus::kPreparing, "");
  std::vector<Descriptor> layers;
  for (size_t i = 0; i < image.layers.size(); ++i) {
    std::string preferred;
    if (pulled_document.is_object() && pulled_document.contains("layers") && pulled_document["layers"].is_array() &&
        i < pulled_document["layers"].size())
      preferred = pulled_document["layers"][i].value("digest", "");
    layers.push_back(TRY_VALUE(push_layer(store, target, image.layers[i], preferred, observer)));
  }
  Descriptor config{target.oci ? kOciConfig : kDockerConfig, image.id, config_bytes.size()};
  TRY(push_config(target, config, config_bytes));
  image::ImageManifest manifest = manifest_for(pulled, layers, config, options);
  PushResult result{reference.tag, "", manifest.bytes.size()};
  result.digest = TRY_VALUE(target.client.put_manifest(reference.tag, manifest.media_type, manifest.bytes));
  auto lock = TRY_VALUE(store.lock());
  TRY(store.add_repo_digest(image.id, reference.familiar_name() + "@" + result.digest));
  return result;
}

}  // namespace berth::registry
