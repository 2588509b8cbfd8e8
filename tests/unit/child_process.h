// A forked child for unit tests that change process-wide state
// (capabilities, seccomp, rlimits): the test body runs in the child, so the
// test binary itself keeps its privileges. (The suites' process helpers are
// tests/support's; this one runs a function, not a program.)
#pragma once

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>

#include "core/files.h"
#include "core/unique_fd.h"

namespace berth::unit_test {

struct ChildOutcome {
  int exit_code = -1;  // 0 when every check in the child held
  std::string report;  // what the child saw when a check failed
};

// Runs body in a forked child, which exits 0 if body returns "" and 1
// otherwise, sending body's report to the parent through a pipe.
inline ChildOutcome run_in_child(const std::function<std::string()>& body) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return {-1, std::string("pipe2: ") + strerror(errno)};
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return {-1, std::string("fork: ") + strerror(errno)};
  if (pid == 0) {
    read_end.reset();
    std::string report = body();
    (void)write_all(write_end.get(), report.data(), report.size());
    ::_exit(report.empty() ? 0 : 1);
  }
  write_end.reset();
  ChildOutcome outcome;
  auto report = read_fd(read_end.get());
  outcome.report = report ? *report : report.error().message();
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return {-1, std::string("waitpid: ") + strerror(errno)};
  if (WIFEXITED(status)) {
    outcome.exit_code = WEXITSTATUS(status);
  } else {
    outcome.exit_code = 128 + WTERMSIG(status);
    outcome.report += fmt::format(" (child killed by signal {})", WTERMSIG(status));
  }
  return outcome;
}

// Loads filter (a linux::SeccompFilter) in a forked child under
// no_new_privs, as the container init does, then runs probe there with the
// listener fd that load() returned (invalid without a NOTIFY rule).
template <typename Filter>
ChildOutcome load_in_child(Filter& filter,
                           const std::function<std::string(const UniqueFd& listener)>& probe) {
  return run_in_child([&]() -> std::string {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
      return std::string("prctl(PR_SET_NO_NEW_PRIVS): ") + strerror(errno);
    auto listener = filter.load();
    if (!listener) return listener.error().message();
    return probe(*listener);
  });
}

}  // namespace berth::unit_test
