// Test helpers for the bridge network: a "container" network namespace held
// by a forked child (so it goes away when the child is killed, as a real
// container's does), and sockets made inside such a namespace. Commands
// that look at the kernel's view run with tests/support's run_shell.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "core/unique_fd.h"

namespace berth::nettest {

// A child that unshares a network namespace and sleeps on a pipe; fd() is
// that namespace. The destructor (or release()) kills and reaps the child
// and closes fd(), dropping the namespace's last references.
class ContainerNetns {
 public:
  ContainerNetns() {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) < 0) {
      error_ = std::string("pipe2: ") + std::strerror(errno);
      return;
    }
    UniqueFd ready_read(ready[0]), ready_write(ready[1]);
    pid_ = ::fork();
    if (pid_ < 0) {
      error_ = std::string("fork: ") + std::strerror(errno);
      return;
    }
    if (pid_ == 0) {
      // Only async-signal-safe calls: the test process has threads.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      char status = ::unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
      if (::write(ready[1], &status, 1) != 1) ::_exit(1);
      // Hold no copies of the test's fds (another namespace's, say).
      ::close_range(3, ~0U, 0);
      for (;;) ::pause();
    }
    ready_write.reset();
    char status = 0;
    if (::read(ready_read.get(), &status, 1) != 1 || status != 'y') {
      error_ = "the child could not unshare its network namespace";
      return;
    }
    fd_.reset(::open(path().c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_) error_ = "open " + path() + ": " + std::strerror(errno);
  }
  ~ContainerNetns() { release(); }
  ContainerNetns(const ContainerNetns&) = delete;
  ContainerNetns& operator=(const ContainerNetns&) = delete;

  void release() {
    fd_.reset();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  const std::string& error() const { return error_; }
  int fd() const { return fd_.get(); }
  std::string path() const { return "/proc/" + std::to_string(pid_) + "/ns/net"; }
  // Prefix for a command to run inside: nsenter(1) from util-linux.
  std::string enter() const { return "nsenter --net=" + path() + " "; }

 private:
  pid_t pid_ = -1;
  UniqueFd fd_;
  std::string error_;
};

// A socket of the network namespace netns_fd, made on a thread that enters
// it so the test's own thread stays where it is.
inline UniqueFd socket_in(int netns_fd, int type) {
  UniqueFd result;
  std::thread([&] {
    if (::setns(netns_fd, CLONE_NEWNET) == 0)
      result.reset(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  }).join();
  return result;
}

}  // namespace berth::nettest
