#include "linux/hooks.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/files.h"
#include "core/unique_fd.h"
#include "linux/child_process.h"

namespace berth::linux {

namespace {

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// The state on the hook's stdin. A socket rather than a pipe:
// send(MSG_NOSIGNAL) survives a hook that exits without reading, with no
// process-wide SIGPIPE disposition change (an ignored signal would be
// inherited by the container's process).
void send_state(int socket, const std::string& state_json) {
  size_t sent = 0;
  while (sent < state_json.size()) {
    ssize_t n = ::send(socket, state_json.data() + sent, state_json.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the hook closed its stdin: it does not want the state
    sent += static_cast<size_t>(n);
  }
}

Status hook_outcome(const spec::Hook& hook, int status) {
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && ::access(hook.path.c_str(), X_OK) != 0)
    return sys_error("{}: cannot execute", hook.path);
  if (WIFSIGNALED(status))
    return make_error("{}: killed by signal {}", hook.path, WTERMSIG(status));
  if (WEXITSTATUS(status) != 0)
    return make_error("{}: exited with status {}", hook.path, WEXITSTATUS(status));
  return ok();
}

Status run_hook(const spec::Hook& hook, const std::string& state_json) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
    return sys_error("create a socket for the hook's stdin");
  UniqueFd read_end(fds[0]), write_end(fds[1]);

  // argv[0] is args[0] when given, as runc passes hook args verbatim.
  std::vector<std::string> args =
      hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<char*> argv = c_strings(args);
  std::vector<char*> envp = c_strings(hook.env);

  // fork, not clone3: startContainer hooks run in init under the
  // container's seccomp filter, and Docker's default profile refuses clone3
  // (ENOSYS) where it allows fork.
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    ::dup2(read_end.get(), 0);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  // Killed and reaped by its owner on every early return (a timeout too).
  ChildProcess child(pid, UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))));
  if (child.pidfd() < 0) return sys_error("pidfd_open");
  read_end.reset();
  send_state(write_end.get(), state_json);
  write_end.reset();

  int timeout_ms = hook.timeout ? *hook.timeout * 1000 : -1;
  if (!TRY_VALUE(wait_for_exit(child.pidfd(), timeout_ms)))
    return make_error("{}: timed out after {} s", hook.path, *hook.timeout);
  int status = TRY_VALUE(child.wait());
  return hook_outcome(hook, status);
}

}  // namespace

Status run_hooks(const char* kind, const std::vector<spec::Hook>& hooks,
                 const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i)
    TRY_CTX(run_hook(hooks[i], state_json), "{} hook[{}]", kind, i);
  return ok();
}

}  // namespace berth::linux
