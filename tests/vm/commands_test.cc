// The commands that act on a running container's cgroup: pause and resume
// (the cgroup v2 freezer), update, ps, events --stats, delete; and a
// container without limits.
#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>
#include <vector>

#include "cgroup_fixture.h"

namespace berth::test::vmtest {
namespace {

using namespace std::chrono_literals;

// Prints a line every 0.2 s while it runs, so its output shows whether it
// is frozen.
constexpr const char* kTicker = "while :; do echo tick; sleep 0.2; done";

size_t count_ticks(const std::string& out) { return split_lines(out).size(); }

class CommandsTest : public CgroupTest {
 protected:
  // Starts the ticker and waits for its first tick.
  void StartTicker(const std::string& id) {
    SetShell(kTicker);
    CreateAndStart(id);
    ASSERT_TRUE(WaitForStdout(id, "tick", 20s)) << "no tick: " << ContainerStderr(id);
  }

  void Pause(const std::string& id) {
    ProcessResult paused = Run({"pause", id});
    ASSERT_TRUE(paused.succeeded()) << paused;
  }

  std::vector<pid_t> CgroupProcs(const std::string& id) {
    std::istringstream in(CgroupFile(id, "cgroup.procs"));
    std::vector<pid_t> pids;
    for (pid_t pid; in >> pid;) pids.push_back(pid);
    std::sort(pids.begin(), pids.end());
    return pids;
  }
};

TEST_F(CommandsTest, PauseFreezesTheContainer) {
  std::string id = NewId();
  StartTicker(id);
  Pause(id);
  EXPECT_EQ(Status(id), "paused");
  // cgroup.events says frozen once every task is; pause waits for that.
  EXPECT_EQ(CgroupKey(id, "cgroup.events", "frozen"), 1);
  size_t ticks = count_ticks(ContainerStdout(id));
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(count_ticks(ContainerStdout(id)), ticks) << "the ticker ran on while paused";
}

TEST_F(CommandsTest, ResumeThawsTheContainer) {
  std::string id = NewId();
  StartTicker(id);
  Pause(id);
  ProcessResult resumed = Run({"resume", id});
  ASSERT_TRUE(resumed.succeeded()) << resumed;
  EXPECT_EQ(Status(id), "running");
  EXPECT_EQ(CgroupKey(id, "cgroup.events", "frozen"), 0);
  size_t ticks = count_ticks(ContainerStdout(id));
  EXPECT_TRUE(eventually([&] { return count_ticks(ContainerStdout(id)) > ticks; }, 10s, 50ms))
      << "the ticker did not run again in 10 s";
}

TEST_F(CommandsTest, UpdateChangesMemoryAndPidsLimits) {
  SetResource("memory", {{"limit", 33554432}});
  SetResource("pids", {{"limit", 20}});
  SetArgs({"sleep", "1000"});
  std::string id = NewId();
  CreateAndStart(id);
  ProcessResult updated = Run({"update", "--memory", "67108864", "--pids-limit", "30", id});
  ASSERT_TRUE(updated.succeeded()) << updated;
  EXPECT_EQ(CgroupFile(id, "memory.max"), "67108864");
  EXPECT_EQ(CgroupFile(id, "pids.max"), "30");
}

TEST_F(CommandsTest, UpdateFromAResourcesFileChangesLimits) {
  SetResource("memory", {{"limit", 33554432}});
  SetResource("pids", {{"limit", 20}});
  SetArgs({"sleep", "1000"});
  std::string id = NewId();
  CreateAndStart(id);
  // The linux.resources format, as containerd's shim passes it.
  std::string resources = dir_ + "/resources.json";
  write_file(resources, R"({"memory": {"limit": 50331648}, "pids": {"limit": 25}})");
  ProcessResult updated = Run({"update", "--resources", resources, id});
  ASSERT_TRUE(updated.succeeded()) << updated;
  EXPECT_EQ(CgroupFile(id, "memory.max"), "50331648");
  EXPECT_EQ(CgroupFile(id, "pids.max"), "25");
}

TEST_F(CommandsTest, UpdateKeepsTheLimitsItDoesNotName) {
  SetResource("memory", {{"limit", 33554432}});
  SetResource("pids", {{"limit", 20}});
  SetArgs({"sleep", "1000"});
  std::string id = NewId();
  CreateAndStart(id);
  ProcessResult updated = Run({"update", "--pids-limit", "30", id});
  ASSERT_TRUE(updated.succeeded()) << updated;
  EXPECT_EQ(CgroupFile(id, "pids.max"), "30");
  EXPECT_EQ(CgroupFile(id, "memory.max"), "33554432");
}

TEST_F(CommandsTest, PsListsTheProcessesOfTheCgroup) {
  SetShell("sleep 1000 & sleep 1000");
  std::string id = NewId();
  CreateAndStart(id);
  eventually([&] { return CgroupProcs(id).size() >= 2; }, 10s, 50ms);
  std::vector<pid_t> in_cgroup = CgroupProcs(id);
  ASSERT_GE(in_cgroup.size(), 2u) << "the shell did not start its background sleep";

  // runc 1.1 prints the host pids as a JSON array, e.g. [130,131].
  ProcessResult listed = Run({"ps", "--format", "json", id});
  ASSERT_TRUE(listed.succeeded()) << listed;
  json pids = json::parse(listed.out, nullptr, false);
  ASSERT_TRUE(pids.is_array()) << listed;
  std::vector<pid_t> reported = pids.get<std::vector<pid_t>>();
  std::sort(reported.begin(), reported.end());
  EXPECT_EQ(reported, in_cgroup) << listed;
  EXPECT_NE(std::find(reported.begin(), reported.end(), InitPid(id)), reported.end()) << listed;
}

TEST_F(CommandsTest, EventsStatsReportsTheLimits) {
  SetResource("memory", {{"limit", 33554432}});
  SetResource("pids", {{"limit", 20}});
  SetArgs({"sleep", "1000"});
  std::string id = NewId();
  CreateAndStart(id);
  // One line: {"type":"stats","id":...,"data":{"cpu":...,"memory":{"usage":
  // {"limit":...,"usage":...,"failcnt":0},...},"pids":{"current":1,"limit":20},...}}
  ProcessResult stats = Run({"events", "--stats", id});
  ASSERT_TRUE(stats.succeeded()) << stats;
  json event = json::parse(stats.out, nullptr, false);
  ASSERT_TRUE(event.is_object()) << stats;
  EXPECT_EQ(event.value("type", ""), "stats") << stats;
  EXPECT_EQ(event.value("id", ""), id) << stats;
  json data = event.value("data", json::object());
  EXPECT_EQ(data.value("/memory/usage/limit"_json_pointer, 0LL), 33554432) << stats;
  EXPECT_EQ(data.value("/pids/limit"_json_pointer, 0LL), 20) << stats;
  EXPECT_GE(data.value("/pids/current"_json_pointer, 0LL), 1) << stats;
}

TEST_F(CommandsTest, DeleteRemovesTheCgroup) {
  SetResource("memory", {{"limit", 33554432}});
  SetArgs({"true"});
  std::string id = NewId();
  CreateAndStart(id);
  WaitStopped(id, 20s);
  ASSERT_TRUE(path_exists(CgroupDir(id))) << "a stopped container keeps its cgroup";
  ProcessResult deleted = Delete(id);
  ASSERT_TRUE(deleted.succeeded()) << deleted;
  EXPECT_FALSE(path_exists(CgroupDir(id))) << CgroupDir(id) << " outlived delete";
}

TEST_F(CommandsTest, ContainerWithoutLimitsRuns) {
  SetShell("echo running; exec sleep 1000");
  std::string id = NewId();
  CreateAndStart(id);
  ASSERT_TRUE(WaitForStdout(id, "running", 20s)) << ContainerStderr(id);
  EXPECT_EQ(CgroupProcs(id), std::vector<pid_t>{InitPid(id)});
  // runc enables every controller the root offers in each parent even when
  // nothing is limited, so that a later `update` can set limits: the files
  // are there, and unlimited.
  EXPECT_EQ(CgroupFile(id, "memory.max"), "max");
  EXPECT_EQ(CgroupFile(id, "pids.max"), "max");
}

}  // namespace
}  // namespace berth::test::vmtest
