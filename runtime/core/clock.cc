#include "core/clock.h"

#include <fmt/format.h>
#include <time.h>

namespace berth {

std::string rfc3339_now(bool nanoseconds) {
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  struct tm tm;
  ::gmtime_r(&now.tv_sec, &tm);
  char date[32];
  ::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  if (nanoseconds) return fmt::format("{}.{:09d}Z", date, now.tv_nsec);
  return fmt::format("{}Z", date);
}

}  // namespace berth
