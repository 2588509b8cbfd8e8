// exec: a new process in a running container. It must land in the
// container's namespaces and cgroup, get the container's settings (seccomp)
// and its own (env, cwd, user, capabilities), report its exit status, and
// fail clearly (exit status 255, as runc's) when it cannot be started.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <future>
#include <thread>

#include "console_socket.h"
#include "harness.h"

namespace berth::test::itest {
namespace {

class ExecTest : public ContainerTest {
 protected:
  // A running container: init runs script, says "ready" and sleeps.
  void StartContainer(const std::string& id, const std::string& script = "") {
    SetShell(script + "echo ready; exec sleep 300");
    CreateAndStart(id);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(WaitForStdout(id, "ready")) << "init never got ready: " << ContainerStderr(id);
  }

  ProcessResult Exec(const std::string& id, std::vector<std::string> command,
                     std::vector<std::string> flags = {}, const ProcessOptions& options = {}) {
    std::vector<std::string> args = {"exec"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(id);
    args.insert(args.end(), command.begin(), command.end());
    return Run(args, options);
  }

  // exec failed before running anything: status 255 (runc 1.1's) and a
  // message holding `expected`, compared without case (runc's Go errors
  // say "permission denied", strerror "Permission denied").
  static void ExpectExecFailure(const ProcessResult& result, const std::string& expected) {
    EXPECT_EQ(result.exit_code, 255) << result;
    auto lower = [](std::string text) {
      std::transform(text.begin(), text.end(), text.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      return text;
    };
    EXPECT_NE(lower(result.err).find(lower(expected)), std::string::npos)
        << "expected \"" << expected << "\" on stderr; " << result;
  }

  std::string WriteProcessFile(const json& process) {
    std::string path = dir_ + "/process.json";
    write_file(path, process.dump(2));
    return path;
  }
};

// The process a --process file describes, as the container's default one.
json BaseProcess(std::vector<std::string> args) {
  return {{"args", args},
          {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
          {"cwd", "/"},
          {"user", {{"uid", 0}, {"gid", 0}}}};
}

TEST_F(ExecTest, ExecJoinsEveryNamespaceOfTheContainer) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  pid_t init = InitPid(id);
  const std::vector<std::string> kinds = {"mnt", "uts", "ipc", "net", "pid", "cgroup"};
  ProcessResult result = Exec(
      id,
      {"sh", "-c", "for ns in mnt uts ipc net pid cgroup; do readlink /proc/self/ns/$ns; done"});
  ASSERT_TRUE(result.succeeded()) << result;
  std::string expected;
  for (const std::string& kind : kinds) expected += NamespaceOf(init, kind) + "\n";
  EXPECT_EQ(result.out, expected);
}

TEST_F(ExecTest, ExecSeesTheContainersInitAsPid1) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  ProcessResult result = Exec(id, {"sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$"});
  ASSERT_TRUE(result.succeeded()) << result;
  std::vector<std::string> lines = split_lines(result.out);
  ASSERT_EQ(lines.size(), 2u) << result;
  EXPECT_EQ(lines[0], "sleep 300 ");
  EXPECT_NE(lines[1], "1") << "the exec'ed process is not the container's pid 1";
}

TEST_F(ExecTest, ExecSeesTheContainersHostnameAndMounts) {
  SetHostname("berth-exec-host");
  // A tmpfs exists only in the container's mount namespace: the file init
  // wrote there is visible only from inside.
  AddMount("/scratch", "tmpfs", "tmpfs", {"size=64k"});
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id, "echo from-init > /scratch/marker; "));
  ProcessResult result = Exec(id, {"sh", "-c", "hostname; cat /scratch/marker"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "berth-exec-host\nfrom-init\n");
}

TEST_F(ExecTest, ExecJoinsTheContainersCgroup) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  pid_t init = InitPid(id);
  ProcessResult inside =
      Exec(id, {"sh", "-c", "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup"});
  ASSERT_TRUE(inside.succeeded()) << inside;
  size_t separator = inside.out.find("--\n");
  ASSERT_NE(separator, std::string::npos) << inside;
  EXPECT_EQ(inside.out.substr(0, separator), inside.out.substr(separator + 3)) << inside;

  // And as the host sees it, every hierarchy.
  std::string pid_file = dir_ + "/exec.pid";
  ProcessResult detached = Exec(id, {"sleep", "30"}, {"--detach", "--pid-file", pid_file});
  ASSERT_TRUE(detached.succeeded()) << detached;
  pid_t pid = std::atoi(read_file(pid_file).c_str());
  ASSERT_GT(pid, 0) << read_file(pid_file);
  EXPECT_EQ(read_file("/proc/" + std::to_string(pid) + "/cgroup"),
            read_file("/proc/" + std::to_string(init) + "/cgroup"));
  ::kill(pid, SIGKILL);
}

TEST_F(ExecTest, ExecExitsWithTheProcessExitCode) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  ProcessResult result = Exec(id, {"sh", "-c", "exit 3"});
  EXPECT_EQ(result.exit_code, 3) << result;
}

TEST_F(ExecTest, ExecExitsWith128PlusSignalWhenTheProcessIsKilled) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  ProcessResult result = Exec(id, {"sh", "-c", "kill -9 $$"});
  EXPECT_EQ(result.exit_code, 128 + 9) << result;
}

TEST_F(ExecTest, ExecOfAMissingBinaryFailsNamingIt) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  ProcessResult result = Exec(id, {"berth-no-such-binary"});
  ExpectExecFailure(result, "berth-no-such-binary");
  ExpectExecFailure(result, "executable file not found in $PATH");
  EXPECT_EQ(Status(id), "running") << "a failed exec must leave the container alone";
}

TEST_F(ExecTest, ExecOfANonExecutableFileFailsWithPermissionDenied) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  ProcessResult result = Exec(id, {"/etc/passwd"});
  ExpectExecFailure(result, "permission denied");
  EXPECT_NE(result.err.find("/etc/passwd"), std::string::npos) << result;
}

TEST_F(ExecTest, ExecWithAMissingCwdFailsNamingIt) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  ProcessResult result = Exec(id, {"pwd"}, {"--cwd", "/berth-no-such-dir"});
  ExpectExecFailure(result, "/berth-no-such-dir");
  ExpectExecFailure(result, "no such file or directory");
}

TEST_F(ExecTest, ExecInAStoppedContainerFails) {
  SetArgs({"true"});
  std::string id = NewId();
  CreateAndStart(id);
  WaitStopped(id);
  ProcessResult result = Exec(id, {"echo", "never"});
  ExpectExecFailure(result, "cannot exec in a stopped container");
  EXPECT_EQ(result.out, "");
}

TEST_F(ExecTest, ExecInAMissingContainerFails) {
  ProcessResult result = Exec("berth-t-no-such-container", {"true"});
  ExpectExecFailure(result, "does not exist");
}

// runc 1.1 refuses only stopped and paused containers.
TEST_F(ExecTest, ExecIntoACreatedContainerRunsAndLeavesItCreated) {
  SetArgs({"sleep", "300"});
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  ProcessResult result = Exec(id, {"echo", "hello"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "hello\n") << result;
  EXPECT_EQ(Status(id), "created");
}

TEST_F(ExecTest, ExecPassesStdioThrough) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  UniqueFd input(::memfd_create("stdin", MFD_CLOEXEC));
  ASSERT_TRUE(input.valid());
  const std::string data = "line one\nline two\n";
  ASSERT_EQ(::write(input.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::lseek(input.get(), 0, SEEK_SET), 0);
  ProcessResult result =
      Exec(id, {"sh", "-c", "cat; echo to-stderr >&2"}, {}, {.stdin_fd = input.get()});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, data);
  EXPECT_NE(result.err.find("to-stderr\n"), std::string::npos) << result;
}

TEST_F(ExecTest, EnvFlagAppendsToAndOverridesTheContainersEnv) {
  SetEnv({"PATH=/usr/bin:/bin", "HOME=/root", "BERTH_SET=from-config", "BERTH_KEPT=1"});
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  // One spelling per flag: runc 1.1 refuses "-e" mixed with "--env".
  ProcessResult result = Exec(id, {"env"}, {"-e", "BERTH_SET=from-flag", "-e", "BERTH_NEW=a b=c"});
  ASSERT_TRUE(result.succeeded()) << result;
  std::vector<std::string> expected = {"PATH=/usr/bin:/bin", "HOME=/root", "BERTH_SET=from-flag",
                                       "BERTH_KEPT=1", "BERTH_NEW=a b=c"};
  EXPECT_EQ(split_lines(result.out), expected) << result;
}

TEST_F(ExecTest, CwdFlagSetsTheWorkingDirectory) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  ProcessResult result = Exec(id, {"pwd"}, {"--cwd", "/etc"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "/etc\n");
}

TEST_F(ExecTest, UserFlagSetsUidGidAndAdditionalGroups) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  ProcessResult result = Exec(id, {"grep", "-E", "^(Uid|Gid|Groups):", "/proc/self/status"},
                              {"--user", "1000:1000", "-g", "5", "-g", "100"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(status_field(result.out, "Uid"), "1000\t1000\t1000\t1000") << result;
  EXPECT_EQ(status_field(result.out, "Gid"), "1000\t1000\t1000\t1000") << result;
  EXPECT_EQ(status_field(result.out, "Groups"), "5 100 ") << result;
}

TEST_F(ExecTest, CommandFlagsAfterTheCommandBelongToIt) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  // -c, -e, -t and -d are exec's flags too: here they are sh's and echo's.
  ProcessResult result = Exec(id, {"sh", "-c", "echo -e \"$0\" -t -d", "-p"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "-p -t -d\n");
}

// CAP_SYS_PTRACE in the set also makes berth run from its sealed copy.
TEST_F(ExecTest, ProcessFileCapabilitiesAreThoseInProcSelfStatus) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  json process = BaseProcess({"grep", "^Cap", "/proc/self/status"});
  std::vector<std::string> caps = {"CAP_CHOWN", "CAP_KILL", "CAP_SYS_PTRACE"};
  process["capabilities"] = {{"bounding", caps},
                             {"effective", caps},
                             {"permitted", caps},
                             {"inheritable", json::array()},
                             {"ambient", json::array()}};
  ProcessResult result = Run({"exec", "--process", WriteProcessFile(process), id});
  ASSERT_TRUE(result.succeeded()) << result;
  // CAP_CHOWN 0, CAP_KILL 5, CAP_SYS_PTRACE 19.
  const std::string mask = "0000000000080021";
  ExpectCapabilityMasks(result, {.bounding = mask, .permitted = mask, .effective = mask});
}

TEST_F(ExecTest, ProcessFileGivesArgsEnvCwdAndUser) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  json process = BaseProcess({"sh", "-c", "pwd; id -u; id -g; echo \"$BERTH_VAR\""});
  process["env"].push_back("BERTH_VAR=from-file");
  process["cwd"] = "/etc";
  process["user"] = {{"uid", 1000}, {"gid", 100}};
  ProcessResult result = Run({"exec", "-p", WriteProcessFile(process), id});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "/etc\n1000\n100\nfrom-file\n");
}

TEST_F(ExecTest, ExecGetsTheContainersSeccompFilter) {
  SetSeccomp(
      {{"defaultAction", "SCMP_ACT_ALLOW"},
       {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
       {"syscalls",
        {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}}}}});
  AddMount("/scratch", "tmpfs", "tmpfs", {"size=64k"});
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  ProcessResult result = Exec(
      id, {"sh", "-c", "mkdir /scratch/dir || echo refused; grep ^Seccomp: /proc/self/status"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "refused\nSeccomp:\t2\n") << result;
}

TEST_F(ExecTest, DetachWritesThePidFileAndReturnsWhileTheProcessRuns) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  pid_t init = InitPid(id);
  std::string pid_file = dir_ + "/exec.pid";
  ProcessResult result = Exec(id, {"sleep", "30"}, {"-d", "--pid-file", pid_file});
  ASSERT_TRUE(result.succeeded()) << result;
  std::string text = read_file(pid_file);
  ASSERT_FALSE(text.empty());
  EXPECT_TRUE(std::all_of(text.begin(), text.end(), ::isdigit))
      << "pid file holds more than the pid (no trailing newline): \"" << text << "\"";
  pid_t pid = std::atoi(text.c_str());
  UniqueFd pidfd = open_pidfd(pid);
  ASSERT_TRUE(pidfd.valid()) << "the detached process " << pid << " is gone";
  ExpectCommandLine(pid, {"sleep", "30"});
  EXPECT_EQ(NamespaceOf(pid, "pid"), NamespaceOf(init, "pid"));
  ::kill(pid, SIGKILL);
  EXPECT_TRUE(wait_for_exit(pidfd.get(), 5s));
}

TEST_F(ExecTest, ExecDoesNotLockTheContainerWhileItRuns) {
  AddMount("/scratch", "tmpfs", "tmpfs", {"size=64k"});
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  pid_t init = InitPid(id);
  std::future<ProcessResult> exec = std::async(std::launch::async, [this, id] {
    return Exec(id, {"sh", "-c", "touch /scratch/started; sleep 4"});
  });
  std::string marker = "/proc/" + std::to_string(init) + "/root/scratch/started";
  ASSERT_TRUE(eventually([&] { return path_exists(marker); }, 5s, 10ms))
      << "the exec'ed process never ran";
  ProcessResult state = Run({"state", id}, {.timeout = 2s});
  EXPECT_TRUE(state.succeeded()) << "state waited for the exec'ed process: " << state;
  EXPECT_TRUE(exec.get().succeeded());
}

TEST_F(ExecTest, ExecJoinsTheContainersUserNamespace) {
  // The mapped root is "others" to the host's files.
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(bundle_.c_str(), 0755), 0);
  SetNamespace("user");
  json mapping = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  spec["linux"]["uidMappings"] = mapping;
  spec["linux"]["gidMappings"] = mapping;
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  pid_t init = InitPid(id);
  ProcessResult result = Exec(id, {"sh", "-c", "id -u; readlink /proc/self/ns/user"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "0\n" + NamespaceOf(init, "user") + "\n");
  ProcessResult user = Exec(id, {"id", "-u"}, {"--user", "1000"});
  ASSERT_TRUE(user.succeeded()) << user;
  EXPECT_EQ(user.out, "1000\n");
}

TEST_F(ExecTest, ExecJoinsTheContainersTimeNamespace) {
  if (runtime_is_runc()) GTEST_SKIP() << "runc 1.1 has no time namespace support (runc 1.2 has)";
  constexpr long kTenDays = 864000;
  SetNamespace("time");
  spec["linux"]["timeOffsets"] = {{"boottime", {{"secs", kTenDays}, {"nanosecs", 0}}},
                                  {"monotonic", {{"secs", kTenDays}, {"nanosecs", 0}}}};
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  ProcessResult result = Exec(id, {"cat", "/proc/uptime"});
  ASSERT_TRUE(result.succeeded()) << result;
  double inside = std::atof(result.out.c_str());
  double host = std::atof(read_file("/proc/uptime").c_str());
  EXPECT_GE(inside, kTenDays + host - 60) << result.out;
}

// --- terminals ---------------------------------------------------------------

class ExecTerminalTest : public ExecTest {
 protected:
  void SetUp() override {
    ExecTest::SetUp();
    if (HasFatalFailure()) return;
    std::string failure = console_.listen(dir_ + "/console.sock");
    ASSERT_EQ(failure, "");
  }

  ConsoleSocket console_;
};

TEST_F(ExecTerminalTest, TtyWithConsoleSocketGivesThePtyMaster) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  ProcessResult result = Exec(id, {"sh", "-c", "tty; readlink /proc/self/fd/2; echo ok-$((6*7))"},
                              {"--detach", "--tty", "--console-socket", console_.path()});
  ASSERT_TRUE(result.succeeded()) << result;
  UniqueFd master = console_.receive_master();
  ASSERT_TRUE(master.valid());
  unsigned int pty_number = 0;
  EXPECT_EQ(::ioctl(master.get(), TIOCGPTN, &pty_number), 0)
      << "not a pty master: " << strerror(errno);
  std::string seen = read_terminal_until(master.get(), "ok-42\r\n");
  // The container's own devpts, where the container had no pty yet.
  EXPECT_EQ(seen, "/dev/pts/0\r\n/dev/pts/0\r\nok-42\r\n");
}

TEST_F(ExecTerminalTest, TtyWhenDetachedNeedsAConsoleSocket) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  ProcessResult result = Exec(id, {"true"}, {"--detach", "--tty"});
  ExpectExecFailure(result, "console socket");
}

// Foreground with --tty and no console socket: the process's pty is relayed
// to the runtime's own terminal, here a pty the test holds.
TEST_F(ExecTerminalTest, TtyInTheForegroundRelaysTheCallersTerminal) {
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(StartContainer(id));
  TerminalRun run = RunOnTerminal(
      {"exec", "-t", id, "sh", "-c", "tty; stty size; echo done-$((6*7)); exit 4"}, "done-42");
  const std::string& output = run.shown;
  ASSERT_FALSE(run.result.timed_out) << "exec did not exit; terminal showed:\n" << output;
  EXPECT_EQ(run.result.exit_code, 4) << run.result << "\nterminal showed:\n" << output;
  EXPECT_NE(output.find("/dev/pts/0"), std::string::npos) << output;
  // runc 1.1 sets the pty's size only after releasing the process, which
  // then races it (seen: "stty: standard input: No child processes").
  if (!runtime_is_runc()) {
    EXPECT_NE(output.find("30 100"), std::string::npos) << "window size relayed:\n" << output;
  }
}

}  // namespace
}  // namespace berth::test::itest
