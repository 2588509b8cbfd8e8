// The runtime's children, from the parent's side: one clone3 for every
// child that enters a container (namespaces, cgroup and pidfd in one call),
// an owner that kills and reaps a child on every error path unless it is
// released (crun's cleanup_pid), and the foreground wait of `run` and
// `exec`: relay a terminal or forward signals, reap, exit status.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <utility>

#include "core/error.h"
#include "core/unique_fd.h"

namespace berth::linux {

// A child of ours, by pid and pidfd. The destructor SIGKILLs and reaps it
// unless it was reaped (wait) or released: no error path can leave a
// half-made container process behind. It kills by pid, not pidfd: the pid
// of a child that is not yet reaped cannot be reused.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  ChildProcess(ChildProcess&& other) noexcept
      : pid_(std::exchange(other.pid_, 0)), pidfd_(std::move(other.pidfd_)) {}
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { kill_and_reap(); }

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  explicit operator bool() const { return pid_ > 0; }

  // Wait for it to exit and reap it: its waitpid status. The owner is
  // empty afterwards.
  Result<int> wait();
  // Let it outlive the owner (a created init, a detached exec); only the
  // pidfd is closed.
  void release() { pid_ = 0; }

 private:
  void kill_and_reap();

  pid_t pid_ = 0;
  UniqueFd pidfd_;
};

struct CloneRequest {
  uint64_t namespaces = 0;  // CLONE_NEW* flags: namespaces the child starts in
  int cgroup_fd = -1;       // >= 0: CLONE_INTO_CGROUP, in it before its first instruction
};

// clone3 with CLONE_PIDFD and no stack (the child goes on, as after fork(),
// on a copy of our stack). Returns the child's pid, 0 in the child, -1 with
// errno on failure; *pidfd is set in the parent. Use clone_child.
pid_t clone3_with_pidfd(const CloneRequest& request, int* pidfd);

// Clone a child that runs in_child, which must not return (it execs or
// _exits); in the parent, its owner. An error keeps clone3's errno (EBUSY:
// cgroup v2 refused the cgroup; the caller may retry with another).
template <typename InChild>
Result<ChildProcess> clone_child(const CloneRequest& request, InChild&& in_child) {
  int pidfd = -1;
  pid_t pid = clone3_with_pidfd(request, &pidfd);
  if (pid == 0) {
    in_child();
    ::_exit(127);  // not reached: in_child does not return
  }
  if (pid < 0) return sys_error("clone3 (flags {:#x})", request.namespaces);
  return ChildProcess(pid, UniqueFd(pidfd));
}

// How supervise waits for a child.
struct Supervision {
  // >= 0: relay it to and from our stdin/stdout until the child exits (a
  // relay also forwards our signals to the child, resizing the pty on
  // SIGWINCH).
  int pty_master = -1;
  // Without a pty: forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
  // SIGUSR2 to the child while waiting (a foreground `run` or `exec`), or
  // only wait (the launcher's detached monitor, which nobody signals).
  bool forward_signals = true;
};

// Wait for child as the caller asks, reap it, and return its exit status as
// a shell's: 0-255, or 128+N when killed by signal N.
Result<int> supervise(ChildProcess& child, const Supervision& how = {});

// Wait up to timeout_ms (-1: no limit, 0: just look) for the process of
// pidfd to exit, our child or not. False when the time ran out.
Result<bool> wait_for_exit(int pidfd, int timeout_ms);

}  // namespace berth::linux
