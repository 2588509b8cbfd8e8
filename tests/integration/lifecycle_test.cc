// create / start / state / run / list: the lifecycle of one container, as
// its own process and the runtime's state report it.
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <regex>
#include <thread>

#include "harness.h"

namespace berth::test::itest {
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
  // start may return as soon as init is released, a moment before its exec.
  ExpectCommandLine(InitPid(id), {"sleep", "30"});
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

TEST_F(LifecycleTest, StateNoticesAnInitKilledFromOutside) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  ASSERT_EQ(::kill(InitPid(id), SIGKILL), 0) << strerror(errno);
  WaitStopped(id);
}

// containerd's shim reads errors from --log in JSON; the plain message
// still goes to stderr.
TEST_F(LifecycleTest, ErrorsGoToTheLogFileAsJson) {
  std::string log = dir_ + "/runtime.log";
  std::string bundle = dir_ + "/no-such-bundle";
  ProcessResult result =
      Run({"--log", log, "--log-format", "json", "create", "--bundle", bundle, NewId()});
  EXPECT_EQ(result.exit_code, 1) << result;
  EXPECT_NE(result.err.find(bundle), std::string::npos) << result;
  std::vector<std::string> lines = split_lines(read_file(log));
  ASSERT_FALSE(lines.empty()) << "nothing logged";
  json entry = json::parse(lines.back(), nullptr, false);
  EXPECT_EQ(entry.value("level", ""), "error") << lines.back();
  EXPECT_NE(entry.value("msg", "").find(bundle), std::string::npos) << lines.back();
  EXPECT_TRUE(std::regex_match(entry.value("time", ""),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)")))
      << lines.back();
}

TEST_F(LifecycleTest, FeaturesDescribesWhatTheRuntimeSupports) {
  ProcessResult result = run_process({runtime_binary(), "features"});
  ASSERT_TRUE(result.succeeded()) << result;
  json features = json::parse(result.out, nullptr, false);
  ASSERT_TRUE(features.is_object()) << result;
  EXPECT_EQ(features.value("ociVersionMin", ""), "1.0.0") << result.out;
  EXPECT_EQ(features.value("hooks", json()), json({"prestart", "createRuntime", "createContainer",
                                                   "startContainer", "poststart", "poststop"}))
      << result.out;
  for (const char* option : {"bind", "rbind", "ro", "nosuid", "rprivate"}) {
    const json& options = features["mountOptions"];
    EXPECT_NE(std::find(options.begin(), options.end(), option), options.end())
        << option << " missing from mountOptions";
  }
  for (const char* type : {"pid", "network", "ipc", "uts", "mount", "cgroup", "user"}) {
    const json& namespaces = features["linux"]["namespaces"];
    EXPECT_NE(std::find(namespaces.begin(), namespaces.end(), type), namespaces.end())
        << type << " missing from linux.namespaces";
  }
}

TEST_F(LifecycleTest, CheckpointAndRestoreAreRefusedWithTheShimsFlags) {
  if (runtime_is_runc()) GTEST_SKIP() << "runc 1.1 runs CRIU, which is not installed here";
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  std::string images = dir_ + "/checkpoint";
  // As containerd 1.6's shim calls them (go-runc), restore with Go's
  // single-dash flag.
  ExpectCleanFailure(Run({"checkpoint", "--image-path", images, "--work-path", images,
                          "--leave-running", "--file-locks", id}),
                     "checkpoint is not supported");
  EXPECT_EQ(Status(id), "running");
  ExpectCleanFailure(
      Run({"restore", "--image-path", images, "--work-path", images, "--bundle", bundle_,
           "--pid-file", dir_ + "/restored.pid", "--detach", "-no-subreaper", NewId()}),
      "restore is not supported");
}

}  // namespace
}  // namespace berth::test::itest
