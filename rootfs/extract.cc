#include "rootfs/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <semaphore>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "core/c_handle.h"
#include "core/files.h"
#include "core/unique_fd.h"
#include "rootfs/digest.h"

namespace berth::image {

namespace {

// RESOLVE_NO_SYMLINKS, not only RESOLVE_BENEATH: a layer diff never needs to
// write through a symlink (tar of a real tree has no such entry), and a
// symlink that stays inside today can be retargeted by a later entry.
constexpr uint64_t kResolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
constexpr size_t kFileBlock = size_t{1} << 20;
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";
constexpr std::string_view kAufsMetadataPrefix = ".wh..wh.";

int openat2_beneath(int dirfd, const char* path, int flags) {
  open_how how = {};
  how.flags = static_cast<__u64>(flags | O_CLOEXEC);
  how.resolve = kResolve;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

// openat2's refusals, told apart for the message: EXDEV is an escape (an
// absolute symlink or a mount crossing), ELOOP a symlink on the way.
Error resolve_error(std::string_view what, std::string_view path) {
  int saved = errno;
  if (saved == EXDEV) return make_error("{} {} escapes the layer directory", what, path);
  if (saved == ELOOP) return make_error("{} {} goes through a symlink", what, path);
  return Error::from_errno_value(fmt::format("open {} {}", what, path), saved);
}

// Writes the cleaned, relative form of an archive name into out ("./a//b/"
// becomes "a/b"); an empty result is the layer directory itself.
Status clean_name(std::string_view name, std::string& out) {
  out.clear();
  if (name.starts_with('/')) return make_error("absolute path refused");
  while (!name.empty()) {
    size_t slash = name.find('/');
    std::string_view component = name.substr(0, slash);
    name = slash == std::string_view::npos ? std::string_view() : name.substr(slash + 1);
    if (component.empty() || component == ".") continue;
    if (component == "..") return make_error("path escapes the layer directory");
    if (!out.empty()) out += '/';
    out += component;
  }
  return ok();
}

struct Metadata {
  uid_t uid;
  gid_t gid;
  mode_t mode;  // permission bits with setuid, setgid, sticky
  timespec times[2];
};

Metadata metadata_of(archive_entry* entry) {
  Metadata m;
  m.uid = static_cast<uid_t>(archive_entry_uid(entry));
  m.gid = static_cast<gid_t>(archive_entry_gid(entry));
  m.mode = archive_entry_perm(entry) & 07777;
  m.times[0] = {archive_entry_atime(entry), archive_entry_atime_nsec(entry)};
  if (!archive_entry_atime_is_set(entry)) m.times[0].tv_nsec = UTIME_OMIT;
  m.times[1] = {archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)};
  if (!archive_entry_mtime_is_set(entry)) m.times[1].tv_nsec = UTIME_OMIT;
  return m;
}

// Applies the entry's pax xattrs through set(name, value, size). overlayfs
// gives meaning to its own xattrs (redirect, metacopy, origin, opaque): a
// layer must not forge them, so they are dropped; opaque comes only from a
// ".wh..wh..opq" entry.
template <typename Set>
Status apply_xattrs(archive_entry* entry, Set set) {
  if (archive_entry_xattr_reset(entry) == 0) return ok();
  const char* name;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
    std::string_view view(name);
    if (view.starts_with("trusted.overlay.") || view.starts_with("user.overlay.")) continue;
    if (set(name, value, size) < 0) return sys_error("set xattr {}", name);
  }
  return ok();
}

// SHA-256 of a layer costs about as much CPU as GNU tar's whole extraction,
// so it runs on its own thread, on the block libarchive is working through.
class BlockHasher {
 public:
  BlockHasher() = default;
  BlockHasher(const BlockHasher&) = delete;
  BlockHasher& operator=(const BlockHasher&) = delete;
  ~BlockHasher() {
    if (!thread_.joinable()) return;
    wait();
    stop_ = true;
    work_.release();
  }

  Status start() {
    try {
      thread_ = std::jthread([this] { run(); });
    } catch (const std::system_error& e) {
      return Error(fmt::format("start the sha256 thread: {}", e.what()), e.code().value());
    }
    return ok();
  }

  void hash(std::span<const std::byte> block) {
    pending_ = block;
    busy_ = true;
    work_.release();
  }

  // Called before the reader may reuse the memory of the block being hashed.
  void wait() {
    if (busy_) idle_.acquire();
    busy_ = false;
  }

  Result<std::string> finish() {
    wait();
    return digest_.digest();
  }

 private:
  // The semaphores order every access to pending_ and stop_.
  void run() {
    for (;;) {
      work_.acquire();
      if (stop_) return;
      digest_.update(pending_.data(), pending_.size());
      idle_.release();
    }
  }

  Sha256 digest_;
  std::binary_semaphore work_{0};
  std::binary_semaphore idle_{0};
  std::span<const std::byte> pending_;
  bool busy_ = false;
  bool stop_ = false;
  std::jthread thread_;
};

// Blocks handed to a libarchive reader, hashed on the way in. Two of them
// stand in a row: the layer's bytes as stored feed the decompressor (that
// digest is the blob's), and the decompressed stream feeds the tar reader
// (that digest is the diff_id, which the store checks: a layer shared by
// diff_id must be what every image naming that diff_id expects).
class HashedInput {
 public:
  // hash false: a stream whose digest is already taken (see extract_layer).
  explicit HashedInput(LayerReader source, bool hash = true) : source_(std::move(source)), hash_(hash) {}

  Status start() { return hash_ ? hasher_.start() : ok(); }

  static la_ssize_t read(archive* a, void* self, const void** buffer) {
    auto* input = static_cast<HashedInput*>(self);
    auto block = input->next();
    if (!block) {
      archive_set_error(a, EIO, "%s", block.error().message().c_str());
      input->error_ = std::move(block.error());
      return -1;
    }
    *buffer = block->data();
    return static_cast<la_ssize_t>(block->size());
  }

  // libarchive stops at the end-of-archive blocks; the digest is of the
  // whole stream, so the rest (tar padding, trailing bytes) is read too.
  Result<std::string> finish() {
    while (!eof_) TRY(next());
    return hash_ ? hasher_.finish() : Result<std::string>(std::string());
  }

  // The source's own error is the real cause of a libarchive failure.
  Error failure(archive* a) const {
    if (error_) return *error_;
    const char* message = archive_error_string(a);
    return Error(message ? message : "unknown libarchive error", archive_errno(a));
  }

 private:
  // The source may reuse a block's memory at its next call, which comes
  // only after the hasher is done with it.
  Result<std::span<const std::byte>> next() {
    if (eof_) return std::span<const std::byte>();
    hasher_.wait();
    auto block = source_();
    if (!block) return block;
    if (block->empty()) {
      eof_ = true;
    } else {
      if (hash_) hasher_.hash(*block);
    }
    return block;
  }

  LayerReader source_;
  bool hash_;
  BlockHasher hasher_;
  std::optional<Error> error_;
  bool eof_ = false;
};

struct DirectoryMetadata {
  std::string path;
  Metadata metadata;
};

class Extractor {
 public:
  Extractor(int dest, HashedInput& input, ExtractStats& stats)
      : dest_(dest), input_(input), stats_(stats) {
    struct stat st;
    // Files we create belong to our fsuid/fsgid unless a setgid directory
    // hands down its group; only dest can be one while we extract (the
    // archive's directory modes are applied at the end).
    skip_matching_owner_ = ::fstat(dest, &st) == 0 && !(st.st_mode & S_ISGID);
  }

  Status extract(archive* a, archive_entry* entry);
  Status finish_directories();

 private:
  Result<int> open_parent(std::string_view parent);
  Result<UniqueFd> create_parents(std::string_view parent);
  Status remove_existing(int dir, const char* leaf);
  template <typename Create>
  Status create_replacing(int dir, const char* leaf, std::string_view what, Create create);
  Status whiteout(int dir, const char* leaf);
  Status make_opaque(int dir);
  Status regular_file(archive* a, archive_entry* entry, int dir, const char* leaf);
  Status write_contents(archive* a, archive_entry* entry, int fd);
  Status directory(archive_entry* entry, int dir, const char* leaf);
  Status symlink(archive_entry* entry, int dir, const char* leaf);
  Status special_file(archive_entry* entry, int dir, const char* leaf);
  Status hard_link(const char* target, int dir, const char* leaf);
  Status set_metadata_at(archive_entry* entry, int dir, const char* leaf, bool chmod);
  bool needs_chown(const Metadata& m) const {
    return chown_ && !(skip_matching_owner_ && m.uid == euid_ && m.gid == egid_);
  }

  int dest_;
  HashedInput& input_;
  ExtractStats& stats_;
  // Without CAP_CHOWN we keep our own ids, as GNU tar does for non-root.
  bool chown_ = ::geteuid() == 0;
  bool skip_matching_owner_ = false;
  uid_t euid_ = ::geteuid();
  gid_t egid_ = ::getegid();
  std::string path_;       // the entry's cleaned name
  std::string link_path_;  // a hard link's cleaned target
  std::string component_;
  // Entries of one directory come together in a tar, so one cached parent
  // saves most lookups. It stays valid: only a child of the current parent
  // is ever removed, and the parent changes before that child is used.
  std::string cached_parent_;
  UniqueFd cached_fd_;
  std::vector<DirectoryMetadata> directories_;
};

Status Extractor::extract(archive* a, archive_entry* entry) {
  const char* name = archive_entry_pathname(entry);
  if (name == nullptr) return ok();
  TRY(clean_name(name, path_));
  if (path_.empty()) return ok();
  // aufs keeps its metadata in /.wh..wh.plnk and friends: not layer content.
  if (path_.starts_with(kAufsMetadataPrefix) && path_ != kOpaqueWhiteout) return ok();

  size_t slash = path_.rfind('/');
  std::string_view parent;
  const char* leaf = path_.c_str();
  if (slash != std::string::npos) {
    // Cut the string in two NUL-terminated halves: parent and leaf.
    path_[slash] = '\0';
    parent = std::string_view(path_.data(), slash);
    leaf = path_.c_str() + slash + 1;
  }
  int dir = TRY_VALUE(open_parent(parent));
  if (slash != std::string::npos) path_[slash] = '/';
  if (std::string_view(leaf).starts_with(kWhiteoutPrefix)) return whiteout(dir, leaf);
  if (const char* target = archive_entry_hardlink(entry)) return hard_link(target, dir, leaf);

  switch (archive_entry_filetype(entry)) {
    case AE_IFREG:
      return regular_file(a, entry, dir, leaf);
    case AE_IFDIR:
      return directory(entry, dir, leaf);
    case AE_IFLNK:
      return symlink(entry, dir, leaf);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      return special_file(entry, dir, leaf);
    default:
      return make_error("unsupported file type {:o}", archive_entry_filetype(entry));
  }
}

Result<int> Extractor::open_parent(std::string_view parent) {
  if (parent.empty()) return dest_;
  if (cached_fd_ && parent == cached_parent_) return cached_fd_.get();
  cached_fd_.reset();
  // parent is NUL-terminated: extract() cut the path there.
  int fd = openat2_beneath(dest_, parent.data(), O_PATH | O_DIRECTORY);
  if (fd >= 0) {
    cached_fd_.reset(fd);
  } else if (errno == ENOENT) {
    cached_fd_ = TRY_VALUE(create_parents(parent));
  } else {
    return resolve_error("parent directory", parent);
  }
  cached_parent_.assign(parent);
  return cached_fd_.get();
}

// tar archives need not list every directory; missing ones are made 0755
// and owned by us, as tar does.
Result<UniqueFd> Extractor::create_parents(std::string_view parent) {
  UniqueFd current;
  int at = dest_;
  for (size_t start = 0;;) {
    size_t end = std::min(parent.find('/', start), parent.size());
    component_.assign(parent.substr(start, end - start));
    int fd = openat2_beneath(at, component_.c_str(), O_PATH | O_DIRECTORY);
    if (fd < 0 && errno == ENOENT) {
      if (::mkdirat(at, component_.c_str(), 0755) < 0)
        return sys_error("create directory {}", parent.substr(0, end));
      // Not left to the process umask: the layer must not depend on it.
      if (::fchmodat(at, component_.c_str(), 0755, 0) < 0)
        return sys_error("chmod directory {}", parent.substr(0, end));
      fd = openat2_beneath(at, component_.c_str(), O_PATH | O_DIRECTORY);
    }
    if (fd < 0) return resolve_error("parent directory", parent.substr(0, end));
    current.reset(fd);
    at = fd;
    if (end == parent.size()) return current;
    start = end + 1;
  }
}

// A later entry replaces an earlier one of the same name. The old name is
// never followed: unlinkat removes a symlink itself.
Status Extractor::remove_existing(int dir, const char* leaf) {
  if (::unlinkat(dir, leaf, 0) == 0) return ok();
  if (errno != EISDIR) return sys_error("remove the earlier entry {}", leaf);
  if (::unlinkat(dir, leaf, AT_REMOVEDIR) == 0) return ok();
  if (errno == ENOTEMPTY || errno == EEXIST)
    return make_error("cannot replace the non-empty directory {}", leaf);
  return sys_error("remove the earlier directory {}", leaf);
}

// create() makes leaf in dir (0 or -1 and errno); an existing leaf is
// removed and create() runs once more.
template <typename Create>
Status Extractor::create_replacing(int dir, const char* leaf, std::string_view what,
                                   Create create) {
  if (create() == 0) return ok();
  if (errno == EEXIST) {
    TRY(remove_existing(dir, leaf));
    if (create() == 0) return ok();
  }
  return sys_error("create {}", what);
}

Status Extractor::whiteout(int dir, const char* leaf) {
  std::string_view name(leaf);
  if (name == kOpaqueWhiteout) return make_opaque(dir);
  if (name.starts_with(kAufsMetadataPrefix)) return ok();
  const char* hidden = leaf + kWhiteoutPrefix.size();
  name.remove_prefix(kWhiteoutPrefix.size());
  if (name.empty() || name == "." || name == "..")
    return make_error("whiteout of {:?} refused", name);
  // overlayfs's whiteout is a 0:0 character device.
  return create_replacing(dir, hidden, "whiteout",
                          [&] { return ::mknodat(dir, hidden, S_IFCHR, makedev(0, 0)); });
}

Status Extractor::make_opaque(int dir) {
  // fsetxattr does not take an O_PATH fd.
  UniqueFd fd(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sys_error("open directory to make it opaque");
  if (::fsetxattr(fd.get(), "trusted.overlay.opaque", "y", 1, 0) < 0)
    return sys_error("set trusted.overlay.opaque");
  return ok();
}

Status Extractor::regular_file(archive* a, archive_entry* entry, int dir, const char* leaf) {
  // O_EXCL: an existing name (perhaps a symlink out of the layer, perhaps a
  // hard link shared with another file) is removed, never written through.
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd fd;
  TRY(create_replacing(dir, leaf, "file", [&] {
    fd.reset(::openat(dir, leaf, kFlags, 0600));
    return fd ? 0 : -1;
  }));
  TRY(write_contents(a, entry, fd.get()));

  // Order matters: writing data and chown both clear security.capability,
  // and chown clears setuid/setgid.
  Metadata m = metadata_of(entry);
  if (needs_chown(m) && ::fchown(fd.get(), m.uid, m.gid) < 0)
    return sys_error("chown to {}:{}", m.uid, m.gid);
  if (::fchmod(fd.get(), m.mode) < 0) return sys_error("chmod to {:o}", m.mode);
  TRY(apply_xattrs(entry, [&](const char* name, const void* value, size_t size) {
    return ::fsetxattr(fd.get(), name, value, size, 0);
  }));
  if (::futimens(fd.get(), m.times) < 0) return sys_error("set times");
  return ok();
}

Status Extractor::write_contents(archive* a, archive_entry* entry, int fd) {
  int64_t end = 0;
  for (;;) {
    const void* block;
    size_t size;
    la_int64_t offset;
    int r = archive_read_data_block(a, &block, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return input_.failure(a).add_context("read contents");
    // pwrite at libarchive's offsets leaves a sparse file's holes unwritten.
    const char* p = static_cast<const char*>(block);
    for (size_t done = 0; done < size;) {
      ssize_t n = ::pwrite(fd, p + done, size - done, offset + static_cast<int64_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_error("write contents");
      }
      done += static_cast<size_t>(n);
    }
    stats_.bytes += size;
    end = offset + static_cast<int64_t>(size);
  }
  // A sparse file may end in a hole.
  int64_t size = archive_entry_size(entry);
  if (end < size && ::ftruncate(fd, size) < 0) return sys_error("extend to {} bytes", size);
  return ok();
}

Status Extractor::directory(archive_entry* entry, int dir, const char* leaf) {
  // Made 0700 now; owner, mode and times come at the end, after the
  // children (which change the mtime, and which a 0555 mode would forbid
  // to an unprivileged extractor).
  if (::mkdirat(dir, leaf, 0700) < 0) {
    if (errno != EEXIST) return sys_error("create directory");
    struct stat st;
    if (::fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0) return sys_error("stat");
    if (!S_ISDIR(st.st_mode)) {
      TRY(remove_existing(dir, leaf));
      if (::mkdirat(dir, leaf, 0700) < 0) return sys_error("create directory");
    }
  }
  if (archive_entry_xattr_count(entry) > 0) {
    UniqueFd fd(::openat(dir, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return sys_error("open directory");
    TRY(apply_xattrs(entry, [&](const char* name, const void* value, size_t size) {
      return ::fsetxattr(fd.get(), name, value, size, 0);
    }));
  }
  directories_.push_back({path_, metadata_of(entry)});
  return ok();
}

Status Extractor::symlink(archive_entry* entry, int dir, const char* leaf) {
  // The target is data: it is stored as given and never resolved here.
  const char* target = archive_entry_symlink(entry);
  if (target == nullptr || *target == '\0') return make_error("symlink without a target");
  TRY(create_replacing(dir, leaf, "symlink", [&] { return ::symlinkat(target, dir, leaf); }));
  return set_metadata_at(entry, dir, leaf, false);
}

Status Extractor::special_file(archive_entry* entry, int dir, const char* leaf) {
  mode_t type = archive_entry_filetype(entry);
  dev_t device = type == AE_IFIFO
                     ? 0
                     : makedev(archive_entry_rdevmajor(entry), archive_entry_rdevminor(entry));
  TRY(create_replacing(dir, leaf, "device or fifo",
                       [&] { return ::mknodat(dir, leaf, type | 0600, device); }));
  return set_metadata_at(entry, dir, leaf, true);
}

Status Extractor::hard_link(const char* target, int dir, const char* leaf) {
  TRY_CTX(clean_name(target, link_path_), "hard link to {:?}", target);
  if (link_path_.empty()) return make_error("hard link to the layer directory refused");
  size_t slash = link_path_.rfind('/');
  UniqueFd target_dir;
  const char* target_leaf = link_path_.c_str();
  if (slash != std::string::npos) {
    link_path_[slash] = '\0';
    target_dir.reset(openat2_beneath(dest_, link_path_.c_str(), O_PATH | O_DIRECTORY));
    if (!target_dir) return resolve_error("hard link target's directory", link_path_.c_str());
    target_leaf += slash + 1;
  }
  int from = target_dir ? target_dir.get() : dest_;
  // Flags 0: a symlink target is linked itself, never followed.
  Status linked = create_replacing(dir, leaf, "hard link",
                                   [&] { return ::linkat(from, target_leaf, dir, leaf, 0); });
  if (!linked && linked.error().errno_value() == ENOENT)
    return make_error("hard link target {:?} is not in the layer", target);
  return linked;
}

// For symlinks and device nodes, which cannot be opened for fchown and
// fsetxattr. chown first: it clears setuid and setgid.
Status Extractor::set_metadata_at(archive_entry* entry, int dir, const char* leaf, bool chmod) {
  Metadata m = metadata_of(entry);
  if (needs_chown(m) && ::fchownat(dir, leaf, m.uid, m.gid, AT_SYMLINK_NOFOLLOW) < 0)
    return sys_error("chown to {}:{}", m.uid, m.gid);
  // We just made the node, so the name is no symlink; AT_SYMLINK_NOFOLLOW
  // would only add glibc's O_PATH and /proc round trip.
  if (chmod && ::fchmodat(dir, leaf, m.mode, 0) < 0) return sys_error("chmod to {:o}", m.mode);
  if (archive_entry_xattr_count(entry) > 0) {
    // Our own fd's /proc entry names the directory with no lookup of the
    // layer's names.
    std::string path = fmt::format("/proc/self/fd/{}/{}", dir, leaf);
    TRY(apply_xattrs(entry, [&](const char* name, const void* value, size_t size) {
      return ::lsetxattr(path.c_str(), name, value, size, 0);
    }));
  }
  if (::utimensat(dir, leaf, m.times, AT_SYMLINK_NOFOLLOW) < 0) return sys_error("set times");
  return ok();
}

Status Extractor::finish_directories() {
  for (const DirectoryMetadata& d : directories_) {
    const Metadata& m = d.metadata;
    UniqueFd fd(openat2_beneath(dest_, d.path.c_str(), O_RDONLY | O_DIRECTORY));
    // A later entry replaced it (by a file, a symlink or a whiteout).
    if (!fd && (errno == ENOTDIR || errno == ELOOP)) continue;
    if (!fd) return resolve_error("directory", d.path);
    if (needs_chown(m) && ::fchown(fd.get(), m.uid, m.gid) < 0)
      return sys_error("{}: chown to {}:{}", d.path, m.uid, m.gid);
    if (::fchmod(fd.get(), m.mode) < 0) return sys_error("{}: chmod to {:o}", d.path, m.mode);
    if (::futimens(fd.get(), m.times) < 0) return sys_error("{}: set times", d.path);
  }
  return ok();
}

using ArchivePtr = CHandle<archive, archive_read_free>;

Result<ArchivePtr> new_archive() {
  ArchivePtr a(archive_read_new());
  if (!a) return make_error("archive_read_new: out of memory");
  return a;
}

// The blob decompressed, as one "raw" entry; null for an empty blob (no
// entry at all), which is an empty layer.
Result<ArchivePtr> open_decompressor(HashedInput& input) {
  ArchivePtr a = TRY_VALUE(new_archive());
  // Only the filters of image layers, and no external-program filters:
  // archive_read_support_filter_all would fork lzop, lrzip and others on
  // untrusted input.
  if (archive_read_support_format_raw(a.get()) != ARCHIVE_OK ||
      archive_read_support_format_empty(a.get()) != ARCHIVE_OK ||
      archive_read_support_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_read_support_filter_zstd(a.get()) != ARCHIVE_OK ||
      archive_read_support_filter_xz(a.get()) != ARCHIVE_OK)
    return make_error("libarchive lacks raw, gzip, zstd or xz: {}", archive_error_string(a.get()));
  if (archive_read_open(a.get(), &input, nullptr, &HashedInput::read, nullptr) != ARCHIVE_OK)
    return input.failure(a.get()).add_context("open layer");
  archive_entry* entry;
  int r = archive_read_next_header(a.get(), &entry);
  if (r == ARCHIVE_EOF) return ArchivePtr();
  if (r < ARCHIVE_WARN) return input.failure(a.get()).add_context("open layer");
  return a;
}

// The decompressor's blocks, each valid until the next call; none for an
// empty blob (no decompressor).
LayerReader decompressed_blocks(archive* decompressor, const HashedInput& blob) {
  return [decompressor, &blob]() -> Result<std::span<const std::byte>> {
    const void* data = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r = decompressor ? archive_read_data_block(decompressor, &data, &size, &offset) : ARCHIVE_EOF;
    if (r == ARCHIVE_EOF) return std::span<const std::byte>();
    if (r < ARCHIVE_WARN) return blob.failure(decompressor).add_context("decompress layer");
    return std::span<const std::byte>(static_cast<const std::byte*>(data), size);
  };
}

Result<ArchivePtr> open_tar(HashedInput& input) {
  ArchivePtr a = TRY_VALUE(new_archive());
  if (archive_read_support_format_tar(a.get()) != ARCHIVE_OK ||
      archive_read_support_format_empty(a.get()) != ARCHIVE_OK)
    return make_error("libarchive lacks tar: {}", archive_error_string(a.get()));
  if (archive_read_open(a.get(), &input, nullptr, &HashedInput::read, nullptr) != ARCHIVE_OK)
    return input.failure(a.get()).add_context("open layer");
  return a;
}

}  // namespace

Result<ExtractStats> extract_layer(const LayerReader& reader, const std::string& dest) {
  auto dest_fd = TRY_VALUE(open_file(dest, O_PATH | O_DIRECTORY));
  HashedInput input(reader);
  TRY(input.start());
  ArchivePtr decompressor = TRY_VALUE(open_decompressor(input));
  // An uncompressed blob is its own tar stream: its digest, being taken
  // already, is the diff_id too, and is not computed twice.
  bool compressed = decompressor && archive_filter_count(decompressor.get()) > 1;
  HashedInput tar_input(decompressed_blocks(decompressor.get(), input), compressed);
  TRY(tar_input.start());
  ArchivePtr a = TRY_VALUE(open_tar(tar_input));
  ExtractStats stats;
  Extractor extractor(dest_fd.get(), tar_input, stats);
  for (;;) {
    archive_entry* entry;
    int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    // ARCHIVE_WARN: an odd pax record or name charset; the entry is usable.
    if (r < ARCHIVE_WARN) return tar_input.failure(a.get()).add_context("read layer");
    ++stats.entries;
    if (Status s = extractor.extract(a.get(), entry); !s) {
      const char* name = archive_entry_pathname(entry);
      return s.error().add_context(fmt::format("layer entry {:?}", name ? name : ""));
    }
  }
  TRY(extractor.finish_directories());
  stats.content_digest = TRY_VALUE(tar_input.finish());
  stats.input_digest = TRY_VALUE(input.finish());
  if (!compressed) stats.content_digest = stats.input_digest;
  return stats;
}

Result<ExtractStats> extract_layer_file(const std::string& archive_path, const std::string& dest) {
  auto fd = TRY_VALUE(open_file(archive_path, O_RDONLY));
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  auto buffer = std::make_unique_for_overwrite<std::byte[]>(kFileBlock);
  LayerReader reader = [&]() -> Result<std::span<const std::byte>> {
    for (;;) {
      ssize_t n = ::read(fd.get(), buffer.get(), kFileBlock);
      if (n >= 0) return std::span<const std::byte>(buffer.get(), static_cast<size_t>(n));
      if (errno != EINTR) return sys_error("read {}", archive_path);
    }
  };
  auto stats = extract_layer(reader, dest);
  if (!stats) return stats.error().add_context(fmt::format("extract {}", archive_path));
  return stats;
}

}  // namespace berth::image
