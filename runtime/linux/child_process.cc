#include "linux/child_process.h"

#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/forwarded_signals.h"
#include "linux/process.h"
#include "linux/terminal.h"

namespace berth::linux {

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = std::exchange(other.pid_, 0);
    pidfd_ = std::move(other.pidfd_);
  }
  return *this;
}

void ChildProcess::kill_and_reap() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = 0;
}

Result<int> ChildProcess::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0)
    if (errno != EINTR) return sys_error("wait for process {}", pid_);
  pid_ = 0;
  return status;
}

pid_t clone3_with_pidfd(const CloneRequest& request, int* pidfd) {
  struct clone_args args = {};
  args.flags = request.namespaces | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  if (request.cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(request.cgroup_fd);
  }
  return static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
}

Result<int> supervise(ChildProcess& child, const Supervision& how) {
  if (how.pty_master >= 0)
    TRY(relay_terminal(how.pty_master, child.pidfd(), child.pid()));
  else if (how.forward_signals)
    TRY(wait_forwarding_signals(child.pidfd(), child.pid()));
  int wait_status = TRY_VALUE(child.wait());
  return exit_status(wait_status);
}

Result<bool> wait_for_exit(int pidfd, int timeout_ms) {
  struct pollfd pfd = {pidfd, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&pfd, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return sys_error("poll pidfd");
  return ready > 0;
}

}  // namespace berth::linux
