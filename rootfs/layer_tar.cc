#include "rootfs/layer_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "core/c_handle.h"
#include "core/unique_fd.h"
#include "rootfs/digest.h"

namespace berth::image {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

// The bytes libarchive writes: hashed as the tar, then (optionally)
// deflated, hashed again and handed to the sink.
class Output {
 public:
  Output(bool gzip, const ByteSink& sink) : gzip_(gzip), sink_(sink) {}
  ~Output() {
    if (deflating_) deflateEnd(&stream_);
  }

  Status start() {
    if (!gzip_) return ok();
    // windowBits 15 + 16: a gzip wrapper; zlib's default header has no
    // name and mtime 0, so the same tar always deflates to the same bytes.
    if (deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return make_error("gzip: deflateInit2 failed");
    deflating_ = true;
    return ok();
  }

  Status write(const void* data, size_t size) {
    tar_hash_.update(data, size);
    tar_size_ += size;
    if (!gzip_) return emit(data, size);
    return deflate_some(data, size, Z_NO_FLUSH);
  }

  Result<LayerTar> finish() {
    if (gzip_) TRY(deflate_some(nullptr, 0, Z_FINISH));
    return LayerTar{out_hash_.digest(), out_size_, tar_hash_.digest(), tar_size_};
  }

 private:
  Status deflate_some(const void* data, size_t size, int flush) {
    stream_.next_in = static_cast<Bytef*>(const_cast<void*>(data));
    stream_.avail_in = static_cast<uInt>(size);
    unsigned char buffer[64 * 1024];
    int status = Z_OK;
    do {
      stream_.next_out = buffer;
      stream_.avail_out = sizeof buffer;
      status = deflate(&stream_, flush);
      if (status == Z_STREAM_ERROR) return make_error("gzip: deflate failed");
      TRY(emit(buffer, sizeof buffer - stream_.avail_out));
    } while (stream_.avail_out == 0 || (flush == Z_FINISH && status != Z_STREAM_END));
    return ok();
  }

  Status emit(const void* data, size_t size) {
    if (size == 0) return ok();
    out_hash_.update(data, size);
    out_size_ += size;
    if (!sink_) return ok();
    return sink_(std::span(static_cast<const std::byte*>(data), size));
  }

  bool gzip_;
  const ByteSink& sink_;
  z_stream stream_{};
  bool deflating_ = false;
  Sha256 tar_hash_;
  Sha256 out_hash_;
  uint64_t tar_size_ = 0;
  uint64_t out_size_ = 0;
};

struct Writer {
  std::string root;
  archive* tar = nullptr;
  Output* output = nullptr;
  std::optional<Error> output_error;
  std::map<std::pair<dev_t, ino_t>, std::string> links;  // first tar path of a multiply linked file
};

la_ssize_t on_write(archive*, void* data, const void* buffer, size_t size) {
  auto& writer = *static_cast<Writer*>(data);
  if (Status status = writer.output->write(buffer, size); !status) {
    writer.output_error = status.error();
    return -1;
  }
  return static_cast<la_ssize_t>(size);
}

Error archive_failure(Writer& writer, const std::string& what) {
  if (writer.output_error) return *writer.output_error;
  return make_error("{}: {}", what, archive_error_string(writer.tar));
}

bool is_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0;
}

// The xattrs of path, sorted by name, without overlayfs's own.
Result<std::vector<std::pair<std::string, std::string>>> xattrs_of(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  ssize_t length = ::llistxattr(path.c_str(), nullptr, 0);
  if (length < 0 && errno == ENOTSUP) return out;
  if (length < 0) return sys_error("list xattrs of {}", path);
  std::string names(static_cast<size_t>(length), '\0');
  length = ::llistxattr(path.c_str(), names.data(), names.size());
  if (length < 0) return sys_error("list xattrs of {}", path);
  names.resize(static_cast<size_t>(length));
  for (size_t at = 0; at < names.size();) {
    std::string name = names.c_str() + at;
    at += name.size() + 1;
    if (name.starts_with("trusted.overlay.")) continue;
    ssize_t size = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (size < 0) return sys_error("read xattr {} of {}", name, path);
    std::string value(static_cast<size_t>(size), '\0');
    size = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (size < 0) return sys_error("read xattr {} of {}", name, path);
    value.resize(static_cast<size_t>(size));
    out.emplace_back(name, value);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool is_opaque(const std::string& path) {
  char value[2];
  ssize_t size = ::lgetxattr(path.c_str(), "trusted.overlay.opaque", value, sizeof value);
  return size == 1 && value[0] == 'y';
}

Status write_header(Writer& writer, archive_entry* entry, const std::string& name) {
  if (archive_write_header(writer.tar, entry) != ARCHIVE_OK) return archive_failure(writer, "tar header of " + name);
  return ok();
}

// An empty file with fixed metadata: a whiteout or the opaque marker.
Status write_marker(Writer& writer, const std::string& name) {
  CHandle<archive_entry, archive_entry_free> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), name.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0);
  archive_entry_set_size(entry.get(), 0);
  archive_entry_set_mtime(entry.get(), 0, 0);
  return write_header(writer, entry.get(), name);
}

Status write_contents(Writer& writer, const std::string& path, const std::string& name) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return sys_error("open {}", path);
  std::vector<char> buffer(256 * 1024);
  for (;;) {
    ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return sys_error("read {}", path);
    if (got == 0) return ok();
    if (archive_write_data(writer.tar, buffer.data(), static_cast<size_t>(got)) != got)
      return archive_failure(writer, "tar data of " + name);
  }
}

// One entry (not a whiteout) of the tree, name its path in the tar.
Status write_entry(Writer& writer, const std::string& path, const std::string& name, const struct stat& st) {
  CHandle<archive_entry, archive_entry_free> entry(archive_entry_new());
  archive_entry* e = entry.get();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_uid(e, st.st_uid);
  archive_entry_set_gid(e, st.st_gid);
  archive_entry_set_perm(e, st.st_mode & 07777);
  archive_entry_set_mtime(e, st.st_mtim.tv_sec, 0);
  bool contents = false;
  auto link = writer.links.end();
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    auto [at, first] = writer.links.try_emplace({st.st_dev, st.st_ino}, name);
    if (!first) link = at;
  }
  if (link != writer.links.end()) {
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_hardlink(e, link->second.c_str());
    archive_entry_set_size(e, 0);
  } else if (S_ISREG(st.st_mode)) {
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, st.st_size);
    contents = st.st_size > 0;
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(PATH_MAX, '\0');
    ssize_t size = ::readlink(path.c_str(), target.data(), target.size());
    if (size < 0) return sys_error("readlink {}", path);
    target.resize(static_cast<size_t>(size));
    archive_entry_set_filetype(e, AE_IFLNK);
    archive_entry_set_symlink(e, target.c_str());
  } else if (S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
    archive_entry_set_filetype(e, st.st_mode & S_IFMT);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) archive_entry_set_rdev(e, st.st_rdev);
  } else {
    return make_error("{}: a socket or unknown file type cannot go into a layer", path);
  }
  for (const auto& [key, value] : TRY_VALUE(xattrs_of(path)))
    archive_entry_xattr_add_entry(e, key.c_str(), value.data(), value.size());
  TRY(write_header(writer, e, name));
  return contents ? write_contents(writer, path, name) : ok();
}

// A directory's children, depth first, sorted by their names in the tar.
Status write_children(Writer& writer, const std::string& relative) {
  std::string dir = writer.root + (relative.empty() ? "" : "/" + relative);
  struct Child {
    std::string tar_name;  // in the tar: ".wh.NAME" for a whiteout
    std::string name;      // on disk
    struct stat st;
  };
  std::vector<Child> children;
  {
    CHandle<DIR, closedir> handle(::opendir(dir.c_str()));
    if (!handle) return sys_error("open directory {}", dir);
    while (struct dirent* d = ::readdir(handle.get())) {
      std::string name = d->d_name;
      if (name == "." || name == "..") continue;
      Child child{name, name, {}};
      if (::lstat((dir + "/" + name).c_str(), &child.st) < 0) return sys_error("stat {}/{}", dir, name);
      if (is_whiteout(child.st)) child.tar_name = std::string(kWhiteoutPrefix) + name;
      children.push_back(std::move(child));
    }
  }
  if (!relative.empty() && is_opaque(dir)) children.push_back({std::string(kOpaqueMarker), "", {}});
  std::sort(children.begin(), children.end(),
            [](const Child& a, const Child& b) { return a.tar_name < b.tar_name; });
  std::string prefix = relative.empty() ? "" : relative + "/";
  for (const Child& child : children) {
    std::string tar_path = prefix + child.tar_name;
    if (child.name.empty() || is_whiteout(child.st)) {
      TRY(write_marker(writer, tar_path));
      continue;
    }
    TRY(write_entry(writer, dir + "/" + child.name, tar_path, child.st));
    if (S_ISDIR(child.st.st_mode)) TRY(write_children(writer, prefix + child.name));
  }
  return ok();
}

}  // namespace

Result<LayerTar> write_layer_tar(const std::string& dir, bool gzip, const ByteSink& sink) {
  Output output(gzip, sink);
  TRY(output.start());
  Writer writer{.root = dir, .output = &output};
  CHandle<archive, archive_write_free> tar(archive_write_new());
  writer.tar = tar.get();
  if (archive_write_set_format_pax_restricted(tar.get()) != ARCHIVE_OK ||
      archive_write_open(tar.get(), &writer, nullptr, on_write, nullptr) != ARCHIVE_OK)
    return archive_failure(writer, "tar of " + dir);
  TRY_CTX(write_children(writer, ""), "tar of layer {}", dir);
  if (archive_write_close(tar.get()) != ARCHIVE_OK) return archive_failure(writer, "tar of " + dir);
  return output.finish();
}

}  // namespace berth::image
