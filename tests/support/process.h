// Running processes for the tests: a program in the foreground with a
// timeout (run_process), or in the background, on a terminal if asked,
// while the test acts on it (BackgroundProcess); pidfds to wait for a
// process that is not our child; and polling until something holds.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "core/unique_fd.h"

namespace berth::test {

using namespace std::chrono_literals;

// How a child process ended and what it printed.
struct ProcessResult {
  std::string command;  // the argv, joined, for messages
  int exit_code = -1;   // -1 unless it exited
  int signal = 0;       // the signal that killed it, if one did
  bool timed_out = false;
  std::string out;
  std::string err;

  bool succeeded() const { return exit_code == 0; }
  // Exited (0 or not) rather than crashing or hanging.
  bool exited() const { return exit_code >= 0 && !timed_out; }
};
// gtest prints this when an assertion on a result fails: the command, how
// it ended and what it printed.
std::ostream& operator<<(std::ostream& os, const ProcessResult& result);

struct ProcessOptions {
  std::chrono::milliseconds timeout = 30s;  // then SIGKILL
  std::string cwd;                          // "" keeps ours
  int stdin_fd = -1;                        // -1: /dev/null
  // -1: a fresh memfd. A given fd is read back from offset 0 (a memfd of
  // make_memfd, say, readable while the process still runs).
  int stdout_fd = -1;
  int stderr_fd = -1;
  int extra_fd = -1;             // becomes the child's fd 3 (--preserve-fds); -1: none
  std::vector<std::string> env;  // "KEY=VALUE" added to (or replacing in) ours
  int netns_fd = -1;             // a network namespace to run in (setns); -1 keeps ours
  // SIGKILL the child when the thread that started it dies (PR_SET_PDEATHSIG),
  // so a crashed test leaves no server behind. Tests start their servers on
  // the main thread; one started on a thread that exits first dies with it.
  bool die_with_parent = false;
};

// fork/exec argv[0] (a path, no PATH search) and wait for it to exit; kills
// it with SIGKILL after the timeout. Only the process itself is waited for:
// a child of it that inherited its stdout may keep writing afterwards.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// `/bin/sh -c "COMMAND 2>&1"`, as popen(3) would run it: the (last)
// command's stderr is in result.out.
ProcessResult run_shell(const std::string& command, const ProcessOptions& options = {});

// A process that runs while the test does something else (a foreground
// `berth run` to be killed or resized, a server). Killed and reaped by the
// destructor unless waited for.
class BackgroundProcess {
 public:
  BackgroundProcess() = default;
  // stdio as run_process's. With a terminal (a pty slave), the child
  // becomes a session leader with it as its controlling terminal and as its
  // stdin, stdout and stderr.
  static BackgroundProcess start(const std::vector<std::string>& argv,
                                 const ProcessOptions& options = {}, int terminal = -1);
  // A moved-from process owns nothing (its destructor must not kill it).
  BackgroundProcess(BackgroundProcess&& other) noexcept
      : command_(std::move(other.command_)),
        pid_(std::exchange(other.pid_, -1)),
        pidfd_(std::move(other.pidfd_)),
        out_(std::move(other.out_)),
        err_(std::move(other.err_)),
        out_fd_(std::exchange(other.out_fd_, -1)),
        err_fd_(std::exchange(other.err_fd_, -1)) {}
  BackgroundProcess& operator=(BackgroundProcess&&) = delete;
  ~BackgroundProcess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // Waits for the exit (SIGKILL after timeout) and collects the output.
  ProcessResult wait(std::chrono::milliseconds timeout = 30s);
  // What it has printed so far.
  std::string out() const;
  std::string err() const;

 private:
  std::string command_;
  pid_t pid_ = -1;
  UniqueFd pidfd_, out_, err_;  // out_, err_: the memfds made for it
  int out_fd_ = -1, err_fd_ = -1;
};

// A memfd for ProcessOptions' stdout_fd/stderr_fd, and what was written to
// it so far (readable while the process still runs).
UniqueFd make_memfd(const char* name);
std::string read_from_start(int fd);

// A pidfd for pid (invalid if pid is gone).
UniqueFd open_pidfd(pid_t pid);
// Waits up to timeout for the pidfd's process to exit (also works for a
// pid that is not our child). True if it exited.
bool wait_for_exit(int pidfd, std::chrono::milliseconds timeout);
// The same for a pid: true if it is gone (or was already).
bool wait_for_pid_exit(pid_t pid, std::chrono::milliseconds timeout);
// Whether pid runs (exists and is not a zombie).
bool process_alive(pid_t pid);

// Polls until done() is true; false after the timeout.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s,
                std::chrono::milliseconds interval = 20ms);

}  // namespace berth::test
