// Durations written as Go's time.ParseDuration reads them ("5s", "100ms",
// "1h30m", "1.5h", "-2us"): runc's duration flags (events --interval) take
// this syntax, so berth-runtime must accept exactly the same strings.
#pragma once

#include <chrono>
#include <string>

#include "core/error.h"

namespace berth {

// A signed sequence of decimal numbers, each with an optional fraction and a
// unit (ns, us, µs, μs, ms, s, m, h); "0" alone needs no unit. Errors use
// Go's wording: `time: invalid duration "x"`, `time: missing unit in
// duration "1"`, `time: unknown unit "d" in duration "1d"`.
Result<std::chrono::nanoseconds> parse_go_duration(const std::string& text);

}  // namespace berth
