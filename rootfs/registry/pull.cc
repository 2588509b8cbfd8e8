#include "rootfs/registry/pull.h"

#include <sys/utsname.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "rootfs/digest.h"
#include "rootfs/registry/client.h"

namespace berth::registry {
namespace {

using nlohmann::json;

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;

  std::string string() const { return os + "/" + architecture + (variant.empty() ? "" : "/" + variant); }
};

Result<Platform> parse_platform(const std::string& text) {
  Platform platform;
  size_t first = text.find('/');
  if (first == std::string::npos || first == 0) {
    return make_error("invalid platform \"{}\": want os/arch[/variant], e.g. linux/amd64", text);
  }
  platform.os = text.substr(0, first);
  std::string rest = text.substr(first + 1);
  size_t second = rest.find('/');
  platform.architecture = rest.substr(0, second);
  if (second != std::string::npos) platform.variant = rest.substr(second + 1);
  if (platform.architecture.empty() || platform.variant.find('/') != std::string::npos ||
      (second != std::string::npos && platform.variant.empty())) {
    return make_error("invalid platform \"{}\": want os/arch[/variant], e.g. linux/amd64", text);
  }
  return platform;
}

// Layer media types berth can unpack; foreign (non-distributable) layers
// would have to come from elsewhere, and are refused.
bool is_layer_type(const std::string& type) {
  return type == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
         type == "application/vnd.oci.image.layer.v1.tar" ||
         type == "application/vnd.oci.image.layer.v1.tar+gzip" ||
         type == "application/vnd.oci.image.layer.v1.tar+zstd";
}

Result<Descriptor> descriptor(const json& node, const std::string& where) {
  if (!node.is_object()) return make_error("{}: not an object", where);
  Descriptor d;
  if (!node.contains("digest") || !node["digest"].is_string() ||
      !image::is_sha256_digest(node["digest"].get<std::string>())) {
    return make_error("{}.digest: not a sha256 digest", where);
  }
  d.digest = node["digest"];
  if (!node.contains("size") || !node["size"].is_number_unsigned()) {
    return make_error("{}.size: not a non-negative integer", where);
  }
  d.size = node["size"];
  if (node.contains("mediaType") && node["mediaType"].is_string()) d.media_type = node["mediaType"];
  return d;
}

bool matches(const json& entry, const Platform& wanted) {
  if (!entry.is_object() || !entry.contains("platform") || !entry["platform"].is_object()) return false;
  const json& p = entry["platform"];
  if (p.value("os", "") != wanted.os || p.value("architecture", "") != wanted.architecture) return false;
  std::string variant = p.value("variant", "");
  // arm64's only variant is v8: asking for none or for v8 takes either.
  if (wanted.architecture == "arm64" && (wanted.variant.empty() || wanted.variant == "v8")) {
    return variant.empty() || variant == "v8";
  }
  return wanted.variant.empty() || variant == wanted.variant;
}

// From an index, the manifest of the platform; a manifest stays as it is.
Result<Manifest> platform_manifest(Client& client, Manifest manifest, const Platform& platform) {
  if (manifest.media_type != kOciIndex && manifest.media_type != kDockerManifestList) return manifest;
  const json& entries = manifest.document.contains("manifests") ? manifest.document["manifests"] : json();
  if (!entries.is_array()) return make_error("manifest list {}: no \"manifests\" list", manifest.digest);
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!matches(entries[i], platform)) continue;
    Descriptor chosen = TRY_VALUE(descriptor(entries[i], fmt::format("manifests[{}]", i)));
    Manifest selected = TRY_VALUE(client.get_manifest(chosen.digest));
    if (selected.media_type != kOciManifest && selected.media_type != kDockerManifest) {
      return make_error("manifest {} for {}: a {} where an image manifest belongs", chosen.digest,
                        platform.string(), selected.media_type);
    }
    return selected;
  }
  return make_error("no matching manifest for {} in the manifest list entries", platform.string());
}

struct Plan {
  Descriptor config;
  std::vector<Descriptor> layers;  // bottom first
};

Result<Plan> read_plan(const Manifest& manifest) {
  const json& document = manifest.document;
  std::string where = "manifest " + manifest.digest;
  Plan plan;
  plan.config = TRY_VALUE(descriptor(document.contains("config") ? document["config"] : json(), where + ": config"));
  const json& layers = document.contains("layers") ? document["layers"] : json();
  if (!layers.is_array() || layers.empty()) return make_error("{}: no layers", where);
  for (size_t i = 0; i < layers.size(); ++i) {
    Descriptor layer = TRY_VALUE(descriptor(layers[i], fmt::format("{}: layers[{}]", where, i)));
    if (!is_layer_type(layer.media_type)) {
      return make_error("{}: layers[{}]: unsupported layer type \"{}\"", where, i, layer.media_type);
    }
    plan.layers.push_back(std::move(layer));
  }
  return plan;
}

Result<std::vector<std::string>> diff_ids_of(const json& config, size_t layers) {
  const json* ids = nullptr;
  if (config.contains("rootfs") && config["rootfs"].is_object() && config["rootfs"].contains("diff_ids")) {
    ids = &config["rootfs"]["diff_ids"];
  }
  if (!ids || !ids->is_array()) return make_error("image config: no rootfs.diff_ids");
  if (ids->size() != layers) {
    return make_error("image config lists {} diff_ids for the manifest's {} layers", ids->size(), layers);
  }
  std::vector<std::string> out;
  for (const json& id : *ids) {
    if (!id.is_string() || !image::is_sha256_digest(id.get<std::string>())) {
      return make_error("image config: rootfs.diff_ids: {} is not a sha256 digest", id.dump());
    }
    out.push_back(id);
  }
  return out;
}

// The observer behind a lock: layers report from several threads.
class Reporter {
 public:
  explicit Reporter(PullObserver& observer) : observer_(observer) {}
  void layer(const Descriptor& blob, LayerStatus status, uint64_t current = 0) {
    std::lock_guard hold(mutex_);
    observer_.layer(blob.digest, status, current, blob.size);
  }

 private:
  std::mutex mutex_;
  PullObserver& observer_;
};

// One layer, from the registry into the store.
Status pull_layer(image::Store& store, Client& client, const Descriptor& blob, const std::string& diff_id,
                  Reporter& reporter, const std::atomic<bool>& stop, const std::atomic<bool>* interrupted) {
  BlobStream stream = TRY_VALUE(client.open_blob(blob));
  auto last_report = std::chrono::steady_clock::now();
  image::LayerReader reader = [&]() -> Result<std::span<const std::byte>> {
    // A failed read fails the extraction, and the store removes its temp
    // dir: stopping here leaves nothing half-done behind.
    if (interrupted && *interrupted) return make_error("interrupted");
    if (stop) return make_error("stopped: another layer failed");
    auto block = TRY_VALUE(stream.next());
    auto now = std::chrono::steady_clock::now();
    if (block.empty()) {
      reporter.layer(blob, LayerStatus::kDownloadComplete, stream.received());
    } else if (now - last_report >= std::chrono::milliseconds(100)) {
      reporter.layer(blob, LayerStatus::kDownloading, stream.received());
      last_report = now;
    }
    return block;
  };
  TRY_CTX(store.add_layer(diff_id, reader, blob.digest), "layer {}", blob.digest);
  reporter.layer(blob, LayerStatus::kPullComplete);
  return ok();
}

// The layers the store lacks, up to options.parallel_layers at once, each
// thread with its own client (tokens are per client). The first failure
// stops the others.
Status pull_layers(image::Store& store, const Client& client, const Plan& plan,
                   const std::vector<std::string>& diff_ids, const PullOptions& options, Reporter& reporter) {
  std::vector<size_t> missing;
  std::set<std::string> queued;
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    if (store.has_layer(diff_ids[i])) {
      reporter.layer(plan.layers[i], LayerStatus::kAlreadyExists);
    } else if (queued.insert(diff_ids[i]).second) {
      reporter.layer(plan.layers[i], LayerStatus::kPullingFsLayer);
      missing.push_back(i);
    }
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex failure_mutex;
  std::optional<Error> failure;
  auto work = [&] {
    Client own = client;
    for (size_t at; !stop && (at = next++) < missing.size();) {
      size_t i = missing[at];
      if (Status status = pull_layer(store, own, plan.layers[i], diff_ids[i], reporter, stop, options.interrupted);
          !status) {
        std::lock_guard hold(failure_mutex);
        if (!failure) failure = status.error();
        stop = true;
      }
    }
  };
  size_t threads = std::min<size_t>(std::max(options.parallel_layers, 1), missing.size());
  {
    std::vector<std::jthread> workers;
    for (size_t t = 1; t < threads; ++t) workers.emplace_back(work);
    work();
  }
  if (failure) return *failure;
  return ok();
}

struct Source {
  Client client;
  Manifest manifest;
};

// The first endpoint that answers for the manifest: mirrors, then the
// registry. A mirror's failure of any kind moves on; the registry's own
// answer (not found, denied) is final.
Result<Source> find_manifest(const RegistriesConfig& registries, const CredentialsFor& credentials,
                             const image::Reference& reference) {
  auto endpoints = TRY_VALUE(registries.pull_endpoints(reference.domain));
  auto creds = TRY_VALUE(credentials(reference.domain));
  std::string wanted = reference.digest.empty() ? reference.tag : reference.digest;
  std::optional<Error> last;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    Client client(endpoints[i], reference.path, "pull", endpoints[i].mirror ? std::nullopt : creds);
    auto manifest = client.get_manifest(wanted);
    if (manifest) return Source{std::move(client), std::move(*manifest)};
    bool more = i + 1 < endpoints.size();
    bool unreachable = manifest.error().errno_value() != EACCES && manifest.error().errno_value() != ENOENT;
    if (!more || (!endpoints[i].mirror && !unreachable)) {
      Error error = std::move(manifest.error());
      if (error.errno_value() == EPROTO && endpoints[i].url.starts_with("https://")) {
        // The hint follows the failure (add_context would put it first). A
        // registry with a CA in certs.d gets verified TLS even when it is
        // insecure (loopback, say), so naming it insecure would not help.
        std::string hint = endpoints[i].tls.ca_file.empty()
                               ? fmt::format("is {} a plain-HTTP registry? name it in insecure-registries",
                                             reference.domain)
                               : fmt::format("is {} a plain-HTTP registry? berth speaks TLS to it because of {}",
                                             reference.domain, endpoints[i].tls.ca_file);
        return Error(fmt::format("{} ({})", error.message(), hint), EPROTO, error.kind());
      }
      return error;
    }
    last = std::move(manifest.error());
  }
  return *last;
}

// What a push needs to send nothing it need not: each layer's blob, the
// repository that has it, and the image's digest there.
Status remember_source(image::Store& store, const image::Reference& reference, const Plan& plan,
                       const std::vector<std::string>& diff_ids, const std::string& image_id,
                       const Manifest& manifest, const std::string& manifest_digest) {
  std::string repository = reference.domain + "/" + reference.path;
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    const Descriptor& blob = plan.layers[i];
    TRY(store.remember_layer_blob(diff_ids[i], {blob.digest, blob.media_type, blob.size, {}}, repository));
  }
  TRY(store.remember_manifest(image_id, {manifest.media_type, manifest.bytes}));
  return store.add_repo_digest(image_id, reference.familiar_name() + "@" + manifest_digest);
}

std::string tag_key(const image::Reference& reference) {
  return reference.tag.empty() ? "" : reference.familiar_name() + ":" + reference.tag;
}

}  // namespace

std::string host_platform() {
  struct utsname name;
  std::string machine = ::uname(&name) == 0 ? name.machine : "x86_64";
  static const std::pair<const char*, const char*> kArchitectures[] = {
      {"x86_64", "amd64"},     {"aarch64", "arm64"},  {"armv7l", "arm/v7"}, {"armv6l", "arm/v6"},
      {"i686", "386"},         {"ppc64le", "ppc64le"}, {"s390x", "s390x"},  {"riscv64", "riscv64"}};
  for (const auto& [uname_machine, architecture] : kArchitectures) {
    if (machine == uname_machine) return std::string("linux/") + architecture;
  }
  return "linux/" + machine;
}

Result<PullResult> pull_image(image::Store& store, const RegistriesConfig& registries,
                              const CredentialsFor& credentials, const image::Reference& reference,
                              const PullOptions& options, PullObserver& observer) {
  bool explicit_platform = !options.platform.empty();
  Platform platform = TRY_VALUE(parse_platform(explicit_platform ? options.platform : host_platform()));
  Source source = TRY_VALUE(find_manifest(registries, credentials, reference));
  observer.pulling(reference.digest.empty() ? reference.tag : reference.digest, reference.path);
  std::string pulled_digest = source.manifest.digest;
  Manifest manifest = TRY_VALUE(platform_manifest(source.client, std::move(source.manifest), platform));
  Plan plan = TRY_VALUE(read_plan(manifest));
  std::string config_bytes = TRY_VALUE(source.client.get_blob(plan.config, kMaxConfigBytes));
  json config = json::parse(config_bytes, nullptr, false);
  if (!config.is_object()) return make_error("image config {}: not a JSON object", plan.config.digest);
  if (explicit_platform && config.value("architecture", "") != platform.architecture) {
    return make_error("image {} was found but does not match the specified platform: wanted {}, actual: {}/{}",
                      reference.familiar_string(), platform.string(), config.value("os", ""),
                      config.value("architecture", ""));
  }
  auto diff_ids = TRY_VALUE(diff_ids_of(config, plan.layers.size()));

  auto lock = TRY_VALUE(store.lock());
  PullResult result{.manifest_digest = pulled_digest};
  std::string tag = tag_key(reference);
  if (auto current = store.find_image(tag.empty() ? plan.config.digest : tag);
      current && current->id == plan.config.digest) {
    TRY(remember_source(store, reference, plan, diff_ids, current->id, manifest, pulled_digest));
    result.image = TRY_VALUE(store.find_image(current->id));
    return result;
  }
  Reporter reporter(observer);
  TRY(pull_layers(store, source.client, plan, diff_ids, options, reporter));
  std::vector<std::string> tags;
  if (!tag.empty()) tags.push_back(tag);
  result.image = TRY_VALUE(store.add_image(config_bytes, tags));
  TRY(remember_source(store, reference, plan, diff_ids, result.image.id, manifest, pulled_digest));
  result.image = TRY_VALUE(store.find_image(result.image.id));
  result.downloaded = true;
  return result;
}

}  // namespace berth::registry
