// A scope guard: runs its action at scope exit unless release()d. Used for
// undo steps (remove a state dir, kill a half-made child) on error paths.
#pragma once

#include <utility>

namespace berth {

template <typename F>
class Defer {
 public:
  explicit Defer(F action) : action_(std::move(action)) {}
  Defer(const Defer&) = delete;
  Defer& operator=(const Defer&) = delete;
  ~Defer() {
    if (armed_) action_();
  }
  void release() { armed_ = false; }

 private:
  F action_;
  bool armed_ = true;
};

}  // namespace berth
