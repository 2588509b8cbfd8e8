// Errors as values: every fallible function below the command layer returns
// Result<T>. An Error carries what was attempted (with the path or object
// named), errno's value and text, and gains context as it travels up:
//   "mount proc on /proc: Operation not permitted"
//   -> "create container c1: mount proc on /proc: Operation not permitted".
// Exceptions cannot unwind safely out of a clone()d child, another reason to
// keep errors as values. The member names follow std::expected so the type
// can become std::expected<T, Error> by a rename once C++23 is available.
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace berth {

// What failed, where a caller acts on it rather than only reporting it. Set
// where the failure happens and kept through add_context and across the
// sync socket, so no caller has to read it back out of the message.
enum class ErrorKind : int32_t {
  kOther = 0,
  // The process's executable does not exist (Docker's exit status 127).
  kExecNotFound,
  // It exists but may not be executed: not a regular file, no execute
  // permission, or its path cannot be resolved (Docker's 126).
  kExecPermissionDenied,
};

class Error {
 public:
  Error() = default;
  explicit Error(std::string message, int errno_value = 0, ErrorKind kind = ErrorKind::kOther)
      : message_(std::move(message)), errno_(errno_value), kind_(kind) {}

  // "what: strerror(errno)" built from the current errno.
  static Error from_errno(std::string what) { return from_errno_value(std::move(what), errno); }
  static Error from_errno_value(std::string what, int errno_value);

  // Prefix the message with the step that failed: "ctx: message".
  Error& add_context(const std::string& context) {
    message_ = context + ": " + message_;
    return *this;
  }

  Error& set_kind(ErrorKind kind) {
    kind_ = kind;
    return *this;
  }

  const std::string& message() const { return message_; }
  int errno_value() const { return errno_; }
  ErrorKind kind() const { return kind_; }

 private:
  std::string message_;
  int errno_ = 0;
  ErrorKind kind_ = ErrorKind::kOther;
};

// fmt-style constructors: sys_error("mount {} on {}", src, dst) reads errno.
template <typename... Args>
Error sys_error(fmt::format_string<Args...> format, Args&&... args) {
  int saved = errno;
  return Error::from_errno_value(fmt::format(format, std::forward<Args>(args)...), saved);
}

template <typename... Args>
Error make_error(fmt::format_string<Args...> format, Args&&... args) {
  return Error(fmt::format(format, std::forward<Args>(args)...));
}

struct Unexpected {
  Error error;
};
inline Unexpected unexpected(Error e) { return Unexpected{std::move(e)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : storage_(std::in_place_index<1>, std::move(error)) {}
  Result(Unexpected u) : storage_(std::in_place_index<1>, std::move(u.error)) {}

  bool has_value() const { return storage_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(storage_); }
  T&& value() && { return std::get<0>(std::move(storage_)); }
  const T& value() const& { return std::get<0>(storage_); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(value()); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  Error& error() { return std::get<1>(storage_); }
  const Error& error() const { return std::get<1>(storage_); }

 private:
  std::variant<T, Error> storage_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}
  Result(Unexpected u) : error_(std::move(u.error)), failed_(true) {}

  bool has_value() const { return !failed_; }
  explicit operator bool() const { return !failed_; }
  Error& error() { return error_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

using Status = Result<void>;
inline Status ok() { return {}; }

}  // namespace berth

// Propagate an error, optionally adding context:
//   TRY(mount_proc(root));
//   TRY_CTX(mount_proc(root), "set up mounts");
//   auto fd = TRY_VALUE(open_in_rootfs(root, path));
#define BERTH_CONCAT_(a, b) a##b
#define BERTH_CONCAT(a, b) BERTH_CONCAT_(a, b)

#define TRY(expr)                                                       \
  do {                                                                  \
    auto berth_try_result_ = (expr);                                    \
    if (!berth_try_result_.has_value())                                 \
      return ::berth::unexpected(std::move(berth_try_result_.error())); \
  } while (0)

#define TRY_CTX(expr, ...)                                                             \
  do {                                                                                 \
    auto berth_try_result_ = (expr);                                                   \
    if (!berth_try_result_.has_value())                                                \
      return ::berth::unexpected(                                                      \
          std::move(berth_try_result_.error().add_context(fmt::format(__VA_ARGS__)))); \
  } while (0)

// GNU statement expression: yields the value or returns the error.
#define TRY_VALUE(expr)                                                \
  ({                                                                   \
    auto berth_try_value_ = (expr);                                    \
    if (!berth_try_value_.has_value())                                 \
      return ::berth::unexpected(std::move(berth_try_value_.error())); \
    std::move(berth_try_value_.value());                               \
  })
