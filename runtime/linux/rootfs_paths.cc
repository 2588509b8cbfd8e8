// Paths inside the rootfs, resolved and created as if the rootfs were "/".
// The image is untrusted: a symlink in it ("evil -> /", "-> ../../..") must
// never make the runtime open, create or mount anything on the host. Every
// lookup goes through openat2(RESOLVE_IN_ROOT), which the kernel scopes to
// the rootfs fd (".." and absolute symlinks stop at it); creation only ever
// happens with *at() calls on one name inside a directory so resolved.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <vector>

#include "linux/mount_internal.h"

namespace berth::linux {

namespace {

// Symlinks followed while creating a path, as the kernel's own limit.
constexpr int kMaxSymlinks = 40;

std::vector<std::string> split_components(const std::string& path) {
  std::vector<std::string> components;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string name = path.substr(start, end - start);
    if (!name.empty() && name != ".") components.push_back(std::move(name));
    start = end + 1;
  }
  return components;
}

std::string join_components(const std::vector<std::string>& components, size_t from) {
  std::string path;
  for (size_t i = from; i < components.size(); ++i) path += "/" + components[i];
  return path;
}

// Creates name in dir: an empty file or a directory. EEXIST is left to the
// caller, which knows the name did not resolve.
int create_entry(int dir_fd, const std::string& name, bool as_file, mode_t mode) {
  if (!as_file) return ::mkdirat(dir_fd, name.c_str(), mode);
  // O_EXCL: never open (and so never truncate or trigger) something that
  // appeared in the meantime; O_NOFOLLOW for the same reason.
  int fd =
      ::openat(dir_fd, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  ::close(fd);
  return 0;
}

Result<UniqueFd> make_path(int rootfs_fd, const std::string& path, bool as_file, mode_t mode,
                           int symlinks_left) {
  std::vector<std::string> components = split_components(path);
  UniqueFd current = TRY_VALUE(open_in_rootfs(rootfs_fd, "/", O_PATH | O_DIRECTORY));
  std::string prefix;
  for (size_t i = 0; i < components.size(); ++i) {
    const std::string& name = components[i];
    bool last = i + 1 == components.size();
    std::string next = prefix + "/" + name;
    int flags = O_PATH | (last ? 0 : O_DIRECTORY);
    // Each prefix is resolved from the rootfs again, not from the parent's
    // fd: a relative symlink means the same thing either way, but an
    // absolute one must start at the rootfs, not at the parent.
    auto existing = open_in_rootfs(rootfs_fd, next, flags);
    if (!existing && existing.error().errno_value() != ENOENT) return existing.error();
    if (!existing) {
      if (create_entry(current.get(), name, last && as_file, mode) < 0) {
        if (errno != EEXIST) return sys_error("create {} in the rootfs", next);
        // The name exists yet does not resolve: a symlink to a missing
        // target. Create the target instead (inside the rootfs), as runc's
        // securejoin + MkdirAll do.
        char target[PATH_MAX];
        ssize_t n = ::readlinkat(current.get(), name.c_str(), target, sizeof target - 1);
        if (n < 0)
          return sys_error("create {} in the rootfs: it exists but cannot be opened", next);
        if (symlinks_left == 0)
          return Error::from_errno_value(fmt::format("create {} in the rootfs", path), ELOOP);
        std::string link(target, static_cast<size_t>(n));
        std::string base = link.front() == '/' ? link : prefix + "/" + link;
        return make_path(rootfs_fd, base + join_components(components, i + 1), as_file, mode,
                         symlinks_left - 1);
      }
      existing = open_in_rootfs(rootfs_fd, next, flags);
      if (!existing) return existing.error();
    }
    current = std::move(existing.value());
    prefix = std::move(next);
  }
  return current;
}

}  // namespace

Result<UniqueFd> open_in_rootfs(int rootfs_fd, const std::string& path, int flags) {
  size_t start = path.find_first_not_of('/');
  std::string relative = start == std::string::npos ? "." : path.substr(start);
  struct open_how how = {};
  how.flags = static_cast<__u64>(flags | O_CLOEXEC);
  // RESOLVE_NO_MAGICLINKS: /proc/self/root and friends would jump out.
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    long fd = ::syscall(SYS_openat2, rootfs_fd, relative.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    // EAGAIN: a rename elsewhere raced with a ".." lookup and the kernel
    // could not prove the walk stayed inside; retrying is the documented fix.
    if (errno == EINTR || (errno == EAGAIN && attempt < 32)) continue;
    return sys_error("open {} in the rootfs", path);
  }
}

Result<UniqueFd> make_path_in_rootfs(int rootfs_fd, const std::string& path, bool as_file,
                                     mode_t mode) {
  // Most destinations exist already (/proc, /dev, /sys in any image): one
  // lookup instead of one per component.
  auto existing = open_in_rootfs(rootfs_fd, path, O_PATH);
  if (existing || existing.error().errno_value() != ENOENT) return existing;
  return make_path(rootfs_fd, path, as_file, mode, kMaxSymlinks);
}

std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::string clean_path(const std::string& path) {
  std::vector<std::string> cleaned;
  for (std::string& name : split_components(path)) {
    if (name == "..") {
      if (!cleaned.empty()) cleaned.pop_back();
    } else {
      cleaned.push_back(std::move(name));
    }
  }
  return cleaned.empty() ? "/" : join_components(cleaned, 0);
}

}  // namespace berth::linux
