// exec: a new process inside a running container. It joins every namespace
// and the cgroup of the container's init and gets the same treatment as
// init's process (rlimits, capabilities, seccomp, user, cwd,
// no_new_privs), from the Process it is given.
#pragma once

#include <string>

#include "container/container.h"
#include "spec/spec.h"

namespace berth::container {

struct ExecOptions {
  std::string id;
  spec::Process process;       // args non-empty; cwd absolute
  bool detach = false;         // return once the process runs
  std::string pid_file;        // written with no trailing newline
  std::string console_socket;  // receives the pty master when process.terminal
  int preserve_fds = 0;        // the caller's fds 3 .. 3+N-1 pass on to the process
};

// Foreground (no detach): waits for the process and returns its exit status
// (128+N when killed by signal N), forwarding signals and, with
// process.terminal and no console socket, relaying the caller's terminal.
// Detached: returns 0 once the process has been exec'ed.
// A container that is not running is an error that says so.
Result<int> exec_in_container(const std::string& state_root, const ExecOptions& options);

}  // namespace berth::container
