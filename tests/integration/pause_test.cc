// pause / resume: the container's processes frozen and thawed through its
// cgroup, seen from the kernel (/proc, the cgroup's files) and from a
// counter the container keeps writing. runc 1.1 on this hybrid host freezes
// through the v1 freezer (freezer.state), berth through cgroup v2's
// cgroup.freeze; the tests check each one's own files.
#include <charconv>
#include <sstream>
#include <thread>

#include "harness.h"

namespace berth::test::itest {
namespace {

// A counter the container writes 100 times a second, and a busy loop whose
// scheduler state shows whether it may run.
constexpr const char* kCounterAndBusyLoop =
    "while :; do :; done & "
    "i=0; while :; do i=$((i+1)); echo $i > /tmp/counter; usleep 10000; done";

class PauseTest : public ContainerTest {
 protected:
  // The counter, or -1 if it cannot be read (the shell truncates the file
  // before each write, so an empty read is retried).
  long Counter() {
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::string text = read_file(rootfs_ + "/tmp/counter");
      long value = 0;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (error == std::errc() && end != text.data()) return value;
      std::this_thread::sleep_for(1ms);
    }
    return -1;
  }

  bool WaitForCounterAbove(long value, std::chrono::milliseconds timeout = 5s) {
    return eventually([&] { return Counter() > value; }, timeout, 5ms);
  }

  // The state letter of /proc/<pid>/stat (R, S, D, ...).
  static char ProcessState(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    size_t close = stat.rfind(')');
    return close == std::string::npos || close + 2 >= stat.size() ? '?' : stat[close + 2];
  }

  // The container's processes other than init, from /proc's children list.
  static std::vector<pid_t> ChildrenOf(pid_t pid) {
    std::string path =
        "/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children";
    std::vector<pid_t> children;
    std::istringstream in(read_file(path));
    for (pid_t child; in >> child;) children.push_back(child);
    return children;
  }

  // The cgroup's own account of the freeze: v2's cgroup.events for berth,
  // the v1 freezer's state for runc.
  std::string FreezerReport(const std::string& id) {
    for (const MountEntry& entry : parse_mountinfo(read_file("/proc/self/mountinfo"))) {
      if (!runtime_is_runc() && entry.fstype == "cgroup2")
        return read_file(entry.mount_point + CgroupPathFor(id) + "/cgroup.events");
      if (runtime_is_runc() && entry.fstype == "cgroup" &&
          has_option(entry.super_options, "freezer"))
        return read_file(entry.mount_point + CgroupPathFor(id) + "/freezer.state");
    }
    return "<no freezer hierarchy>";
  }

  // The busy loop, once it is there.
  pid_t BusyLoop(pid_t init) {
    for (int attempt = 0; attempt < 500; ++attempt) {
      std::vector<pid_t> children = ChildrenOf(init);
      for (pid_t child : children)
        if (ProcessState(child) == 'R') return child;
      std::this_thread::sleep_for(2ms);
    }
    return 0;
  }
};

TEST_F(PauseTest, PauseFreezesEveryProcessAndResumeThawsThem) {
  SetShell(kCounterAndBusyLoop);
  SetReadonlyRoot(false);  // the counter is a file of the rootfs
  std::string id = NewId();
  CreateAndStart(id);
  pid_t init = InitPid(id);
  ASSERT_TRUE(WaitForCounterAbove(0)) << "the counter never started: " << ContainerStderr(id);
  pid_t busy = BusyLoop(init);
  ASSERT_NE(busy, 0) << "no busy loop among the children of " << init;

  ProcessResult paused = Run({"pause", id});
  ASSERT_TRUE(paused.succeeded()) << paused;
  EXPECT_EQ(Status(id), "paused");
  // A task frozen by cgroup v2 sleeps in the kernel's signal-delivery path
  // ('S'); the v1 freezer holds it uninterruptibly ('D').
  char expected_state = runtime_is_runc() ? 'D' : 'S';
  EXPECT_EQ(ProcessState(busy), expected_state) << "busy loop " << busy;
  EXPECT_EQ(ProcessState(init), expected_state) << "init " << init;
  std::string report = FreezerReport(id);
  EXPECT_NE(report.find(runtime_is_runc() ? "FROZEN" : "frozen 1"), std::string::npos) << report;

  long frozen_at = Counter();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(Counter(), frozen_at) << "the counter advanced while the container was paused";

  ProcessResult resumed = Run({"resume", id});
  ASSERT_TRUE(resumed.succeeded()) << resumed;
  EXPECT_EQ(Status(id), "running");
  EXPECT_TRUE(WaitForCounterAbove(frozen_at)) << "the counter did not advance after resume";
  EXPECT_EQ(ProcessState(busy), 'R') << "busy loop " << busy;
  report = FreezerReport(id);
  EXPECT_NE(report.find(runtime_is_runc() ? "THAWED" : "frozen 0"), std::string::npos) << report;
}

TEST_F(PauseTest, PauseOfACreatedContainerFails) {
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  ProcessResult paused = Run({"pause", id});
  if (runtime_is_runc()) {
    // runc 1.1 freezes a created container too (its init, waiting on
    // exec.fifo, then cannot be started until resumed); berth refuses.
    EXPECT_TRUE(paused.succeeded()) << paused;
    EXPECT_EQ(Status(id), "paused");
    ProcessResult resumed = Run({"resume", id});
    EXPECT_TRUE(resumed.succeeded()) << resumed;
  } else {
    ExpectCleanFailure(paused, "container not running");
  }
  EXPECT_EQ(Status(id), "created");
}

TEST_F(PauseTest, PauseOfAStoppedContainerFails) {
  SetArgs({"true"});
  std::string id = NewId();
  CreateAndStart(id);
  WaitStopped(id);
  ExpectCleanFailure(Run({"pause", id}), "container not running");
  EXPECT_EQ(Status(id), "stopped");
}

TEST_F(PauseTest, PauseOfAPausedContainerFails) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  ProcessResult paused = Run({"pause", id});
  ASSERT_TRUE(paused.succeeded()) << paused;
  ExpectCleanFailure(Run({"pause", id}), "container not running");
  EXPECT_EQ(Status(id), "paused");
}

TEST_F(PauseTest, ResumeOfARunningContainerFails) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  ExpectCleanFailure(Run({"resume", id}), "container not paused");
  EXPECT_EQ(Status(id), "running");
}

TEST_F(PauseTest, PauseOfAMissingContainerFails) {
  ExpectCleanFailure(Run({"pause", NewId()}), "does not exist");
  ExpectCleanFailure(Run({"resume", NewId()}), "does not exist");
}

TEST_F(PauseTest, ExecInAPausedContainerFails) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  ProcessResult paused = Run({"pause", id});
  ASSERT_TRUE(paused.succeeded()) << paused;
  ProcessResult exec = Run({"exec", id, "true"});
  EXPECT_EQ(exec.exit_code, 255) << exec;
  EXPECT_NE(exec.err.find("paused"), std::string::npos) << exec;
}

TEST_F(PauseTest, DeleteForceRemovesAPausedContainer) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  pid_t init = InitPid(id);
  UniqueFd init_pidfd = open_pidfd(init);
  ProcessResult paused = Run({"pause", id});
  ASSERT_TRUE(paused.succeeded()) << paused;
  ProcessResult deleted = Delete(id, true);
  EXPECT_TRUE(deleted.succeeded()) << deleted;
  EXPECT_TRUE(wait_for_exit(init_pidfd.get(), 3s)) << "init " << init << " outlived delete --force";
}

}  // namespace
}  // namespace berth::test::itest
