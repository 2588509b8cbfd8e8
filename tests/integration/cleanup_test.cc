// kill and delete in every state, and commands racing on one container:
// each must end with the container (state dir, cgroup, processes) gone or
// intact, never half of it. TearDown checks what is left on the host.
#include <thread>

#include "harness.h"

namespace berth::test::itest {
namespace {

using DeleteTest = ContainerTest;

class KillTest : public ContainerTest {
 protected:
  // init of a pid namespace ignores signals it has no handler for: trap
  // TERM, and report it.
  void TrapTerm() {
    SetShell("trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done");
  }
};

class KillBySignalTest : public KillTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(KillBySignalTest, TermReachesTheRunningProcess) {
  TrapTerm();
  std::string id = NewId();
  CreateAndStart(id);
  ASSERT_TRUE(WaitForStdout(id, "ready\n")) << "stderr: " << ContainerStderr(id);
  ProcessResult killed = Kill(id, GetParam());
  ASSERT_TRUE(killed.succeeded()) << killed;
  WaitStopped(id);
  EXPECT_EQ(ContainerStdout(id), "ready\ngot TERM\n");
}

INSTANTIATE_TEST_SUITE_P(NameOrNumber, KillBySignalTest, ::testing::Values("TERM", "SIGTERM", "15"),
                         [](const auto& info) { return std::string(info.param); });

class KillBySigkillTest : public KillTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(KillBySigkillTest, StopsTheRunningContainer) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  ProcessResult killed = Kill(id, GetParam());
  ASSERT_TRUE(killed.succeeded()) << killed;
  WaitStopped(id);
}

INSTANTIATE_TEST_SUITE_P(NameOrNumber, KillBySigkillTest, ::testing::Values("KILL", "SIGKILL", "9"),
                         [](const auto& info) { return std::string(info.param); });

TEST_F(KillTest, KillOfACreatedContainerStopsIt) {
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  ProcessResult killed = Kill(id, "KILL");
  ASSERT_TRUE(killed.succeeded()) << killed;
  WaitStopped(id);
  EXPECT_EQ(ContainerStdout(id), "") << "the user's process ran";
}

TEST_F(KillTest, KillOfAStoppedContainerFails) {
  SetArgs({"true"});
  std::string id = NewId();
  CreateAndStart(id);
  WaitStopped(id);
  // runc 1.1: "container not running".
  ExpectCleanFailure(Kill(id, "KILL"), "not running");
}

TEST_F(KillTest, KillWithAnUnknownSignalFails) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  ExpectCleanFailure(Kill(id, "SIGNOPE"), "SIGNOPE");
  EXPECT_EQ(Status(id), "running");
}

TEST_F(KillTest, KillAllReachesEveryProcessWithoutAPidNamespace) {
  // Without a pid namespace, killing init leaves its children running; only
  // --all reaches them.
  RemoveNamespace("pid");
  SetShell("sleep 30 & sleep 30 & echo ready; wait");
  std::string id = NewId();
  CreateAndStart(id);
  ASSERT_TRUE(WaitForStdout(id, "ready\n")) << "stderr: " << ContainerStderr(id);
  pid_t init = InitPid(id);
  std::string children_file =
      "/proc/" + std::to_string(init) + "/task/" + std::to_string(init) + "/children";
  std::vector<UniqueFd> pidfds;
  std::istringstream children(read_file(children_file));
  pid_t child;
  while (children >> child) pidfds.push_back(open_pidfd(child));
  pidfds.push_back(open_pidfd(init));
  ASSERT_EQ(pidfds.size(), 3u) << "children of init: " << read_file(children_file);

  ProcessResult killed = Run({"kill", "--all", id, "KILL"});
  ASSERT_TRUE(killed.succeeded()) << killed;
  for (const UniqueFd& pidfd : pidfds) EXPECT_TRUE(wait_for_exit(pidfd.get(), 5s));
  WaitStopped(id);
}

TEST_F(KillTest, KillAllAfterInitExitedReachesWhatInitLeft) {
  // containerd's shim sends `kill --all ID 9` when the init of a container
  // without a pid namespace exits: its children must not outlive it.
  RemoveNamespace("pid");
  SetShell("sleep 30 </dev/null >/dev/null 2>&1 & echo $!");
  std::string id = NewId();
  CreateAndStart(id);
  WaitStopped(id);
  std::string child_text = ContainerStdout(id);
  pid_t child = std::atoi(child_text.c_str());
  ASSERT_GT(child, 0) << "init printed: " << child_text;
  UniqueFd child_pidfd = open_pidfd(child);
  ASSERT_TRUE(child_pidfd.valid()) << "init's child " << child << " is gone before kill";

  ProcessResult killed = Run({"kill", "--all", id, "9"});
  ASSERT_TRUE(killed.succeeded()) << killed;
  EXPECT_TRUE(wait_for_exit(child_pidfd.get(), 5s)) << "init's child " << child << " still runs";
  // Without --all a stopped container is still refused (runc 1.1 too).
  ExpectCleanFailure(Kill(id, "KILL"), "not running");
}

TEST_F(DeleteTest, DeleteOfARunningContainerWithoutForceFails) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  // runc 1.1: "cannot delete container <id> that is not stopped: running".
  ExpectCleanFailure(Delete(id), "running");
  EXPECT_EQ(Status(id), "running");
}

TEST_F(DeleteTest, DeleteOfAStoppedContainerRemovesIt) {
  SetArgs({"true"});
  std::string id = NewId();
  CreateAndStart(id);
  WaitStopped(id);
  ProcessResult deleted = Delete(id);
  ASSERT_TRUE(deleted.succeeded()) << deleted;
  EXPECT_FALSE(path_exists(StateDir(id)));
  ExpectCleanFailure(Run({"state", id}), "does not exist");
}

enum class Stage { Created, Running, Stopped };

std::string StageName(const ::testing::TestParamInfo<Stage>& info) {
  switch (info.param) {
    case Stage::Created:
      return "Created";
    case Stage::Running:
      return "Running";
    case Stage::Stopped:
      return "Stopped";
  }
  return "Unknown";
}

class DeleteForceTest : public ContainerTest, public ::testing::WithParamInterface<Stage> {};

TEST_P(DeleteForceTest, RemovesTheContainer) {
  SetArgs({GetParam() == Stage::Stopped ? "true" : "sleep", "30"});
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  InitPid(id);  // TearDown checks that this process is gone
  if (GetParam() != Stage::Created) {
    ProcessResult started = Start(id);
    ASSERT_TRUE(started.succeeded()) << started;
  }
  if (GetParam() == Stage::Stopped) WaitStopped(id);

  ProcessResult deleted = Delete(id, /*force=*/true);
  ASSERT_TRUE(deleted.succeeded()) << deleted;
  EXPECT_FALSE(path_exists(StateDir(id)));
  ExpectCleanFailure(Run({"state", id}), "does not exist");
  ProcessResult list = Run({"list"});
  EXPECT_EQ(list.out.find(id), std::string::npos) << list;
}

INSTANTIATE_TEST_SUITE_P(InEveryState, DeleteForceTest,
                         ::testing::Values(Stage::Created, Stage::Running, Stage::Stopped),
                         StageName);

TEST_F(DeleteTest, DeleteForceOfAMissingContainerSucceeds) {
  ProcessResult deleted = Delete(NewId(), /*force=*/true);
  EXPECT_TRUE(deleted.succeeded()) << deleted;
}

TEST_F(DeleteTest, DeleteOfAMissingContainerFails) {
  ExpectCleanFailure(Delete(NewId()), "does not exist");
}

// Commands racing on one id must each finish cleanly (exit 0, or 1 with a
// message), and the delete must leave nothing behind.
TEST_F(DeleteTest, ConcurrentCommandsDuringDeleteEndConsistently) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  InitPid(id);

  const std::vector<std::vector<std::string>> commands = {
      {"state", id}, {"kill", id, "0"}, {"start", id}};
  constexpr int kThreads = 8;
  constexpr int kRounds = 3;
  std::vector<std::vector<std::pair<std::string, ProcessResult>>> results(kThreads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        const std::vector<std::string>& command = commands[(t + round) % commands.size()];
        results[t].emplace_back(command[0], Run(command));
      }
    });
  }
  threads.emplace_back([&] {
    std::this_thread::sleep_for(20ms);
    results[kThreads].emplace_back("delete --force", Run({"delete", "--force", id}));
  });
  for (std::thread& thread : threads) thread.join();

  for (const auto& per_thread : results) {
    for (const auto& [command, result] : per_thread) {
      SCOPED_TRACE(command);
      EXPECT_TRUE(result.exited() && result.exit_code <= 1) << result;
      if (result.exit_code == 1) {
        EXPECT_FALSE(result.err.empty()) << "failed silently";
      }
    }
  }
  ASSERT_TRUE(results[kThreads][0].second.succeeded()) << results[kThreads][0].second;
  EXPECT_FALSE(path_exists(StateDir(id)));
  ExpectCleanFailure(Run({"state", id}), "does not exist");
}

}  // namespace
}  // namespace berth::test::itest
