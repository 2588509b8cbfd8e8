#include "linux/cgroup_events.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "core/files.h"
#include "linux/cgroup_stats.h"

namespace berth::linux {

Result<CgroupEventFile> CgroupEventFile::open(const std::string& path) {
  auto fd = TRY_VALUE(open_file(path, O_RDONLY));
  return CgroupEventFile(path, std::move(fd));
}

Result<std::map<std::string, uint64_t>> CgroupEventFile::read() const {
  // From the start each time: kernfs regenerates the text on a read at
  // offset 0, and that read is what re-arms POLLPRI for this fd.
  if (::lseek(fd_.get(), 0, SEEK_SET) < 0) return sys_error("seek {}", path_);
  auto text = read_fd(fd_.get());
  if (!text) return text.error().add_context(path_);
  auto values = parse_flat_keyed(text.value());
  if (!values) return values.error().add_context(path_);
  return values;
}

Result<bool> wait_for_change(const std::vector<const CgroupEventFile*>& files,
                             std::chrono::nanoseconds timeout) {
  std::vector<pollfd> fds;
  // Only POLLPRI: kernfs reports every file readable at all times.
  for (const CgroupEventFile* file : files) fds.push_back({file->fd(), POLLPRI, 0});
  if (timeout < std::chrono::nanoseconds(0)) timeout = std::chrono::nanoseconds(0);
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec limit = {static_cast<time_t>(seconds.count()),
                    static_cast<long>((timeout - seconds).count())};
  int ready = ::ppoll(fds.data(), fds.size(), &limit, nullptr);
  if (ready < 0) {
    if (errno == EINTR) return false;
    return sys_error("wait for a change of {}", files.empty() ? "" : files.front()->path());
  }
  return ready > 0;
}

}  // namespace berth::linux
