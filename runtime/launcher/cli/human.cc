// Docker's human-readable times and sizes, for ps and images.
#include <ctime>

#include "launcher/cli/commands.h"

namespace berth::launcher_cli {

std::string human_duration(long long seconds) {
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return fmt::format("{} seconds", seconds);
  long long minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return fmt::format("{} minutes", minutes);
  long long hours = minutes / 60;
  if (hours == 1) return "About an hour";
  if (hours < 48) return fmt::format("{} hours", hours);
  long long days = hours / 24;
  if (days < 14) return fmt::format("{} days", days);
  if (days < 60) return fmt::format("{} weeks", days / 7);
  if (days < 730) return fmt::format("{} months", days / 30);
  return fmt::format("{} years", days / 365);
}

std::string human_since(const std::string& rfc3339) {
  struct tm utc = {};
  if (rfc3339.empty() || !::strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &utc)) return "";
  long long then = ::timegm(&utc);
  return human_duration(static_cast<long long>(::time(nullptr)) - then) + " ago";
}

std::string human_size(uint64_t bytes) {
  // Docker counts in powers of 1000.
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  if (unit == 0) return fmt::format("{}B", bytes);
  return fmt::format("{:.3g}{}", value, units[unit]);
}

}  // namespace berth::launcher_cli
