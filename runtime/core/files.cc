#include "core/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/c_handle.h"

namespace berth {

Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return sys_error("open {}", path);
  return UniqueFd(fd);
}

Result<UniqueFd> open_at(int dirfd, const std::string& path, int flags, mode_t mode) {
  int fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return sys_error("open {}", path);
  return UniqueFd(fd);
}

Result<std::string> read_fd(int fd) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> read_file(const std::string& path) {
  auto fd = TRY_VALUE(open_file(path, O_RDONLY));
  auto content = read_fd(fd.get());
  if (!content) return content.error().add_context(path);
  return content;
}

Result<UniqueFd> lock_file(const std::string& path, int flags, mode_t mode) {
  auto fd = TRY_VALUE(open_file(path, flags, mode));
  while (::flock(fd.get(), LOCK_EX) < 0)
    if (errno != EINTR) return sys_error("lock {}", path);
  return fd;
}

Status write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write");
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return ok();
}

Status write_file(const std::string& path, const std::string& data, mode_t mode) {
  auto fd = TRY_VALUE(open_file(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  TRY_CTX(write_all(fd.get(), data.data(), data.size()), "{}", path);
  return ok();
}

Status write_file_atomic(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp = path + ".tmp";
  {
    auto fd = TRY_VALUE(open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    TRY_CTX(write_all(fd.get(), data.data(), data.size()), "{}", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    Error e = sys_error("rename {} to {}", tmp, path);
    ::unlink(tmp.c_str());
    return e;
  }
  return ok();
}

Status make_directories(const std::string& path, mode_t mode) {
  if (path.empty()) return ok();
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    if (prefix.empty()) continue;
    if (::mkdir(prefix.c_str(), mode) < 0 && errno != EEXIST) return sys_error("mkdir {}", prefix);
  }
  return ok();
}

namespace {

Status remove_tree_at(int parent, const char* name, dev_t dev) {
  struct stat st;
  if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return ok();
    return sys_error("stat {}", name);
  }
  if (S_ISDIR(st.st_mode)) {
    if (st.st_dev != dev) return make_error("refusing to remove {}: it is a mount point", name);
    UniqueFd fd(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return sys_error("open {}", name);
    CHandle<DIR, closedir> dir(::fdopendir(fd.get()));
    if (!dir) return sys_error("fdopendir {}", name);
    fd.release();  // the DIR closes it
    Status status;
    while (struct dirent* entry = ::readdir(dir.get())) {
      std::string child = entry->d_name;
      if (child == "." || child == "..") continue;
      status = remove_tree_at(::dirfd(dir.get()), child.c_str(), dev);
      if (!status) break;
    }
    dir.reset();
    if (!status) return status.error().add_context(name);
    if (::unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
      return sys_error("rmdir {}", name);
    return ok();
  }
  if (::unlinkat(parent, name, 0) < 0 && errno != ENOENT) return sys_error("unlink {}", name);
  return ok();
}

}  // namespace

Status remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return ok();
    return sys_error("stat {}", path);
  }
  return remove_tree_at(AT_FDCWD, path.c_str(), st.st_dev);
}

}  // namespace berth
