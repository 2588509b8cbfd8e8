#include "linux/rlimits.h"

#include <sys/resource.h>

#include <string>

#include "core/files.h"

namespace berth::linux {
namespace {

std::string describe_limit(uint64_t value) {
  return value == RLIM_INFINITY ? std::string("unlimited") : std::to_string(value);
}

}  // namespace

Status apply_rlimits(const std::vector<spec::Rlimit>& rlimits) {
  for (const spec::Rlimit& limit : rlimits) {
    const rlimit value{static_cast<rlim_t>(limit.soft), static_cast<rlim_t>(limit.hard)};
    if (::setrlimit(limit.resource, &value) < 0) {
      int saved = errno;  // formatting the limits allocates, which may change errno
      return Error::from_errno_value(
          fmt::format("set {} to {}/{}", limit.type, describe_limit(limit.soft),
                      describe_limit(limit.hard)),
          saved);
    }
  }
  return ok();
}

Status apply_oom_score_adj(int value) {
  TRY_CTX(write_file("/proc/self/oom_score_adj", std::to_string(value)), "set oom_score_adj to {}",
          value);
  return ok();
}

}  // namespace berth::linux
