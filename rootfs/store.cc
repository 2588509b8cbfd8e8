#include "rootfs/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/c_handle.h"
#include "core/clock.h"
#include "core/defer.h"
#include "core/files.h"
#include "rootfs/digest.h"
#include "rootfs/reference.h"

namespace berth::image {

namespace {

using nlohmann::json;

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Result<json> read_json(const std::string& path) {
  auto text = TRY_VALUE(read_file(path));
  json document = json::parse(text, nullptr, false);
  if (document.is_discarded()) return make_error("{}: not valid JSON", path);
  return document;
}

Result<std::vector<std::string>> list_dir(const std::string& path, bool hidden = false) {
  std::vector<std::string> names;
  CHandle<DIR, closedir> dir(::opendir(path.c_str()));
  if (!dir) return sys_error("open directory {}", path);
  while (struct dirent* entry = ::readdir(dir.get())) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (hidden || name[0] != '.') names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

Result<std::string> normalize_reference(const std::string& reference) {
  auto parsed = TRY_VALUE(parse_reference(reference));
  // Docker resolves a reference with both a tag and a digest by the digest.
  if (!parsed.digest.empty()) return parsed.familiar_name() + "@" + parsed.digest;
  return parsed.familiar_name() + ":" + parsed.tag;
}

Result<std::string> normalize_tag(const std::string& reference) {
  auto key = TRY_VALUE(normalize_reference(reference));
  if (key.find('@') != std::string::npos)
    return make_error("refusing to create a tag with a digest reference: \"{}\"", reference);
  return key;
}

Result<Store> Store::open(const std::string& root) {
  TRY(make_directories(root + "/layers", 0700));
  TRY(make_directories(root + "/images", 0700));
  return Store(root);
}

Result<StoreLock> Store::lock() const {
  auto fd = TRY_VALUE(lock_file(root_ + "/store.lock", O_RDWR | O_CREAT));
  // Layers are extracted only under this lock: a temp dir seen now is what
  // an import that was killed left behind.
  for (const std::string& name : TRY_VALUE(list_dir(root_ + "/layers", true)))
    if (name.rfind(".extract-", 0) == 0) TRY(remove_tree(root_ + "/layers/" + name));
  return StoreLock(std::move(fd));
}

std::string Store::layer_dir(const std::string& diff_id) const {
  return root_ + "/layers/" + digest_hex(diff_id);
}

bool Store::has_layer(const std::string& diff_id) const {
  return is_sha256_digest(diff_id) && exists(layer_dir(diff_id));
}

Result<ExtractStats> Store::add_layer(const std::string& diff_id, const LayerReader& reader,
                                      const std::string& expected_input_digest) {
  if (!is_sha256_digest(diff_id)) return make_error("layer digest \"{}\" is not sha256", diff_id);
  if (has_layer(diff_id)) return ExtractStats{};
  std::string tmp_template = root_ + "/layers/.extract-XXXXXX";
  if (!::mkdtemp(tmp_template.data())) return sys_error("make a directory in {}/layers", root_);
  std::string tmp = tmp_template;
  Defer remove_tmp([&] { (void)remove_tree(tmp); });
  if (::chmod(tmp.c_str(), 0755) < 0) return sys_error("chmod {}", tmp);
  auto stats = TRY_VALUE(extract_layer(reader, tmp));
  if (!expected_input_digest.empty() && stats.input_digest != expected_input_digest)
    return make_error("layer {}: its content has digest {}, not {}", diff_id, stats.input_digest,
                      expected_input_digest);
  if (stats.content_digest != diff_id)
    return make_error("layer {}: its uncompressed content has digest {}, not the diff_id its image names",
                      diff_id, stats.content_digest);
  std::string target = layer_dir(diff_id);
  // Another import may have finished the same layer meanwhile: keep theirs.
  if (::rename(tmp.c_str(), target.c_str()) < 0 && errno != EEXIST && errno != ENOTEMPTY)
    return sys_error("rename {} to {}", tmp, target);
  TRY(write_file_atomic(target + ".json",
                        json{{"size", stats.bytes}, {"entries", stats.entries}}.dump()));
  return stats;
}

Result<std::vector<LayerBlob>> Store::layer_blobs(const std::string& diff_id) const {
  if (!has_layer(diff_id)) return Error(fmt::format("no such layer: {}", diff_id), ENOENT);
  auto meta = TRY_VALUE(read_json(layer_dir(diff_id) + ".json"));
  std::vector<LayerBlob> blobs;
  for (const json& node : meta.value("blobs", json::array())) {
    if (!node.is_object() || !is_sha256_digest(node.value("digest", ""))) continue;
    blobs.push_back({node.value("digest", ""), node.value("mediaType", ""),
                     node.value("size", uint64_t{0}),
                     node.value("repositories", std::vector<std::string>{})});
  }
  return blobs;
}

Status Store::remember_layer_blob(const std::string& diff_id, const LayerBlob& blob,
                                  const std::string& repository) {
  if (!is_sha256_digest(blob.digest)) return make_error("blob digest \"{}\" is not sha256", blob.digest);
  if (!has_layer(diff_id)) return Error(fmt::format("no such layer: {}", diff_id), ENOENT);
  std::string path = layer_dir(diff_id) + ".json";
  json meta = TRY_VALUE(read_json(path));
  json& blobs = meta["blobs"];
  if (!blobs.is_array()) blobs = json::array();
  auto known = std::find_if(blobs.begin(), blobs.end(),
                            [&](const json& node) { return node.value("digest", "") == blob.digest; });
  if (known == blobs.end()) {
    blobs.push_back({{"digest", blob.digest}, {"mediaType", blob.media_type}, {"size", blob.size},
                     {"repositories", json::array()}});
    known = blobs.end() - 1;
  }
  json& repositories = (*known)["repositories"];
  if (!repositories.is_array()) repositories = json::array();
  if (!repository.empty() && std::find(repositories.begin(), repositories.end(), repository) == repositories.end())
    repositories.push_back(repository);
  return write_file_atomic(path, meta.dump());
}

std::string Store::image_file(const std::string& id) const {
  return root_ + "/images/" + digest_hex(id) + ".json";
}

Status Store::update_image_record(const std::string& id, const std::function<void(json&)>& change) {
  if (!is_sha256_digest(id)) return make_error("invalid image id \"{}\"", id);
  json record = TRY_VALUE(read_json(image_file(id)));
  change(record);
  return write_file_atomic(image_file(id), record.dump() + "\n", 0600);
}

Status Store::add_repo_digest(const std::string& image_id, const std::string& repo_digest) {
  size_t at = repo_digest.find('@');
  if (at == std::string::npos || !is_sha256_digest(repo_digest.substr(at + 1)))
    return make_error("repo digest \"{}\" is not NAME@sha256:<hex>", repo_digest);
  return update_image_record(image_id, [&](json& record) {
    std::vector<std::string> digests = record.value("repo_digests", std::vector<std::string>{});
    std::string name = repo_digest.substr(0, at + 1);
    std::erase_if(digests, [&](const std::string& d) { return d.starts_with(name); });
    digests.push_back(repo_digest);
    std::sort(digests.begin(), digests.end());
    record["repo_digests"] = digests;
  });
}

Result<std::string> Store::config_bytes(const std::string& image_id) const {
  if (!is_sha256_digest(image_id)) return make_error("invalid image id \"{}\"", image_id);
  json record = TRY_VALUE(read_json(image_file(image_id)));
  if (record.contains("config_bytes") && record["config_bytes"].is_string()) return record["config_bytes"].get<std::string>();
  // A store from before config bytes were kept: the parsed config may
  // still serialize to them (a compact config with sorted keys).
  std::string dumped = record.value("config", json::object()).dump();
  if (sha256_digest(dumped) == image_id) return dumped;
  return make_error("image {}: the store has not kept its config's exact bytes (pull or import it again)", image_id);
}

Status Store::remember_manifest(const std::string& image_id, const ImageManifest& manifest) {
  return update_image_record(image_id, [&](json& record) {
    record["manifest"] = {{"mediaType", manifest.media_type}, {"bytes", manifest.bytes}};
  });
}

Result<std::optional<ImageManifest>> Store::image_manifest(const std::string& image_id) const {
  if (!is_sha256_digest(image_id)) return make_error("invalid image id \"{}\"", image_id);
  json record = TRY_VALUE(read_json(image_file(image_id)));
  const json& node = record.contains("manifest") ? record["manifest"] : json();
  if (!node.is_object() || !node.contains("bytes") || !node["bytes"].is_string()) return std::optional<ImageManifest>();
  return std::optional<ImageManifest>(ImageManifest{node.value("mediaType", ""), node["bytes"]});
}

Result<json> Store::load_repositories() const {
  std::string path = root_ + "/repositories.json";
  if (!exists(path)) return json::object();
  auto repositories = TRY_VALUE(read_json(path));
  if (!repositories.is_object()) return make_error("{}: not a JSON object", path);
  // Stores written before names were normalized may key "python:3" as
  // "docker.io/library/python:3"; such a key reads as its familiar form and
  // is written back so by the next change.
  json keyed = json::object();
  for (const auto& [key, id] : repositories.items()) {
    auto normalized = normalize_reference(key);
    keyed[normalized ? normalized.value() : key] = id;
  }
  return keyed;
}

Status Store::save_repositories(const json& repositories) const {
  return write_file_atomic(root_ + "/repositories.json", repositories.dump(2) + "\n", 0600);
}

Result<Image> Store::load_image(const std::string& id, const json& repositories) const {
  if (!is_sha256_digest(id)) return make_error("invalid image id \"{}\"", id);
  std::string path = root_ + "/images/" + digest_hex(id) + ".json";
  auto record = TRY_VALUE(read_json(path));
  Image image;
  image.id = id;
  image.config = record.value("config", json::object());
  image.layers = record.value("layers", std::vector<std::string>{});
  image.imported = record.value("imported", "");
  image.repo_digests = record.value("repo_digests", std::vector<std::string>{});
  for (const std::string& layer : image.layers) {
    auto meta = read_json(layer_dir(layer) + ".json");
    if (meta) image.size += meta->value("size", uint64_t{0});
  }
  for (const auto& [tag, target] : repositories.items())
    if (target == id) image.tags.push_back(tag);
  return image;
}

Result<Image> Store::add_image(const std::string& config_bytes,
                               const std::vector<std::string>& tags) {
  json config = json::parse(config_bytes, nullptr, false);
  if (config.is_discarded() || !config.is_object())
    return make_error("image config is not a JSON object");
  const json& diff_ids =
      config.contains("rootfs") ? config["rootfs"].value("diff_ids", json::array()) : json::array();
  std::vector<std::string> layers;
  for (const json& diff_id : diff_ids) {
    if (!diff_id.is_string() || !is_sha256_digest(diff_id.get<std::string>()))
      return make_error("image config: rootfs.diff_ids: \"{}\" is not a sha256 digest",
                        diff_id.dump());
    if (!has_layer(diff_id))
      return make_error("image config: layer {} is not in the store", diff_id.dump());
    layers.push_back(diff_id);
  }
  if (layers.empty()) return make_error("image config: rootfs.diff_ids lists no layers");
  std::string id = sha256_digest(config_bytes);
  json record = {{"config", config},
                 {"config_bytes", config_bytes},
                 {"layers", layers},
                 {"imported", rfc3339_now(false)}};
  std::string path = image_file(id);
  // The same image again (pulled from elsewhere) keeps where it is known.
  if (auto previous = read_json(path); previous) {
    for (const char* kept : {"repo_digests", "manifest"})
      if (previous->contains(kept)) record[kept] = (*previous)[kept];
  }
  TRY(write_file_atomic(path, record.dump() + "\n", 0600));
  auto repositories = TRY_VALUE(load_repositories());
  for (const std::string& tag : tags) repositories[TRY_VALUE(normalize_tag(tag))] = id;
  TRY(save_repositories(repositories));
  return load_image(id, repositories);
}

Result<Image> Store::find_image(const std::string& reference) const {
  auto repositories = TRY_VALUE(load_repositories());
  auto key = normalize_reference(reference);
  if (key && repositories.contains(key.value()))
    return load_image(repositories[key.value()], repositories);
  // An id, with or without "sha256:", or a prefix of one at least 4 long
  // (`berth tag 0e5679ebf079 ...`): a name that is not a tag may be one.
  std::string prefix = reference.rfind("sha256:", 0) == 0 ? reference.substr(7) : reference;
  bool id_like = prefix.size() >= 4 && std::all_of(prefix.begin(), prefix.end(), ::isxdigit);
  if (id_like) {
    auto files = TRY_VALUE(list_dir(root_ + "/images"));
    std::vector<std::string> matches;
    for (const std::string& file : files)
      if (file.rfind(prefix, 0) == 0 && file.size() == 64 + 5)
        matches.push_back(file.substr(0, 64));
    if (matches.size() > 1) return make_error("image id prefix \"{}\" is ambiguous", reference);
    if (matches.size() == 1) return load_image("sha256:" + matches[0], repositories);
  }
  if (!key && !id_like) return std::move(key.error());
  return Error(fmt::format("no such image: {}", reference), ENOENT);
}

Result<Image> Store::tag_image(const std::string& source, const std::string& tag) {
  std::string key = TRY_VALUE(normalize_tag(tag));
  Image image = TRY_VALUE(find_image(source));
  auto repositories = TRY_VALUE(load_repositories());
  repositories[key] = image.id;
  TRY(save_repositories(repositories));
  return load_image(image.id, repositories);
}

Result<std::vector<Image>> Store::list_images() const {
  auto repositories = TRY_VALUE(load_repositories());
  std::vector<Image> images;
  for (const std::string& file : TRY_VALUE(list_dir(root_ + "/images"))) {
    if (file.size() != 64 + 5 || file.substr(64) != ".json") continue;
    images.push_back(TRY_VALUE(load_image("sha256:" + file.substr(0, 64), repositories)));
  }
  return images;
}

Result<std::vector<std::string>> Store::remove_image(const std::string& reference,
                                                     const std::vector<std::string>& in_use) {
  auto image = TRY_VALUE(find_image(reference));
  auto repositories = TRY_VALUE(load_repositories());
  std::vector<std::string> removed;
  auto name = normalize_reference(reference);
  bool by_tag = name && repositories.contains(name.value());
  bool last = !by_tag || image.tags.size() <= 1;
  if (last && std::find(in_use.begin(), in_use.end(), image.id) != in_use.end())
    return make_error("image {} is used by a container: remove the container first (berth rm)",
                      reference);
  if (by_tag) {
    repositories.erase(name.value());
    removed.push_back("Untagged: " + name.value());
  } else {
    for (const std::string& tag : image.tags) {
      repositories.erase(tag);
      removed.push_back("Untagged: " + tag);
    }
  }
  TRY(save_repositories(repositories));
  if (!last) return removed;

  TRY(remove_tree(root_ + "/images/" + digest_hex(image.id) + ".json"));
  removed.push_back("Deleted: " + image.id);
  // Layers no remaining image lists go too.
  std::set<std::string> used;
  for (const Image& other : TRY_VALUE(list_images()))
    used.insert(other.layers.begin(), other.layers.end());
  for (const std::string& layer : image.layers) {
    if (used.count(layer)) continue;
    TRY(remove_tree(layer_dir(layer)));
    TRY(remove_tree(layer_dir(layer) + ".json"));
    removed.push_back("Deleted: " + layer);
  }
  return removed;
}

}  // namespace berth::image
