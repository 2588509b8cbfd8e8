#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "support/files.h"

extern char** environ;

namespace berth::test {

std::ostream& operator<<(std::ostream& os, const ProcessResult& result) {
  if (!result.command.empty()) os << "`" << result.command << "`: ";
  if (result.timed_out)
    os << "timed out (killed)";
  else if (result.signal != 0)
    os << "killed by signal " << result.signal;
  else
    os << "exit status " << result.exit_code;
  return os << "\n--- stdout ---\n"
            << result.out << "\n--- stderr ---\n"
            << result.err << "\n--------------";
}

std::string read_from_start(int fd) {
  std::string content;
  char buffer[8192];
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    content.append(buffer, static_cast<size_t>(n));
    offset += n;
  }
  return content;
}

UniqueFd make_memfd(const char* name) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) throw std::runtime_error(std::string("memfd_create: ") + strerror(errno));
  return fd;
}

UniqueFd open_pidfd(pid_t pid) {
  // glibc 2.36's <sys/pidfd.h> lacks extern "C": call the kernel directly.
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

bool wait_for_exit(int pidfd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd entry{pidfd, POLLIN, 0};
    int ready = ::poll(&entry, 1, static_cast<int>(std::max<long>(left.count(), 0)));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool wait_for_pid_exit(pid_t pid, std::chrono::milliseconds timeout) {
  UniqueFd pidfd = open_pidfd(pid);
  if (!pidfd) return errno == ESRCH;
  return wait_for_exit(pidfd.get(), timeout);
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

namespace {

std::string join(const std::vector<std::string>& argv) {
  std::string joined;
  for (const std::string& arg : argv) {
    joined += joined.empty() ? "" : " ";
    joined += arg.find_first_of(" '\"$;") == std::string::npos ? arg : "'" + arg + "'";
  }
  return joined;
}

// Our environment with the overrides applied, as execve wants it.
std::vector<std::string> child_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (const std::string& entry : overrides) {
    std::string key = entry.substr(0, entry.find('='));
    std::erase_if(env, [&](const std::string& e) { return e.substr(0, e.find('=')) == key; });
    env.push_back(entry);
  }
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Everything the child needs is built before fork: between fork and exec
// only async-signal-safe calls are allowed (other test threads may hold the
// allocator's locks).
struct ChildSetup {
  std::vector<std::string> argv, env;
  std::vector<char*> argv_c, env_c;
  const char* cwd = nullptr;
  int netns_fd = -1;
  int extra_fd = -1;
  pid_t die_with = -1;  // die when this process (our parent) does; -1: never
};

ChildSetup make_setup(const std::vector<std::string>& argv, const ProcessOptions& options) {
  ChildSetup setup;
  setup.argv = argv;
  setup.env = child_environment(options.env);
  setup.netns_fd = options.netns_fd;
  setup.extra_fd = options.extra_fd;
  if (options.die_with_parent) setup.die_with = ::getpid();
  setup.argv_c = c_strings(setup.argv);
  setup.env_c = c_strings(setup.env);
  setup.cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  return setup;
}

[[noreturn]] void exec_child(const ChildSetup& setup, int in, int out, int err, int terminal) {
  // The parent may have died between fork and prctl: then nothing would
  // signal us, and we are now another process's child.
  if (setup.die_with > 0 &&
      (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || ::getppid() != setup.die_with))
    ::_exit(126);
  if (terminal >= 0) {
    if (::setsid() < 0 || ::ioctl(terminal, TIOCSCTTY, 0) < 0) ::_exit(126);
    in = out = err = terminal;
  }
  if (setup.netns_fd >= 0 && ::setns(setup.netns_fd, CLONE_NEWNET) < 0) ::_exit(126);
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
  unsigned first_closed = 3;
  if (setup.extra_fd >= 0) {
    // dup2 onto itself keeps close-on-exec: clear it either way.
    if (::dup2(setup.extra_fd, 3) < 0 || ::fcntl(3, F_SETFD, 0) < 0) ::_exit(126);
    first_closed = 4;
  }
  ::close_range(first_closed, ~0U, 0);
  // gtest's death-test machinery and our own waits use signals; the child
  // starts with the default dispositions and nothing blocked.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (setup.cwd && ::chdir(setup.cwd) != 0) ::_exit(126);
  ::execve(setup.argv_c[0], setup.argv_c.data(), setup.env_c.data());
  ::_exit(127);
}

// Forks the child with stdin from options (or /dev/null); its stdout and
// stderr go to out and err.
pid_t spawn(const std::vector<std::string>& argv, const ProcessOptions& options, int out, int err,
            int terminal) {
  UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int in = options.stdin_fd >= 0 ? options.stdin_fd : dev_null.get();
  ChildSetup setup = make_setup(argv, options);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
  if (pid == 0) exec_child(setup, in, out, err, terminal);
  return pid;
}

ProcessResult reap(pid_t pid, int pidfd, bool kill_now, std::chrono::milliseconds timeout) {
  ProcessResult result;
  if (kill_now || pidfd < 0 || !wait_for_exit(pidfd, timeout)) {
    result.timed_out = true;
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

// The fd given, or a fresh memfd kept in own.
int output_fd(int given, UniqueFd& own, const char* name) {
  if (given >= 0) return given;
  own = make_memfd(name);
  return own.get();
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  UniqueFd own_out, own_err;
  int out = output_fd(options.stdout_fd, own_out, "stdout");
  int err = output_fd(options.stderr_fd, own_err, "stderr");
  pid_t pid = spawn(argv, options, out, err, -1);
  UniqueFd pidfd = open_pidfd(pid);
  ProcessResult result = reap(pid, pidfd.get(), false, options.timeout);
  result.command = join(argv);
  result.out = read_from_start(out);
  result.err = read_from_start(err);
  return result;
}

ProcessResult run_shell(const std::string& command, const ProcessOptions& options) {
  return run_process({"/bin/sh", "-c", command + " 2>&1"}, options);
}

BackgroundProcess BackgroundProcess::start(const std::vector<std::string>& argv,
                                           const ProcessOptions& options, int terminal) {
  BackgroundProcess process;
  process.command_ = join(argv);
  process.out_fd_ = output_fd(options.stdout_fd, process.out_, "stdout");
  process.err_fd_ = output_fd(options.stderr_fd, process.err_, "stderr");
  process.pid_ = spawn(argv, options, process.out_fd_, process.err_fd_, terminal);
  process.pidfd_ = open_pidfd(process.pid_);
  return process;
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0) reap(pid_, pidfd_.get(), true, 0ms);
}

ProcessResult BackgroundProcess::wait(std::chrono::milliseconds timeout) {
  ProcessResult result;
  if (pid_ > 0) result = reap(pid_, pidfd_.get(), false, timeout);
  pid_ = -1;
  result.command = command_;
  result.out = out();
  result.err = err();
  return result;
}

std::string BackgroundProcess::out() const { return out_fd_ >= 0 ? read_from_start(out_fd_) : ""; }
std::string BackgroundProcess::err() const { return err_fd_ >= 0 ? read_from_start(err_fd_) : ""; }

}  // namespace berth::test
