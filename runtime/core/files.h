// Small checked file helpers shared by the runtime's modules.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/error.h"
#include "core/unique_fd.h"

namespace berth {

// open(2) with O_CLOEXEC, reporting the path on failure.
Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode = 0);
Result<UniqueFd> open_at(int dirfd, const std::string& path, int flags, mode_t mode = 0);

// open(2) path and take an exclusive flock(2) on it, waiting as long as it
// takes; the lock is released when the fd goes.
Result<UniqueFd> lock_file(const std::string& path, int flags, mode_t mode = 0600);

Result<std::string> read_file(const std::string& path);
Result<std::string> read_fd(int fd);

// Write all of data to path (created if missing, truncated): for /proc and
// cgroup files, where one write() is one command to the kernel.
Status write_file(const std::string& path, const std::string& data, mode_t mode = 0644);

// Write data to path through a temp file and rename(2), so readers see the
// old or the new content, never half of it.
Status write_file_atomic(const std::string& path, const std::string& data, mode_t mode = 0644);

Status write_all(int fd, const void* data, size_t size);

// mkdir -p; existing directories are fine.
Status make_directories(const std::string& path, mode_t mode = 0755);

// rm -rf that does not cross mount points or follow symlinks.
Status remove_tree(const std::string& path);

}  // namespace berth
