#include "rootfs/import.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <set>

#include "core/c_handle.h"
#include "core/files.h"
#include "rootfs/digest.h"

namespace berth::image {

namespace {

using nlohmann::json;

constexpr size_t kBlockSize = 1 << 20;
// Manifests, configs and indexes are small; anything bigger is a layer.
constexpr int64_t kMaxMetadataSize = 16 << 20;

struct LayerToImport {
  std::string source_path;      // inside the source
  std::string diff_id;          // from the image config
  std::string expected_digest;  // of the bytes as stored in the source
};

struct ImageToImport {
  std::string config_bytes;
  std::vector<std::string> tags;
  std::vector<LayerToImport> layers;
};

using ArchivePtr = CHandle<struct archive, archive_read_free>;

Result<ArchivePtr> open_archive(const std::string& path, bool raw) {
  ArchivePtr archive(archive_read_new());
  archive_read_support_filter_all(archive.get());
  if (raw)
    archive_read_support_format_raw(archive.get());
  else
    archive_read_support_format_tar(archive.get());
  if (archive_read_open_filename(archive.get(), path.c_str(), kBlockSize) != ARCHIVE_OK)
    return make_error("open archive {}: {}", path, archive_error_string(archive.get()));
  return archive;
}

// Entry names of an outer archive, as the source's JSON refers to them.
std::string normalize_entry_name(std::string name) {
  while (name.rfind("./", 0) == 0) name.erase(0, 2);
  while (!name.empty() && name[0] == '/') name.erase(0, 1);
  return name;
}

LayerReader file_reader(std::shared_ptr<UniqueFd> fd, std::string path) {
  auto buffer = std::make_shared<std::vector<std::byte>>(kBlockSize);
  return [fd, path, buffer]() -> Result<std::span<const std::byte>> {
    ssize_t n;
    do {
      n = ::read(fd->get(), buffer->data(), buffer->size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("read {}", path);
    return std::span<const std::byte>(buffer->data(), static_cast<size_t>(n));
  };
}

// The files of an image source: small JSON documents by path, and layers
// streamed into the store.
class SourceFiles {
 public:
  virtual ~SourceFiles() = default;
  virtual bool has(const std::string& path) const = 0;
  virtual Result<std::string> read(const std::string& path) const = 0;
  virtual Status extract(const std::vector<LayerToImport>& layers, Store& store,
                         ImportResult& result) = 0;
};

Status add_layer_counted(Store& store, const LayerToImport& layer, const LayerReader& reader,
                         ImportResult& result) {
  auto stats = TRY_VALUE(store.add_layer(layer.diff_id, reader, layer.expected_digest));
  if (stats.entries > 0 || stats.bytes > 0) {
    result.layers_extracted++;
    result.bytes_extracted += stats.bytes;
  }
  return ok();
}

class DirectorySource : public SourceFiles {
 public:
  explicit DirectorySource(std::string dir) : dir_(std::move(dir)) {}

  bool has(const std::string& path) const override {
    struct stat st;
    return ::stat((dir_ + "/" + path).c_str(), &st) == 0;
  }
  Result<std::string> read(const std::string& path) const override {
    return read_file(dir_ + "/" + path);
  }
  Status extract(const std::vector<LayerToImport>& layers, Store& store,
                 ImportResult& result) override {
    for (const LayerToImport& layer : layers) {
      if (store.has_layer(layer.diff_id)) continue;
      std::string path = dir_ + "/" + layer.source_path;
      auto fd = std::make_shared<UniqueFd>(TRY_VALUE(open_file(path, O_RDONLY)));
      TRY_CTX(add_layer_counted(store, layer, file_reader(fd, path), result), "layer {}",
              layer.source_path);
    }
    return ok();
  }

 private:
  std::string dir_;
};

// A tar archive (docker save, or an OCI layout packed up) read twice: once
// for its small documents, once streaming each wanted layer straight from
// the outer archive into the store, with no temp copy.
class ArchiveSource : public SourceFiles {
 public:
  static Result<std::unique_ptr<ArchiveSource>> scan(const std::string& path) {
    auto source = std::unique_ptr<ArchiveSource>(new ArchiveSource(path));
    auto archive = TRY_VALUE(open_archive(path, false));
    struct archive_entry* entry;
    int status;
    while ((status = archive_read_next_header(archive.get(), &entry)) == ARCHIVE_OK) {
      if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_size(entry) > kMaxMetadataSize)
        continue;
      std::string name = normalize_entry_name(archive_entry_pathname(entry));
      std::string data(static_cast<size_t>(archive_entry_size(entry)), '\0');
      la_ssize_t n = archive_read_data(archive.get(), data.data(), data.size());
      if (n < 0 || static_cast<size_t>(n) != data.size())
        return make_error("read {} in {}: {}", name, path, archive_error_string(archive.get()));
      source->small_[name] = std::move(data);
    }
    if (status != ARCHIVE_EOF)
      return make_error("read archive {}: {}", path, archive_error_string(archive.get()));
    return source;
  }

  bool has(const std::string& path) const override { return small_.count(path) > 0; }
  Result<std::string> read(const std::string& path) const override {
    auto it = small_.find(path);
    if (it == small_.end()) return make_error("{} has no file {}", path_, path);
    return it->second;
  }

  Status extract(const std::vector<LayerToImport>& layers, Store& store,
                 ImportResult& result) override {
    std::map<std::string, const LayerToImport*> wanted;
    for (const LayerToImport& layer : layers)
      if (!store.has_layer(layer.diff_id)) wanted[layer.source_path] = &layer;
    if (wanted.empty()) return ok();
    auto archive = TRY_VALUE(open_archive(path_, false));
    struct archive* outer = archive.get();
    struct archive_entry* entry;
    int status;
    while (!wanted.empty() && (status = archive_read_next_header(outer, &entry)) == ARCHIVE_OK) {
      auto it = wanted.find(normalize_entry_name(archive_entry_pathname(entry)));
      if (it == wanted.end()) continue;
      const LayerToImport& layer = *it->second;
      LayerReader reader = [outer, &layer]() -> Result<std::span<const std::byte>> {
        const void* block;
        size_t size;
        la_int64_t offset;
        int r = archive_read_data_block(outer, &block, &size, &offset);
        if (r == ARCHIVE_EOF) return std::span<const std::byte>();
        if (r != ARCHIVE_OK)
          return make_error("read {}: {}", layer.source_path, archive_error_string(outer));
        return std::span<const std::byte>(static_cast<const std::byte*>(block), size);
      };
      TRY_CTX(add_layer_counted(store, layer, reader, result), "layer {}", layer.source_path);
      wanted.erase(it);
    }
    if (!wanted.empty())
      return make_error("{}: layer {} is missing from the archive", path_, wanted.begin()->first);
    return ok();
  }

 private:
  explicit ArchiveSource(std::string path) : path_(std::move(path)) {}
  std::string path_;
  std::map<std::string, std::string> small_;
};

Result<json> parse_document(const SourceFiles& source, const std::string& path) {
  auto text = TRY_VALUE(source.read(path));
  json document = json::parse(text, nullptr, false);
  if (document.is_discarded()) return make_error("{}: not valid JSON", path);
  return document;
}

Result<std::string> blob_path(const json& descriptor, const std::string& where) {
  std::string digest = descriptor.is_object() ? descriptor.value("digest", "") : "";
  if (!is_sha256_digest(digest))
    return make_error("{}: digest \"{}\" is not a sha256 digest", where, digest);
  return "blobs/sha256/" + digest_hex(digest);
}

// A blob whose bytes must have the digest its descriptor names.
Result<std::string> read_verified_blob(const SourceFiles& source, const json& descriptor,
                                       const std::string& where) {
  std::string path = TRY_VALUE(blob_path(descriptor, where));
  auto bytes = TRY_VALUE(source.read(path));
  if (sha256_digest(bytes) != descriptor["digest"].get<std::string>())
    return make_error("{}: {} does not match its digest", where, path);
  return bytes;
}

Result<std::vector<std::string>> config_diff_ids(const std::string& config_bytes,
                                                 const std::string& where) {
  json config = json::parse(config_bytes, nullptr, false);
  if (config.is_discarded() || !config.is_object())
    return make_error("{}: image config is not a JSON object", where);
  std::vector<std::string> diff_ids;
  if (config.contains("rootfs") && config["rootfs"].contains("diff_ids"))
    for (const json& id : config["rootfs"]["diff_ids"]) {
      if (!id.is_string() || !is_sha256_digest(id.get<std::string>()))
        return make_error("{}: rootfs.diff_ids: {} is not a sha256 digest", where, id.dump());
      diff_ids.push_back(id);
    }
  if (diff_ids.empty()) return make_error("{}: rootfs.diff_ids lists no layers", where);
  return diff_ids;
}

// docker save: manifest.json = [{"Config": path, "RepoTags": [...], "Layers": [paths]}].
Result<std::vector<ImageToImport>> read_docker_save(const SourceFiles& source) {
  auto manifest = TRY_VALUE(parse_document(source, "manifest.json"));
  if (!manifest.is_array()) return make_error("manifest.json: not a JSON array");
  std::vector<ImageToImport> images;
  for (size_t i = 0; i < manifest.size(); ++i) {
    std::string where = fmt::format("manifest.json[{}]", i);
    const json& item = manifest[i];
    if (!item.is_object() || !item.contains("Config") || !item["Config"].is_string() ||
        !item.contains("Layers") || !item["Layers"].is_array())
      return make_error("{}: needs \"Config\" and \"Layers\"", where);
    ImageToImport image;
    image.config_bytes = TRY_VALUE(source.read(item["Config"].get<std::string>()));
    for (const json& tag : item.value("RepoTags", json::array()))
      if (tag.is_string()) image.tags.push_back(tag);
    auto diff_ids = TRY_VALUE(config_diff_ids(image.config_bytes, where));
    if (diff_ids.size() != item["Layers"].size())
      return make_error("{}: {} layers but the config lists {} diff_ids", where,
                        item["Layers"].size(), diff_ids.size());
    for (size_t l = 0; l < diff_ids.size(); ++l) {
      if (!item["Layers"][l].is_string())
        return make_error("{}: Layers[{}] is not a path", where, l);
      std::string path = normalize_entry_name(item["Layers"][l]);
      // Layers are stored uncompressed (their digest is the diff_id), or,
      // since Docker 25, as OCI blobs named by their digest.
      std::string expected = diff_ids[l];
      if (path.rfind("blobs/sha256/", 0) == 0) expected = "sha256:" + path.substr(13);
      image.layers.push_back({path, diff_ids[l], expected});
    }
    images.push_back(std::move(image));
  }
  return images;
}

bool is_index_media_type(const std::string& type) {
  return type == "application/vnd.oci.image.index.v1+json" ||
         type == "application/vnd.docker.distribution.manifest.list.v2+json";
}

// The linux/amd64 entry of a multi-platform index, or its only entry.
Result<json> pick_platform(const json& index, const std::string& where) {
  const json& manifests = index.value("manifests", json::array());
  for (const json& m : manifests)
    if (m.contains("platform") && m["platform"].value("os", "") == "linux" &&
        m["platform"].value("architecture", "") == "amd64")
      return m;
  if (manifests.size() == 1) return manifests[0];
  return make_error("{}: no linux/amd64 image in the index", where);
}

std::vector<std::string> oci_names(const json& descriptor) {
  const json annotations = descriptor.value("annotations", json::object());
  std::string name = annotations.value("org.opencontainers.image.ref.name", "");
  // A bare tag ("latest") names no repository; containerd puts the full
  // name in its own annotation.
  if (name.find_first_of(":/") == std::string::npos)
    name = annotations.value("io.containerd.image.name", "");
  if (name.empty()) return {};
  return {name};
}

Result<std::vector<ImageToImport>> read_oci_layout(const SourceFiles& source) {
  auto layout = TRY_VALUE(parse_document(source, "oci-layout"));
  if (layout.value("imageLayoutVersion", "") != "1.0.0")
    return make_error("oci-layout: imageLayoutVersion is not \"1.0.0\"");
  auto index = TRY_VALUE(parse_document(source, "index.json"));
  const json& manifests = index.value("manifests", json::array());
  if (manifests.empty()) return make_error("index.json: lists no manifests");
  std::vector<ImageToImport> images;
  for (size_t i = 0; i < manifests.size(); ++i) {
    std::string where = fmt::format("index.json manifests[{}]", i);
    json descriptor = manifests[i];
    std::vector<std::string> names = oci_names(descriptor);
    if (is_index_media_type(descriptor.value("mediaType", ""))) {
      json nested =
          json::parse(TRY_VALUE(read_verified_blob(source, descriptor, where)), nullptr, false);
      if (nested.is_discarded()) return make_error("{}: index is not valid JSON", where);
      descriptor = TRY_VALUE(pick_platform(nested, where));
    }
    json manifest =
        json::parse(TRY_VALUE(read_verified_blob(source, descriptor, where)), nullptr, false);
    if (manifest.is_discarded() || !manifest.is_object() || !manifest.contains("config") ||
        !manifest.contains("layers") || !manifest["layers"].is_array())
      return make_error("{}: the manifest needs \"config\" and \"layers\"", where);
    ImageToImport image;
    image.tags = std::move(names);
    image.config_bytes =
        TRY_VALUE(read_verified_blob(source, manifest["config"], where + " config"));
    auto diff_ids = TRY_VALUE(config_diff_ids(image.config_bytes, where));
    if (diff_ids.size() != manifest["layers"].size())
      return make_error("{}: {} layers but the config lists {} diff_ids", where,
                        manifest["layers"].size(), diff_ids.size());
    for (size_t l = 0; l < diff_ids.size(); ++l) {
      const json& layer = manifest["layers"][l];
      std::string path = TRY_VALUE(blob_path(layer, fmt::format("{} layers[{}]", where, l)));
      image.layers.push_back({path, diff_ids[l], layer["digest"].get<std::string>()});
    }
    images.push_back(std::move(image));
  }
  return images;
}

// The uncompressed tar's digest (a rootfs tarball's diff_id), by reading it
// through libarchive's decompression with the "raw" format.
Result<std::string> uncompressed_digest(const std::string& path) {
  auto archive = TRY_VALUE(open_archive(path, true));
  struct archive_entry* entry;
  if (archive_read_next_header(archive.get(), &entry) != ARCHIVE_OK)
    return make_error("read {}: {}", path, archive_error_string(archive.get()));
  Sha256 hash;
  for (;;) {
    const void* block;
    size_t size;
    la_int64_t offset;
    int r = archive_read_data_block(archive.get(), &block, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK)
      return make_error("read {}: {}", path, archive_error_string(archive.get()));
    hash.update(block, size);
  }
  return hash.digest();
}

Result<ImportResult> import_rootfs_tarball(Store& store, const ImportOptions& options) {
  if (options.reference.empty()) return make_error("import --rootfs needs a NAME[:TAG]");
  std::string diff_id = TRY_VALUE(uncompressed_digest(options.path));
  ImportResult result;
  auto fd = std::make_shared<UniqueFd>(TRY_VALUE(open_file(options.path, O_RDONLY)));
  auto lock = TRY_VALUE(store.lock());
  TRY(add_layer_counted(store, {options.path, diff_id, ""}, file_reader(fd, options.path), result));
  json config = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"config", {{"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id}}}},
      {"history", {{{"created_by", "berth import --rootfs " + options.path}}}},
  };
  result.images.push_back(TRY_VALUE(store.add_image(config.dump(), {options.reference})));
  return result;
}

}  // namespace

Result<ImportResult> import_images(Store& store, const ImportOptions& options) {
  if (!options.reference.empty()) TRY(normalize_tag(options.reference));
  if (options.rootfs) return import_rootfs_tarball(store, options);

  struct stat st;
  if (::stat(options.path.c_str(), &st) < 0) return sys_error("import {}", options.path);
  std::unique_ptr<SourceFiles> source;
  if (S_ISDIR(st.st_mode))
    source = std::make_unique<DirectorySource>(options.path);
  else
    source = TRY_VALUE(ArchiveSource::scan(options.path));

  std::vector<ImageToImport> images;
  if (source->has("manifest.json"))
    images = TRY_VALUE(read_docker_save(*source));
  else if (source->has("index.json"))
    images = TRY_VALUE(read_oci_layout(*source));
  else
    return make_error(
        "{}: neither a docker save archive (no manifest.json) nor an OCI image layout (no "
        "index.json); import a root filesystem tarball with --rootfs",
        options.path);

  if (!options.reference.empty()) {
    if (images.size() != 1)
      return make_error("{} holds {} images: a NAME:TAG can rename only one", options.path,
                        images.size());
    images[0].tags = {options.reference};
  }
  for (size_t i = 0; i < images.size(); ++i)
    if (images[i].tags.empty())
      return make_error("image {} in {} has no name: give one, berth import {} NAME:TAG", i + 1,
                        options.path, options.path);

  ImportResult result;
  auto lock = TRY_VALUE(store.lock());
  std::vector<LayerToImport> layers;
  std::set<std::string> seen;
  for (const ImageToImport& image : images)
    for (const LayerToImport& layer : image.layers)
      if (seen.insert(layer.diff_id).second) layers.push_back(layer);
  TRY_CTX(source->extract(layers, store, result), "import {}", options.path);
  for (const ImageToImport& image : images)
    result.images.push_back(TRY_VALUE(store.add_image(image.config_bytes, image.tags)));
  return result;
}

}  // namespace berth::image
