#include "linux/cgroup_freezer.h"

#include <fcntl.h>

#include "core/files.h"
#include "linux/cgroup_events.h"

namespace berth::linux {
namespace {

std::string describe(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0) return fmt::format("{}s", timeout.count() / 1000);
  return fmt::format("{}ms", timeout.count());
}

// Wait until cgroup.events' "frozen" is the wanted value. The message
// starts as runc's: "timeout of 10s reached waiting for the cgroup".
Status wait_for_frozen(const std::string& directory, const CgroupEventFile& events, uint64_t wanted,
                       std::chrono::milliseconds timeout, const char* what) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto values = TRY_VALUE(events.read());
    auto frozen = values.find("frozen");
    if (frozen == values.end()) return make_error("{}: no \"frozen\" key", events.path());
    if (frozen->second == wanted) return ok();
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds(0))
      return make_error("timeout of {} reached waiting for the cgroup {} to {}", describe(timeout),
                        directory, what);
    TRY(wait_for_change({&events}, left));
  }
}

Status write_freeze(const std::string& directory, const char* value) {
  std::string path = directory + "/cgroup.freeze";
  auto fd = open_file(path, O_WRONLY);
  if (!fd) return fd.error().add_context("freezer not supported");
  TRY_CTX(write_all(fd->get(), value, 1), "write {} to {}", value, path);
  return ok();
}

}  // namespace

Status freeze_cgroup(const std::string& directory, std::chrono::milliseconds timeout) {
  // Opened first: a cgroup whose freezing cannot be watched is not touched.
  auto events = CgroupEventFile::open(directory + "/cgroup.events");
  if (!events) return events.error().add_context("freezer not supported");
  TRY(write_freeze(directory, "1"));
  auto frozen = wait_for_frozen(directory, events.value(), 1, timeout, "freeze");
  if (!frozen) (void)write_freeze(directory, "0");
  return frozen;
}

Status thaw_cgroup(const std::string& directory, std::chrono::milliseconds timeout) {
  auto events = TRY_VALUE(CgroupEventFile::open(directory + "/cgroup.events"));
  TRY(write_freeze(directory, "0"));
  return wait_for_frozen(directory, events, 0, timeout, "thaw: is a parent cgroup frozen?");
}

}  // namespace berth::linux
