// create / start / state / run / list: the lifecycle of one container, as
// its own process and the runtime's state report it.
#include <future>
#include <regex>
#include <thread>

#include "harness.h"

namespace berth::itest {
namespace {

using LifecycleTest = ContainerTest;

TEST_F(LifecycleTest, UserProcessIsPid1) {
  SetShell("cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "sh -c cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$ \n1\n");
}

TEST_F(LifecycleTest, RunExitsWithTheProcessExitCode) {
  SetShell("exit 3");
  ProcessResult result = RunContainer(NewId());
  EXPECT_EQ(result.exit_code, 3) << result;
}

TEST_F(LifecycleTest, RunExitsWith128PlusSignalWhenTheProcessIsKilled) {
  SetShell("echo ready; sleep 30");
  std::string id = NewId();
  WriteSpec(id);
  std::future<ProcessResult> run =
      std::async(std::launch::async, [this, id] { return RunContainer(id); });
  ASSERT_TRUE(WaitForStatus(id, "running")) << "the container never ran";
  ProcessResult killed = Kill(id, "KILL");
  EXPECT_TRUE(killed.succeeded()) << killed;
  ProcessResult result = run.get();
  EXPECT_EQ(result.exit_code, 128 + 9) << result;
}

TEST_F(LifecycleTest, CreateLeavesTheProcessWaitingUntilStart) {
  SetShell("echo started");
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;

  json state = State(id);
  EXPECT_EQ(state.value("status", ""), "created") << state.dump();
  pid_t pid = InitPid(id);
  EXPECT_TRUE(path_exists("/proc/" + std::to_string(pid))) << "init " << pid << " is not there";
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(ContainerStdout(id), "") << "the user's process ran before start";

  ProcessResult started = Start(id);
  ASSERT_TRUE(started.succeeded()) << started;
  WaitStopped(id);
  EXPECT_EQ(ContainerStdout(id), "started\n") << "stderr: " << ContainerStderr(id);
}

TEST_F(LifecycleTest, StartMakesTheContainerRunningTheUserProcess) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  EXPECT_EQ(Status(id), "running");
  pid_t pid = InitPid(id);
  EXPECT_EQ(read_file("/proc/" + std::to_string(pid) + "/cmdline"), std::string("sleep\0" "30\0", 9));
}

TEST_F(LifecycleTest, StateIsStoppedWithPidZeroOnceTheProcessExits) {
  SetArgs({"true"});
  std::string id = NewId();
  CreateAndStart(id);
  WaitStopped(id);
  json state = State(id);
  EXPECT_EQ(state.value("status", ""), "stopped") << state.dump();
  EXPECT_EQ(state.value("pid", -1), 0) << state.dump();
}

TEST_F(LifecycleTest, StateDescribesTheContainer) {
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  json state = State(id);
  EXPECT_EQ(state.value("id", ""), id) << state.dump();
  EXPECT_EQ(state.value("bundle", ""), bundle_) << state.dump();
  EXPECT_FALSE(state.value("ociVersion", "").empty()) << state.dump();
  EXPECT_TRUE(std::regex_match(state.value("created", ""),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)")))
      << state.dump();
  EXPECT_TRUE(state.contains("owner")) << state.dump();
}

TEST_F(LifecycleTest, PidFileHoldsThePidWithoutNewline) {
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  EXPECT_EQ(read_file(PidFilePath(id)), std::to_string(InitPid(id)));
}

TEST_F(LifecycleTest, ListShowsTheContainerAsTableAndJson) {
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  pid_t pid = InitPid(id);

  ProcessResult table = Run({"list"});
  ASSERT_TRUE(table.succeeded()) << table;
  std::vector<std::string> lines = split_lines(table.out);
  ASSERT_EQ(lines.size(), 2u) << table;
  EXPECT_TRUE(std::regex_search(lines[0], std::regex("^ID +PID +STATUS +BUNDLE +CREATED +OWNER")))
      << table;
  EXPECT_TRUE(std::regex_search(
      lines[1], std::regex("^" + id + " +" + std::to_string(pid) + " +created +" + bundle_ + " ")))
      << table;

  ProcessResult as_json = Run({"list", "--format", "json"});
  ASSERT_TRUE(as_json.succeeded()) << as_json;
  json list = json::parse(as_json.out, nullptr, false);
  ASSERT_TRUE(list.is_array() && list.size() == 1) << as_json;
  EXPECT_EQ(list[0].value("id", ""), id) << as_json;
  EXPECT_EQ(list[0].value("pid", 0), pid) << as_json;
  EXPECT_EQ(list[0].value("status", ""), "created") << as_json;
  EXPECT_EQ(list[0].value("bundle", ""), bundle_) << as_json;
}

TEST_F(LifecycleTest, StateOfAMissingContainerFails) {
  ProcessResult result = Run({"state", NewId()});
  ExpectCleanFailure(result, "does not exist");
}

TEST_F(LifecycleTest, RunDetachLeavesTheContainerRunning) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  ProcessResult result = RunContainer(id, {"--detach"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(Status(id), "running");
}

TEST_F(LifecycleTest, ForegroundRunDeletesTheContainerAfterwards) {
  SetArgs({"true"});
  std::string id = NewId();
  ProcessResult result = RunContainer(id);
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_FALSE(path_exists(StateDir(id)));
  ExpectCleanFailure(Run({"state", id}), "does not exist");
}

TEST_F(LifecycleTest, StartOfARunningContainerFails) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  // runc 1.1 says "cannot start an already running container".
  ExpectCleanFailure(Start(id), "running");
  EXPECT_EQ(Status(id), "running");
}

TEST_F(LifecycleTest, ContainerJoinsItsCgroupsPath) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  pid_t pid = InitPid(id);
  std::string cgroups = read_file("/proc/" + std::to_string(pid) + "/cgroup");
  // The unified (v2) line; runc 1.1 joins it too on this hybrid host, besides
  // the v1 hierarchies.
  bool found = false;
  for (const std::string& line : split_lines(cgroups))
    if (line.rfind("0::", 0) == 0) found = line.substr(3) == CgroupPathFor(id);
  EXPECT_TRUE(found) << "expected 0::" << CgroupPathFor(id) << " in\n" << cgroups;
}

}  // namespace
}  // namespace berth::itest
