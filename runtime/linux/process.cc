#include "linux/process.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "core/files.h"

namespace berth::linux {

Status switch_user(const spec::User& user) {
  std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
  // setgroups is denied in a user namespace whose setgroups file says
  // "deny"; an empty list is then the only possible one anyway.
  if (::setgroups(groups.size(), groups.data()) < 0 && !(errno == EPERM && groups.empty()))
    return sys_error("setgroups {}", fmt::join(groups, ","));
  if (::setresgid(user.gid, user.gid, user.gid) < 0) return sys_error("setgid {}", user.gid);
  if (::setresuid(user.uid, user.uid, user.uid) < 0) return sys_error("setuid {}", user.uid);
  return ok();
}

namespace {

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) {
    // As runc (Go's exec.LookPath): a file that cannot be executed fails
    // here, before start, with EACCES (Docker's exit status 126).
    struct stat st;
    if (::stat(name.c_str(), &st) < 0) {
      Error error = sys_error("exec: \"{}\"", name);
      return error.set_kind(error.errno_value() == ENOENT ? ErrorKind::kExecNotFound
                                                          : ErrorKind::kExecPermissionDenied);
    }
    if (!S_ISREG(st.st_mode) || ::access(name.c_str(), X_OK) < 0)
      return Error(fmt::format("exec: \"{}\": permission denied", name), EACCES,
                   ErrorKind::kExecPermissionDenied);
    return name;
  }
  std::string path_value = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const std::string& entry : env)
    if (entry.rfind("PATH=", 0) == 0) path_value = entry.substr(5);
  size_t start = 0;
  while (start <= path_value.size()) {
    size_t end = path_value.find(':', start);
    if (end == std::string::npos) end = path_value.size();
    std::string dir = path_value.substr(start, end - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    start = end + 1;
  }
  return Error(fmt::format("exec: \"{}\": executable file not found in $PATH", name), ENOENT,
               ErrorKind::kExecNotFound);
}

int exit_status(int wait_status) {
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return WEXITSTATUS(wait_status);
}

std::string describe_wait_status(int wait_status) {
  if (WIFSIGNALED(wait_status)) return fmt::format("killed by signal {}", WTERMSIG(wait_status));
  return fmt::format("exited with status {}", WEXITSTATUS(wait_status));
}

Status check_preserved_fds(int count) {
  for (int fd = 3; fd < 3 + count; ++fd)
    if (::fcntl(fd, F_GETFD) < 0)
      return sys_error("--preserve-fds {}: fd {} is not open", count, fd);
  return ok();
}

void close_runtime_fds_on_exec(int preserved) {
  ::syscall(SYS_close_range, static_cast<unsigned>(3 + preserved), ~0U, CLOSE_RANGE_CLOEXEC);
  // The caller may have passed them close-on-exec; runc hands them to the
  // container either way.
  for (int fd = 3; fd < 3 + preserved; ++fd) ::fcntl(fd, F_SETFD, 0);
}

void reset_signals() {
  struct sigaction action = {};
  action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &action, nullptr);  // EINVAL for KILL/STOP
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

Error exec_process(const std::string& path, const spec::Process& process) {
  std::vector<char*> argv, envp;
  for (const std::string& a : process.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : process.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(path.c_str(), argv.data(), envp.data());
  Error error = sys_error("exec {}", path);
  // find_executable found the file; execve can still not find what it needs
  // (a script's interpreter: ENOENT) or be refused it (EACCES). Other
  // failures (ENOEXEC, E2BIG, ...) are not about finding or running it.
  if (error.errno_value() == ENOENT) error.set_kind(ErrorKind::kExecNotFound);
  if (error.errno_value() == EACCES) error.set_kind(ErrorKind::kExecPermissionDenied);
  return error;
}

Status apply_kernel_settings(const spec::Spec& spec) {
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
    return sys_error("set hostname \"{}\"", spec.hostname);
  if (!spec.domainname.empty() &&
      ::setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
    return sys_error("set domainname \"{}\"", spec.domainname);
  if (spec.linux) {
    for (const auto& [key, value] : spec.linux->sysctl) {
      // "net.ipv4.ip_forward" -> /proc/sys/net/ipv4/ip_forward; a key with
      // "/" or ".." could otherwise walk out of /proc/sys.
      if (key.find("..") != std::string::npos || key.find('/') != std::string::npos)
        return make_error("linux.sysctl: invalid key \"{}\"", key);
      std::string path = "/proc/sys/" + key;
      std::replace(path.begin() + 10, path.end(), '.', '/');
      TRY_CTX(write_file(path, value), "linux.sysctl {}={}", key, value);
    }
  }
  return ok();
}

unsigned long long process_start_time(pid_t pid, bool* zombie) {
  auto stat = read_file(fmt::format("/proc/{}/stat", pid));
  if (!stat) return 0;
  // Fields after the command name, which may hold spaces and parentheses.
  const std::string& text = stat.value();
  size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return 0;
  char state = text[close + 2];
  if (zombie) *zombie = state == 'Z' || state == 'X';
  const char* p = text.c_str() + close + 2;
  // p is at field 3 (state); the start time is field 22.
  for (int field = 3; field < 22 && *p; ++p)
    if (*p == ' ') ++field;
  return std::strtoull(p, nullptr, 10);
}

}  // namespace berth::linux
