#include "core/duration.h"

#include <cstdint>
#include <string_view>

namespace berth {
namespace {

constexpr uint64_t kLimit = uint64_t{1} << 63;  // |int64 min|: the largest magnitude

struct Unit {
  std::string_view name;
  uint64_t nanoseconds;
};

// "µs" is U+00B5 (micro sign) and "μs" U+03BC (Greek mu): Go accepts both.
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1000},
    {"\u00b5s", 1000},
    {"\u03bcs", 1000},
    {"ms", 1000 * 1000},
    {"s", 1000 * 1000 * 1000},
    {"m", uint64_t{60} * 1000 * 1000 * 1000},
    {"h", uint64_t{3600} * 1000 * 1000 * 1000},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Go's %q of a plain string: enough for what a duration flag holds.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Error invalid(const std::string& text) {
  return make_error("time: invalid duration {}", quoted(text));
}

}  // namespace

Result<std::chrono::nanoseconds> parse_go_duration(const std::string& text) {
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && (rest[0] == '-' || rest[0] == '+')) {
    negative = rest[0] == '-';
    rest.remove_prefix(1);
  }
  if (rest == "0") return std::chrono::nanoseconds(0);
  if (rest.empty()) return invalid(text);

  uint64_t total = 0;
  while (!rest.empty()) {
    if (rest[0] != '.' && !is_digit(rest[0])) return invalid(text);
    // The integer part, exactly; it must fit before the unit multiplies it.
    uint64_t whole = 0;
    size_t digits = 0;
    for (; digits < rest.size() && is_digit(rest[digits]); ++digits) {
      if (whole > kLimit / 10) return invalid(text);
      whole = whole * 10 + static_cast<uint64_t>(rest[digits] - '0');
      if (whole > kLimit) return invalid(text);
    }
    bool had_whole = digits > 0;
    rest.remove_prefix(digits);
    // The fraction: digits past what a uint64 holds add nothing measurable,
    // so they are consumed and ignored (as Go does).
    uint64_t fraction = 0;
    double scale = 1;
    bool had_fraction = false;
    if (!rest.empty() && rest[0] == '.') {
      rest.remove_prefix(1);
      bool saturated = false;
      size_t i = 0;
      for (; i < rest.size() && is_digit(rest[i]); ++i) {
        if (saturated) continue;
        if (fraction > (UINT64_MAX - 9) / 10) {
          saturated = true;
          continue;
        }
        fraction = fraction * 10 + static_cast<uint64_t>(rest[i] - '0');
        scale *= 10;
      }
      had_fraction = i > 0;
      rest.remove_prefix(i);
    }
    if (!had_whole && !had_fraction) return invalid(text);

    size_t unit_length = 0;
    while (unit_length < rest.size() && rest[unit_length] != '.' && !is_digit(rest[unit_length]))
      ++unit_length;
    std::string_view unit_name = rest.substr(0, unit_length);
    rest.remove_prefix(unit_length);
    if (unit_name.empty()) return make_error("time: missing unit in duration {}", quoted(text));
    const Unit* unit = nullptr;
    for (const Unit& known : kUnits)
      if (known.name == unit_name) unit = &known;
    if (!unit)
      return make_error("time: unknown unit {} in duration {}", quoted(unit_name), quoted(text));

    if (whole > kLimit / unit->nanoseconds) return invalid(text);
    uint64_t value = whole * unit->nanoseconds;
    if (fraction > 0) {
      value += static_cast<uint64_t>(static_cast<double>(fraction) *
                                     (static_cast<double>(unit->nanoseconds) / scale));
      if (value > kLimit) return invalid(text);
    }
    total += value;
    if (total > kLimit) return invalid(text);
  }
  if (negative)
    return std::chrono::nanoseconds(total == kLimit ? INT64_MIN : -static_cast<int64_t>(total));
  if (total > kLimit - 1) return invalid(text);
  return std::chrono::nanoseconds(static_cast<int64_t>(total));
}

}  // namespace berth
