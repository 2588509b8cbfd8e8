// The signals a foreground `run` passes on to the container's init, as runc
// does: blocked while it waits, and read from a signalfd in its poll loop.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/unique_fd.h"

namespace berth::linux {

class ForwardedSignals {
 public:
  // Blocks SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH;
  // the old mask comes back when the object goes.
  static Result<ForwardedSignals> block();
  ForwardedSignals(ForwardedSignals&& other) noexcept;
  ForwardedSignals& operator=(ForwardedSignals&&) = delete;
  ~ForwardedSignals();

  int fd() const { return signalfd_.get(); }  // readable when a signal is pending

  // Take one pending signal and send it to pid, except SIGWINCH, which is
  // returned for the caller (a terminal relay resizes the pty instead).
  // Returns the signal taken, or 0 if none was pending.
  int forward_next(pid_t pid);

 private:
  ForwardedSignals() = default;
  UniqueFd signalfd_;
  sigset_t old_mask_{};
  bool restore_ = false;
};

// Wait until our child (pidfd) exits, forwarding the signals we receive to
// it (pid), as a foreground `run` or `exec` does.
Status wait_forwarding_signals(int pidfd, pid_t pid);

}  // namespace berth::linux
