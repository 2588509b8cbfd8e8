#include "harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "suite_environment.h"

#ifndef BERTH_RUNTIME_BINARY
#error "tests/integration/CMakeLists.txt defines BERTH_RUNTIME_BINARY"
#endif

namespace berth::test::itest {

const std::string& runtime_binary() {
  static const std::string binary = [] {
    const char* from_env = std::getenv("BERTH_TEST_RUNTIME");
    return std::string(from_env && *from_env ? from_env : BERTH_RUNTIME_BINARY);
  }();
  return binary;
}

bool runtime_is_runc() { return suite().is_runc; }

// ---------------------------------------------------------------------------

void ContainerTest::SetUp() {
  temp_ = TempDir("berth-test");
  dir_ = temp_.path();
  root_ = dir_ + "/state";
  bundle_ = dir_ + "/bundle";
  rootfs_ = bundle_ + "/rootfs";
  ::mkdir(bundle_.c_str(), 0755);
  make_busybox_rootfs(rootfs_);
  spec = suite().default_spec;
  leaks_ = LeakCheck({.mount_prefixes = {dir_}});
}

void ContainerTest::TearDown() {
  // Without a temp dir (SetUp failed early) there is nothing of ours to check.
  if (dir_.empty()) return;
  for (const std::string& id : ids_) Run({"delete", "--force", id}, {.timeout = 10s});
  // What is left fails the test and is cleaned up; temp_ then goes with
  // the fixture (but never through a mount still there).
  leaks_.expect_nothing_left();
}

ProcessResult ContainerTest::Run(std::vector<std::string> args, const ProcessOptions& options) {
  std::vector<std::string> argv = {runtime_binary(), "--root", root_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, options);
}

std::string ContainerTest::NewId() {
  std::string id = "berth-t-" + random_hex(12);
  ids_.push_back(id);
  leaks_.watch_path(StateDir(id), "state dir");
  for (const std::string& hierarchy : suite().cgroup_mounts)
    leaks_.watch_cgroup(hierarchy + CgroupPathFor(id));
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

ContainerTest::TerminalRun ContainerTest::RunOnTerminal(std::vector<std::string> args,
                                                        const std::string& until,
                                                        unsigned short rows, unsigned short cols) {
  Pty pty = open_pty(rows, cols);
  std::vector<std::string> argv = {runtime_binary(), "--root", root_};
  argv.insert(argv.end(), args.begin(), args.end());
  BackgroundProcess runtime = BackgroundProcess::start(argv, {}, pty.slave.get());
  pty.slave.reset();  // the master reads EIO once the runtime and the container are gone
  TerminalRun run;
  run.shown = read_terminal_until(pty.master.get(), until, 10s);
  run.result = runtime.wait(5s);
  return run;
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
  leaks_.watch_process(open_pidfd(pid), "a container's init outlived delete --force");
  return pid;
}

bool ContainerTest::WaitForStatus(const std::string& id, const std::string& status,
                                  std::chrono::milliseconds timeout) {
  auto reports_status = [&] {
    ProcessResult state = Run({"state", id});
    return state.succeeded() &&
           json::parse(state.out, nullptr, false).value("status", "") == status;
  };
  return eventually(reports_status, timeout, 10ms);
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
  return eventually([&] { return ContainerStdout(id).find(text) != std::string::npos; }, timeout,
                    5ms);
}

std::string ContainerTest::ContainerStderr(const std::string& id) {
  auto it = io_.find(id);
  return it == io_.end() ? "" : read_from_start(it->second.err.get());
}

void ContainerTest::ExpectCommandLine(pid_t pid, const std::vector<std::string>& argv) {
  std::string expected;
  for (const std::string& arg : argv) expected += arg + '\0';
  std::string cmdline_file = "/proc/" + std::to_string(pid) + "/cmdline";
  eventually([&] { return read_file(cmdline_file) == expected; }, 2s, 5ms);
  EXPECT_EQ(read_file(cmdline_file), expected);
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

void ExpectCapabilityMasks(const ProcessResult& result, const CapabilityMasks& expected) {
  EXPECT_EQ(status_field(result.out, "CapBnd"), expected.bounding) << result;
  EXPECT_EQ(status_field(result.out, "CapPrm"), expected.permitted) << result;
  EXPECT_EQ(status_field(result.out, "CapEff"), expected.effective) << result;
  EXPECT_EQ(status_field(result.out, "CapInh"), expected.inheritable) << result;
  EXPECT_EQ(status_field(result.out, "CapAmb"), expected.ambient) << result;
}

std::string NamespaceOf(pid_t pid, const std::string& proc_name) {
  char target[256] = {};
  std::string link = "/proc/" + std::to_string(pid) + "/ns/" + proc_name;
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, n) : "<readlink " + link + " failed>";
}

}  // namespace berth::test::itest
