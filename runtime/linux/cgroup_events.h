// cgroup v2's event files: cgroup.events ("populated", "frozen") and
// memory.events ("oom_kill", ...). Both are flat-keyed, and the kernel
// signals every change of one to poll(2) as POLLPRI ("a value change in
// this file generates a file modified event", cgroup-v2.rst). A read
// re-arms the notification, so read first, then wait: no change is lost.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"

namespace berth::linux {

class CgroupEventFile {
 public:
  static Result<CgroupEventFile> open(const std::string& path);

  // The file's current values.
  Result<std::map<std::string, uint64_t>> read() const;
  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }

 private:
  CgroupEventFile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

// Waits until one of the files changed since it was last read (or was
// removed with its cgroup), or the timeout passed. True if one changed.
Result<bool> wait_for_change(const std::vector<const CgroupEventFile*>& files,
                             std::chrono::nanoseconds timeout);

}  // namespace berth::linux
