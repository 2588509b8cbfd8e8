#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "suite_environment.h"

#ifndef BERTH_RUNTIME_BINARY
#error "tests/integration/CMakeLists.txt defines BERTH_RUNTIME_BINARY"
#endif

extern char** environ;

namespace berth::itest {
namespace fs = std::filesystem;

std::ostream& operator<<(std::ostream& os, const ProcessResult& result) {
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

// "\040" in mountinfo is a space, and so on.
std::string unescape_mountinfo(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

}  // namespace

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

ProcessResult run_process(const std::vector<std::string>& argv, const RunOptions& options) {
  ProcessResult result;
  UniqueFd own_out, own_err;
  int out_fd = options.stdout_fd;
  int err_fd = options.stderr_fd;
  if (out_fd < 0) {
    own_out = make_memfd("stdout");
    out_fd = own_out.get();
  }
  if (err_fd < 0) {
    own_err = make_memfd("stderr");
    err_fd = own_err.get();
  }
  UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int in_fd = options.stdin_fd >= 0 ? options.stdin_fd : dev_null.get();

  // Everything the child needs is built before fork: between fork and exec
  // only async-signal-safe calls are allowed (other test threads may hold
  // the allocator's locks).
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();

  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) ::_exit(126);
    unsigned first_closed = 3;
    if (options.extra_fd >= 0) {
      // dup2 onto itself keeps close-on-exec: clear it either way.
      if (::dup2(options.extra_fd, 3) < 0 || ::fcntl(3, F_SETFD, 0) < 0) ::_exit(126);
      first_closed = 4;
    }
    ::close_range(first_closed, ~0U, 0);
    if (cwd && ::chdir(cwd) != 0) ::_exit(126);
    ::execve(args[0], args.data(), environ);
    ::_exit(127);
  }

  UniqueFd pidfd = open_pidfd(pid);
  if (!pidfd || !wait_for_exit(pidfd.get(), options.timeout)) {
    result.timed_out = true;
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  result.out = read_from_start(out_fd);
  result.err = read_from_start(err_fd);
  return result;
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

const std::string& runtime_binary() {
  static const std::string binary = [] {
    const char* from_env = std::getenv("BERTH_TEST_RUNTIME");
    return std::string(from_env && *from_env ? from_env : BERTH_RUNTIME_BINARY);
  }();
  return binary;
}

bool runtime_is_runc() { return suite().is_runc; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) throw std::runtime_error("open " + path + ": " + strerror(errno));
  if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    throw std::runtime_error("write " + path + ": " + strerror(errno));
  ::fchmod(fd.get(), mode);  // O_CREAT's mode is filtered by the umask
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string random_hex(size_t length) {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < length; ++i) out += digits[engine() % 16];
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string status_field(const std::string& status_text, const std::string& name) {
  for (const std::string& line : split_lines(status_text)) {
    if (line.rfind(name + ":", 0) != 0) continue;
    size_t start = line.find_first_not_of(" \t", name.size() + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "<no " + name + " field>";
}

std::vector<MountEntry> parse_mountinfo(const std::string& text) {
  std::vector<MountEntry> mounts;
  for (const std::string& line : split_lines(text)) {
    size_t separator = line.find(" - ");
    if (separator == std::string::npos) continue;
    MountEntry entry;
    std::istringstream head(line.substr(0, separator));
    std::string id, parent, devno, field;
    head >> id >> parent >> devno >> entry.root >> entry.mount_point >> entry.options;
    while (head >> field)
      entry.optional_fields += (entry.optional_fields.empty() ? "" : " ") + field;
    std::istringstream tail(line.substr(separator + 3));
    tail >> entry.fstype >> entry.source >> entry.super_options;
    entry.root = unescape_mountinfo(entry.root);
    entry.mount_point = unescape_mountinfo(entry.mount_point);
    entry.source = unescape_mountinfo(entry.source);
    mounts.push_back(entry);
  }
  return mounts;
}

const MountEntry* find_mount(const std::vector<MountEntry>& mounts,
                             const std::string& mount_point) {
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it)
    if (it->mount_point == mount_point) return &*it;
  return nullptr;
}

bool has_option(const std::string& options, const std::string& option) {
  std::istringstream list(options);
  std::string item;
  while (std::getline(list, item, ','))
    if (item == option) return true;
  return false;
}

std::vector<std::string> mounts_under(const std::string& prefix) {
  std::vector<std::string> found;
  for (const MountEntry& entry : parse_mountinfo(read_file("/proc/self/mountinfo")))
    if (entry.mount_point == prefix || entry.mount_point.rfind(prefix + "/", 0) == 0)
      found.push_back(entry.mount_point);
  return found;
}

// ---------------------------------------------------------------------------

void ContainerTest::SetUp() {
  char dir_template[] = "/tmp/berth-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr) << strerror(errno);
  dir_ = dir_template;
  root_ = dir_ + "/state";
  bundle_ = dir_ + "/bundle";
  rootfs_ = bundle_ + "/rootfs";
  ::mkdir(bundle_.c_str(), 0755);
  make_busybox_rootfs(rootfs_);
  spec = suite().default_spec;
}

void ContainerTest::TearDown() {
  // Without a temp dir (SetUp failed early) there is nothing of ours to
  // check, and an empty prefix would match every mount of the host.
  if (dir_.empty()) return;
  for (const std::string& id : ids_) Run({"delete", "--force", id}, {.timeout = 10s});
  CheckNothingLeft();
}

void ContainerTest::CheckNothingLeft() {
  for (UniqueFd& pidfd : init_pidfds_)
    EXPECT_TRUE(wait_for_exit(pidfd.get(), 3s)) << "a container's init outlived delete --force";

  for (const std::string& id : ids_)
    EXPECT_FALSE(path_exists(StateDir(id))) << "state dir left behind: " << StateDir(id);

  for (const std::string& id : ids_) {
    for (const std::string& hierarchy : suite().cgroup_mounts) {
      std::string directory = hierarchy + CgroupPathFor(id);
      if (!path_exists(directory)) continue;
      ADD_FAILURE() << "cgroup left behind: " << directory
                    << "\ncgroup.procs: " << read_file(directory + "/cgroup.procs");
      remove_cgroup_tree(directory);
    }
  }

  std::vector<std::string> mounts = mounts_under(dir_);
  if (!mounts.empty()) {
    std::string listed;
    for (const std::string& mount : mounts) listed += "\n  " + mount;
    ADD_FAILURE() << "mounts left behind in the host's mount namespace:" << listed;
  }
  // Deepest first, so each unmount uncovers the next.
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);

  // remove_all must never cross into a mount still there (a bind of a host
  // directory would lose the host's files).
  if (mounts_under(dir_).empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

ProcessResult ContainerTest::Run(std::vector<std::string> args, const RunOptions& options) {
  std::vector<std::string> argv = {runtime_binary(), "--root", root_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, options);
}

std::string ContainerTest::NewId() {
  std::string id = "berth-t-" + random_hex(12);
  ids_.push_back(id);
  return id;
}

std::string ContainerTest::CgroupPathFor(const std::string& id) const {
  return "/" + suite().cgroup_parent + "/" + id;
}

ProcessResult ContainerTest::Create(const std::string& id, std::vector<std::string> extra_flags) {
  WriteSpec(id);
  ContainerIo& io = io_[id];
  io.out = make_memfd("container-stdout");
  io.err = make_memfd("container-stderr");
  std::vector<std::string> args = {"create", "--bundle", bundle_, "--pid-file", PidFilePath(id)};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  args.push_back(id);
  return Run(args, {.stdout_fd = io.out.get(), .stderr_fd = io.err.get()});
}

ProcessResult ContainerTest::Delete(const std::string& id, bool force) {
  if (force) return Run({"delete", "--force", id});
  return Run({"delete", id});
}

ProcessResult ContainerTest::RunContainer(const std::string& id,
                                          std::vector<std::string> extra_flags) {
  WriteSpec(id);
  std::vector<std::string> args = {"run", "--bundle", bundle_};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  args.push_back(id);
  return Run(args);
}

void ContainerTest::CreateAndStart(const std::string& id) {
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  ProcessResult started = Start(id);
  ASSERT_TRUE(started.succeeded()) << started;
}

json ContainerTest::State(const std::string& id) {
  ProcessResult result = Run({"state", id});
  if (!result.succeeded()) {
    ADD_FAILURE() << "state " << id << ": " << result;
    return json();
  }
  try {
    return json::parse(result.out);
  } catch (const json::exception& error) {
    ADD_FAILURE() << "state " << id << " printed no JSON (" << error.what() << "): " << result;
    return json();
  }
}

std::string ContainerTest::Status(const std::string& id) {
  json state = State(id);
  return state.is_object() ? state.value("status", "<no status>") : "<no state>";
}

pid_t ContainerTest::InitPid(const std::string& id) {
  json state = State(id);
  pid_t pid = state.is_object() ? state.value("pid", 0) : 0;
  if (pid <= 0) {
    ADD_FAILURE() << "no pid in the state of " << id << ": " << state.dump();
    return 0;
  }
  UniqueFd pidfd = open_pidfd(pid);
  if (pidfd) init_pidfds_.push_back(std::move(pidfd));
  return pid;
}

bool ContainerTest::WaitForStatus(const std::string& id, const std::string& status,
                                  std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    ProcessResult state = Run({"state", id});
    if (state.succeeded() && json::parse(state.out, nullptr, false).value("status", "") == status)
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

void ContainerTest::WaitStopped(const std::string& id, std::chrono::milliseconds timeout) {
  json state = State(id);
  if (!state.is_object() || state.value("status", "") == "stopped") return;
  pid_t pid = state.value("pid", 0);
  UniqueFd pidfd = open_pidfd(pid);
  if (pid > 0 && pidfd) {
    EXPECT_TRUE(wait_for_exit(pidfd.get(), timeout)) << "init " << pid << " still runs";
  }
  // The runtime may notice the exit a moment after the pidfd does.
  EXPECT_TRUE(WaitForStatus(id, "stopped", 2s)) << "state: " << State(id).dump();
}

std::string ContainerTest::ContainerStdout(const std::string& id) {
  auto it = io_.find(id);
  return it == io_.end() ? "" : read_from_start(it->second.out.get());
}

bool ContainerTest::WaitForStdout(const std::string& id, const std::string& text,
                                  std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ContainerStdout(id).find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string ContainerTest::ContainerStderr(const std::string& id) {
  auto it = io_.find(id);
  return it == io_.end() ? "" : read_from_start(it->second.err.get());
}

void ContainerTest::ExpectCleanFailure(const ProcessResult& result, const std::string& expected) {
  EXPECT_EQ(result.exit_code, 1) << result;
  EXPECT_NE(result.err.find(expected), std::string::npos)
      << "expected \"" << expected << "\" on stderr; " << result;
}

// --- spec edits --------------------------------------------------------------

void ContainerTest::SetArgs(std::vector<std::string> args) { spec["process"]["args"] = args; }
void ContainerTest::SetEnv(std::vector<std::string> env) { spec["process"]["env"] = env; }
void ContainerTest::SetCwd(const std::string& cwd) { spec["process"]["cwd"] = cwd; }
void ContainerTest::SetHostname(const std::string& hostname) { spec["hostname"] = hostname; }
void ContainerTest::SetReadonlyRoot(bool readonly) { spec["root"]["readonly"] = readonly; }
void ContainerTest::SetTerminal(bool terminal) { spec["process"]["terminal"] = terminal; }

void ContainerTest::SetUser(uid_t uid, gid_t gid, std::vector<gid_t> additional_gids) {
  json user = {{"uid", uid}, {"gid", gid}};
  if (!additional_gids.empty()) user["additionalGids"] = additional_gids;
  spec["process"]["user"] = user;
}

void ContainerTest::AddMount(const std::string& destination, const std::string& type,
                             const std::string& source, std::vector<std::string> options) {
  spec["mounts"].push_back(
      {{"destination", destination}, {"type", type}, {"source", source}, {"options", options}});
}

void ContainerTest::AddBindMount(const std::string& source, const std::string& destination,
                                 bool readonly) {
  std::vector<std::string> options = {"rbind", readonly ? "ro" : "rw"};
  AddMount(destination, "bind", source, options);
}

void ContainerTest::SetCapabilities(const CapabilitySets& sets) {
  spec["process"]["capabilities"] = {{"bounding", sets.bounding},
                                     {"effective", sets.effective},
                                     {"permitted", sets.permitted},
                                     {"inheritable", sets.inheritable},
                                     {"ambient", sets.ambient}};
}

void ContainerTest::SetSeccomp(json seccomp) { spec["linux"]["seccomp"] = std::move(seccomp); }

void ContainerTest::SetRlimit(const std::string& type, unsigned long long soft,
                              unsigned long long hard) {
  json& rlimits = spec["process"]["rlimits"];
  if (!rlimits.is_array()) rlimits = json::array();
  for (json& rlimit : rlimits) {
    if (rlimit.value("type", "") == type) {
      rlimit["soft"] = soft;
      rlimit["hard"] = hard;
      return;
    }
  }
  rlimits.push_back({{"type", type}, {"soft", soft}, {"hard", hard}});
}

void ContainerTest::AddHook(const std::string& kind, const std::string& path,
                            std::vector<std::string> args, std::vector<std::string> env,
                            int timeout_seconds) {
  json hook = {{"path", path}, {"args", args}};
  if (!env.empty()) hook["env"] = env;
  if (timeout_seconds > 0) hook["timeout"] = timeout_seconds;
  spec["hooks"][kind].push_back(hook);
}

void ContainerTest::RemoveNamespace(const std::string& type) {
  json& namespaces = spec["linux"]["namespaces"];
  for (auto it = namespaces.begin(); it != namespaces.end(); ++it) {
    if (it->value("type", "") == type) {
      namespaces.erase(it);
      return;
    }
  }
}

void ContainerTest::SetNamespace(const std::string& type, const std::string& path) {
  RemoveNamespace(type);
  json entry = {{"type", type}};
  if (!path.empty()) entry["path"] = path;
  spec["linux"]["namespaces"].push_back(entry);
}

void ContainerTest::WriteSpec(const std::string& id) {
  spec["linux"]["cgroupsPath"] = CgroupPathFor(id);
  write_file(bundle_ + "/config.json", spec.dump(2) + "\n");
}

std::string NamespaceOf(pid_t pid, const std::string& proc_name) {
  char target[256] = {};
  std::string link = "/proc/" + std::to_string(pid) + "/ns/" + proc_name;
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, n) : "<readlink " + link + " failed>";
}

}  // namespace berth::itest
