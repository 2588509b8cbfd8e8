// ps and events: the container's processes and statistics as the runtime
// reports them, checked against /proc.
#include <algorithm>
#include <future>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.h"

namespace berth::test::itest {
namespace {

using PsEventsTest = ContainerTest;

pid_t ParentOf(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  char state;
  pid_t parent = 0;
  fields >> state >> parent;
  return parent;
}

TEST_F(PsEventsTest, PsJsonListsInitAndItsChild) {
  SetShell("sleep 30 & wait");
  std::string id = NewId();
  CreateAndStart(id);
  pid_t init = InitPid(id);
  json pids;
  ProcessResult ps;
  // The child is forked a moment after start returns.
  for (int attempt = 0; attempt < 200; ++attempt) {
    ps = Run({"ps", "--format", "json", id});
    ASSERT_TRUE(ps.succeeded()) << ps;
    pids = json::parse(ps.out, nullptr, false);
    if (pids.is_array() && pids.size() == 2) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(pids.is_array() && pids.size() == 2) << ps;
  EXPECT_EQ(ps.err, "") << "containerd reads ps's stdout and stderr together";
  EXPECT_EQ(ps.out.back(), '\n') << ps;
  std::vector<pid_t> listed = pids.get<std::vector<pid_t>>();
  EXPECT_NE(std::find(listed.begin(), listed.end(), init), listed.end()) << ps;
  pid_t child = listed[0] == init ? listed[1] : listed[0];
  EXPECT_EQ(ParentOf(child), init) << "pid " << child << " is not init's child; " << ps;
}

TEST_F(PsEventsTest, PsJsonOfAStoppedContainerIsNull) {
  SetArgs({"true"});
  std::string id = NewId();
  CreateAndStart(id);
  WaitStopped(id);
  ProcessResult ps = Run({"ps", "--format", "json", id});
  ASSERT_TRUE(ps.succeeded()) << ps;
  EXPECT_EQ(ps.out, "null\n");  // Go's encoding of an empty pid list
}

TEST_F(PsEventsTest, PsTableIsTheHostsPsCutDownToTheContainer) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  std::string pid = std::to_string(InitPid(id));

  ProcessResult table = Run({"ps", id});
  ASSERT_TRUE(table.succeeded()) << table;
  std::vector<std::string> lines = split_lines(table.out);
  ASSERT_EQ(lines.size(), 2u) << table;
  EXPECT_TRUE(std::regex_search(lines[0], std::regex("^UID +PID +PPID "))) << table;  // ps -ef
  EXPECT_TRUE(std::regex_search(lines[1], std::regex("^\\S+ +" + pid + " "))) << table;

  // Everything after the id is ps's, flags included.
  ProcessResult chosen = Run({"ps", id, "-o", "pid,comm"});
  ASSERT_TRUE(chosen.succeeded()) << chosen;
  lines = split_lines(chosen.out);
  ASSERT_EQ(lines.size(), 2u) << chosen;
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(" *PID COMMAND"))) << chosen;
  EXPECT_TRUE(std::regex_match(lines[1], std::regex(" *" + pid + " sleep"))) << chosen;

  ProcessResult full = Run({"ps", id, "-f"});
  ASSERT_TRUE(full.succeeded()) << full;
  EXPECT_TRUE(std::regex_search(full.out, std::regex("^UID +PID +PPID "))) << full;
}

TEST_F(PsEventsTest, PsTableWithoutAPidColumnFails) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  ExpectCleanFailure(Run({"ps", id, "-o", "comm"}), "couldn't find PID field in ps output");
}

TEST_F(PsEventsTest, EventsStatsPrintsOneStatsObject) {
  SetShell("sleep 30 & wait");
  std::string id = NewId();
  CreateAndStart(id);
  ProcessResult events = Run({"events", "--stats", id});
  ASSERT_TRUE(events.succeeded()) << events;
  ASSERT_EQ(split_lines(events.out).size(), 1u) << events;
  json event = json::parse(events.out, nullptr, false);
  ASSERT_TRUE(event.is_object()) << events;
  EXPECT_EQ(event.value("type", ""), "stats") << events.out;
  EXPECT_EQ(event.value("id", ""), id) << events.out;
  const json& data = event["data"];
  for (const char* key : {"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt"})
    EXPECT_TRUE(data.contains(key)) << key << " missing: " << events.out;
  EXPECT_TRUE(data["cpu"]["usage"].contains("kernel")) << events.out;
  EXPECT_TRUE(data["memory"]["usage"].contains("limit")) << events.out;
  // Without a pids controller (berth here), the processes of cgroup.procs;
  // the v1 pids controller (runc) counts them too.
  EXPECT_GE(data["pids"].value("current", 0), 1) << events.out;
}

TEST_F(PsEventsTest, EventsOfAStoppedContainerFail) {
  SetArgs({"true"});
  std::string id = NewId();
  CreateAndStart(id);
  WaitStopped(id);
  ExpectCleanFailure(Run({"events", "--stats", id}), "is not running");
  ExpectCleanFailure(Run({"events", id}), "is not running");
}

TEST_F(PsEventsTest, EventsIntervalIsAGoDurationAboveZero) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  // The log's text format escapes the quotes around "abc".
  ExpectCleanFailure(Run({"events", "--interval", "abc", id}), "for flag -interval");
  ExpectCleanFailure(Run({"events", "--interval", "0", id}),
                     "duration interval must be greater than 0");
  ExpectCleanFailure(Run({"events", "--interval", "-1s", "--stats", id}),
                     "duration interval must be greater than 0");
}

TEST_F(PsEventsTest, EventsStreamsStatsUntilTheContainerStops) {
  if (runtime_is_runc())
    GTEST_SKIP() << "runc 1.1 on this hybrid host watches the v1 memory cgroup, and its events "
                    "never end when the container stops (it keeps printing stats)";
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  std::future<ProcessResult> streaming = std::async(std::launch::async, [this, id] {
    return Run({"events", "--interval", "100ms", id}, {.timeout = 10s});
  });
  std::this_thread::sleep_for(450ms);
  // The stream holds no lock on the container: kill goes through meanwhile.
  ProcessResult killed = Kill(id, "KILL");
  EXPECT_TRUE(killed.succeeded()) << killed;
  ProcessResult events = streaming.get();
  ASSERT_TRUE(events.succeeded()) << events;
  std::vector<std::string> lines = split_lines(events.out);
  EXPECT_GE(lines.size(), 2u) << events;
  for (const std::string& line : lines) {
    json event = json::parse(line, nullptr, false);
    EXPECT_EQ(event.value("type", ""), "stats") << line;
    EXPECT_EQ(event.value("id", ""), id) << line;
  }
}

}  // namespace
}  // namespace berth::test::itest
