#include "linux/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "core/files.h"
#include "core/unique_fd.h"

namespace berth::linux {

namespace {

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

Status run_hook(const spec::Hook& hook, const std::string& state_json) {
  // A socket rather than a pipe: send(MSG_NOSIGNAL) survives a hook that
  // exits without reading, with no process-wide SIGPIPE disposition change
  // (an ignored signal would be inherited by the container's process).
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
    return sys_error("create a socket for the hook's stdin");
  UniqueFd read_end(fds[0]), write_end(fds[1]);

  // argv[0] is args[0] when given, as runc passes hook args verbatim.
  std::vector<std::string> args =
      hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<char*> argv = c_strings(args);
  std::vector<char*> envp = c_strings(hook.env);

  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    ::dup2(read_end.get(), 0);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  read_end.reset();
  size_t sent = 0;
  while (sent < state_json.size()) {
    ssize_t n =
        ::send(write_end.get(), state_json.data() + sent, state_json.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the hook closed its stdin: it does not want the state
    sent += static_cast<size_t>(n);
  }
  write_end.reset();

  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return sys_error("pidfd_open");
  int timeout_ms = hook.timeout ? *hook.timeout * 1000 : -1;
  struct pollfd pfd = {pidfd.get(), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&pfd, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return make_error("{}: timed out after {} s", hook.path, *hook.timeout);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return sys_error("wait for hook {}", hook.path);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && ::access(hook.path.c_str(), X_OK) != 0)
    return sys_error("{}: cannot execute", hook.path);
  if (WIFSIGNALED(status))
    return make_error("{}: killed by signal {}", hook.path, WTERMSIG(status));
  if (WEXITSTATUS(status) != 0)
    return make_error("{}: exited with status {}", hook.path, WEXITSTATUS(status));
  return ok();
}

}  // namespace

Status run_hooks(const char* kind, const std::vector<spec::Hook>& hooks,
                 const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i)
    TRY_CTX(run_hook(hooks[i], state_json), "{} hook[{}]", kind, i);
  return ok();
}

}  // namespace berth::linux
