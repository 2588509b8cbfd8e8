// Running processes for the tests: berth in the foreground with a timeout,
// or in the background (on a terminal) while the test acts on it.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "harness.h"

extern char** environ;

namespace berth::ltest {

std::ostream& operator<<(std::ostream& os, const ProcessResult& result) {
  os << "`" << result.command << "`: ";
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

namespace {

std::string read_all_from_start(int fd) {
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

bool wait_for_pidfd(int pidfd, std::chrono::milliseconds timeout) {
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

std::string join(const std::vector<std::string>& argv) {
  std::string joined;
  for (const std::string& arg : argv) {
    joined += joined.empty() ? "" : " ";
    joined += arg.find_first_of(" '\"$;") == std::string::npos ? arg : "'" + arg + "'";
  }
  return joined;
}

// Our environment with options.env applied, as execve wants it.
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
// only async-signal-safe calls are allowed.
struct ChildSetup {
  std::vector<std::string> argv, env;
  std::vector<char*> argv_c, env_c;
  const char* cwd = nullptr;
  int netns_fd = -1;
};

[[noreturn]] void exec_child(const ChildSetup& setup, int in, int out, int err, int terminal) {
  if (terminal >= 0) {
    if (::setsid() < 0 || ::ioctl(terminal, TIOCSCTTY, 0) < 0) ::_exit(126);
    in = out = err = terminal;
  }
  if (setup.netns_fd >= 0 && ::setns(setup.netns_fd, CLONE_NEWNET) < 0) ::_exit(126);
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
  ::close_range(3, ~0U, 0);
  // gtest's death-test machinery and our own waits use signals; the child
  // starts with the default dispositions and nothing blocked.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (setup.cwd && ::chdir(setup.cwd) != 0) ::_exit(126);
  ::execve(setup.argv_c[0], setup.argv_c.data(), setup.env_c.data());
  ::_exit(127);
}

ChildSetup make_setup(const std::vector<std::string>& argv, const ProcessOptions& options) {
  ChildSetup setup;
  setup.argv = argv;
  setup.env = child_environment(options.env);
  setup.netns_fd = options.netns_fd;
  setup.argv_c = c_strings(setup.argv);
  setup.env_c = c_strings(setup.env);
  setup.cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  return setup;
}

ProcessResult reap(pid_t pid, int pidfd, bool timed_out_already,
                   std::chrono::milliseconds timeout) {
  ProcessResult result;
  if (timed_out_already || pidfd < 0 || !wait_for_pidfd(pidfd, timeout)) {
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

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  UniqueFd out = make_memfd("stdout"), err = make_memfd("stderr");
  UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int in = options.stdin_fd >= 0 ? options.stdin_fd : dev_null.get();
  ChildSetup setup = make_setup(argv, options);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
  if (pid == 0) exec_child(setup, in, out.get(), err.get(), -1);
  UniqueFd pidfd = open_pidfd(pid);
  ProcessResult result = reap(pid, pidfd.get(), false, options.timeout);
  result.command = join(argv);
  result.out = read_all_from_start(out.get());
  result.err = read_all_from_start(err.get());
  return result;
}

BackgroundProcess BackgroundProcess::start(const std::vector<std::string>& argv,
                                           const ProcessOptions& options, int terminal) {
  BackgroundProcess process;
  process.command_ = join(argv);
  process.out_ = make_memfd("stdout");
  process.err_ = make_memfd("stderr");
  UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int in = options.stdin_fd >= 0 ? options.stdin_fd : dev_null.get();
  ChildSetup setup = make_setup(argv, options);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
  if (pid == 0) exec_child(setup, in, process.out_.get(), process.err_.get(), terminal);
  process.pid_ = pid;
  process.pidfd_ = open_pidfd(pid);
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

std::string BackgroundProcess::out() const { return out_ ? read_all_from_start(out_.get()) : ""; }
std::string BackgroundProcess::err() const { return err_ ? read_all_from_start(err_.get()) : ""; }

bool wait_for_pid_exit(pid_t pid, std::chrono::milliseconds timeout) {
  UniqueFd pidfd = open_pidfd(pid);
  if (!pidfd) return errno == ESRCH;
  return wait_for_pidfd(pidfd.get(), timeout);
}

}  // namespace berth::ltest
