// The runtime's log, in runc's formats, for `--log FILE --log-format text|json`
// (containerd's shim reads the JSON lines {"level","msg","time"} and reports
// the last error). Without --log, entries go to stderr (text format).
#pragma once

#include <fmt/format.h>

#include <string>

namespace berth::log {

enum class Format { Text, Json };
enum class Level { Debug, Info, Warning, Error };

// Configure once at start-up. path "" means stderr.
void configure(const std::string& path, Format format, bool debug);
bool debug_enabled();

void write(Level level, const std::string& message);

template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (debug_enabled()) write(Level::Debug, fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void warning(fmt::format_string<Args...> format, Args&&... args) {
  write(Level::Warning, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace berth::log
