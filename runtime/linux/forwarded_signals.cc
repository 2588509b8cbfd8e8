#include "linux/forwarded_signals.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace berth::linux {

Result<ForwardedSignals> ForwardedSignals::block() {
  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH})
    sigaddset(&forwarded, sig);
  ForwardedSignals signals;
  if (::sigprocmask(SIG_BLOCK, &forwarded, &signals.old_mask_) < 0)
    return sys_error("block the signals to forward");
  signals.restore_ = true;
  signals.signalfd_.reset(::signalfd(-1, &forwarded, SFD_CLOEXEC));
  if (!signals.signalfd_) return sys_error("signalfd");
  return signals;
}

ForwardedSignals::ForwardedSignals(ForwardedSignals&& other) noexcept
    : signalfd_(std::move(other.signalfd_)), old_mask_(other.old_mask_), restore_(other.restore_) {
  other.restore_ = false;
}

ForwardedSignals::~ForwardedSignals() {
  if (restore_) ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
}

int ForwardedSignals::forward_next(pid_t pid) {
  struct signalfd_siginfo info;
  if (::read(signalfd_.get(), &info, sizeof info) != sizeof info) return 0;
  int sig = static_cast<int>(info.ssi_signo);
  if (sig != SIGWINCH) ::kill(pid, sig);
  return sig;
}

Status wait_forwarding_signals(int pidfd, pid_t pid) {
  auto signals = TRY_VALUE(ForwardedSignals::block());
  for (;;) {
    struct pollfd fds[2] = {{pidfd, POLLIN, 0}, {signals.fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return sys_error("poll");
    }
    if (fds[0].revents & POLLIN) return ok();
    if (fds[1].revents & POLLIN) signals.forward_next(pid);
  }
}

}  // namespace berth::linux
