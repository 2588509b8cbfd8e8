#include "core/error.h"

#include <cstring>

namespace berth {

Error Error::from_errno_value(std::string what, int errno_value) {
  // strerrordesc_np is async-signal-safe and thread-safe, unlike strerror.
  const char* text = strerrordesc_np(errno_value);
  return Error(fmt::format("{}: {}", what, text ? text : fmt::format("errno {}", errno_value)),
               errno_value);
}

}  // namespace berth
