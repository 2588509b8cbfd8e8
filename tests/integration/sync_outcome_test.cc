// A step of create or exec that fails with EPIPE is that step's failure,
// not the child's death. The sync socket's end-of-stream (the child died,
// or exec'ed) is its own outcome; a real EPIPE from another socket (here
// the console socket's connect, answered EPIPE by a seccomp filter on the
// runtime) must come back as the error it is, at once, with the half-made
// child killed and reaped. Before the two were told apart, create took the
// EPIPE for init's death and waited for an init that was alive: it hung.
// (exec tested the errno of receive() only, so this path of its was safe;
// its test guards the same outcome through the shared code.)
#include <fcntl.h>
#include <seccomp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>

#include "console_socket.h"
#include "harness.h"

namespace berth::test::itest {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

// run_process(argv) from a child of ours that first installs a seccomp
// filter failing every connect() with EPIPE, so that the runtime (and all it
// starts) inherits the filter. The test process keeps none.
ProcessResult run_with_connect_failing_epipe(const std::vector<std::string>& argv,
                                             std::chrono::milliseconds timeout) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return {};
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  pid_t pid = ::fork();
  if (pid == 0) {
    read_end.reset();
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
    if (!filter || seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPIPE), SCMP_SYS(connect), 0) < 0 ||
        seccomp_load(filter) < 0)
      ::_exit(2);
    ProcessResult result = run_process(argv, {.timeout = timeout});
    std::string report = std::to_string(result.exit_code) + " " +
                         std::to_string(result.timed_out ? 1 : 0) + "\n" + result.err;
    (void)!::write(write_end.get(), report.data(), report.size());
    ::_exit(0);
  }
  write_end.reset();
  std::string report;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(read_end.get(), buffer, sizeof buffer)) > 0) report.append(buffer, n);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ProcessResult result;
  int timed_out = 0;
  if (std::sscanf(report.c_str(), "%d %d", &result.exit_code, &timed_out) != 2)
    result.err = "the filtering child failed (status " + std::to_string(status) + ")";
  result.timed_out = timed_out != 0;
  size_t newline = report.find('\n');
  if (newline != std::string::npos) result.err = report.substr(newline + 1);
  return result;
}

class SyncOutcomeTest : public ContainerTest {
 protected:
  void SetUp() override {
    ContainerTest::SetUp();
    if (HasFatalFailure()) return;
    // A real listener: without the filter, the same command succeeds.
    ASSERT_EQ(console_.listen(dir_ + "/console.sock"), "");
  }

  // Exited by itself, soon, with an error naming the broken pipe.
  void ExpectPromptEpipeFailure(const ProcessResult& result) {
    EXPECT_FALSE(result.timed_out)
        << "the runtime took the console socket's EPIPE for its child's death and waited "
           "for a child that is alive; "
        << result;
    EXPECT_GT(result.exit_code, 0) << result;
    EXPECT_NE(lower(result.err).find("broken pipe"), std::string::npos) << result;
    if (runtime_is_runc()) return;
    EXPECT_NE(result.err.find("console socket"), std::string::npos) << result;
    EXPECT_EQ(result.err.find("before it was ready"), std::string::npos) << result;
    EXPECT_EQ(result.err.find("before its exec"), std::string::npos) << result;
  }

  ConsoleSocket console_;
};

TEST_F(SyncOutcomeTest, CreateReportsAnEpipeFromTheConsoleSocketInsteadOfWaitingForInit) {
  SetTerminal(true);
  SetShell("exit 0");
  std::string id = NewId();
  WriteSpec(id);
  ProcessResult created =
      run_with_connect_failing_epipe({runtime_binary(), "--root", root_, "create", "--bundle",
                                      bundle_, "--console-socket", console_.path(), id},
                                     10s);
  ExpectPromptEpipeFailure(created);
  // Nothing is left of the container (TearDown checks the cgroup and
  // processes): init was killed and reaped, its state removed.
  EXPECT_FALSE(path_exists(StateDir(id))) << created;
}

TEST_F(SyncOutcomeTest, ExecReportsAnEpipeFromTheConsoleSocketInsteadOfWaitingForTheProcess) {
  SetShell("echo ready; exec sleep 300");
  std::string id = NewId();
  ASSERT_NO_FATAL_FAILURE(CreateAndStart(id));
  ASSERT_TRUE(WaitForStdout(id, "ready")) << ContainerStderr(id);
  ProcessResult exec = run_with_connect_failing_epipe(
      {runtime_binary(), "--root", root_, "exec", "--detach", "--tty", "--console-socket",
       console_.path(), id, "sleep", "300"},
      10s);
  ExpectPromptEpipeFailure(exec);
  // The half-made process is gone: only init is left in the container.
  ProcessResult ps = Run({"ps", "--format", "json", id});
  ASSERT_TRUE(ps.succeeded()) << ps;
  EXPECT_EQ(json::parse(ps.out).size(), 1u) << ps;
  ASSERT_TRUE(Delete(id, true).succeeded());
}

}  // namespace
}  // namespace berth::test::itest
