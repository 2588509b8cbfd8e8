// --init: berth-init is the container's PID 1 and reaps the orphans the
// command leaves; without it the command is PID 1 and orphans of a command
// that never waits stay zombies (which shows the check can fail).
#include <thread>

#include "harness.h"

namespace berth::test::ltest {
namespace {

using InitTest = LauncherTest;

// A child that exits at once and is orphaned (its parent, the subshell, is
// gone before it exits), then PID 1 turns into a sleep that never waits.
const std::vector<std::string> kLeavesAnOrphan = {"busybox:test", "sh", "-c",
                                                  "(sleep 0.1 &); exec sleep 30"};

std::vector<std::string> zombies(const std::vector<std::string>& processes) {
  std::vector<std::string> found;
  for (const std::string& process : processes)
    if (process.find(" Z ") != std::string::npos) found.push_back(process);
  return found;
}

class InitReapingTest : public InitTest {
 protected:
  // "PID STATE COMM" of every process in the container's pid namespace, from
  // /proc/<pid>/stat as `berth exec` sees it, once the orphan has exited.
  std::vector<std::string> ProcessesAfterTheOrphanExited(const std::string& id) {
    std::this_thread::sleep_for(1s);
    ProcessResult result = Berth({"exec", id, "sh", "-c", "cat /proc/[0-9]*/stat"});
    EXPECT_TRUE(result.succeeded()) << result;
    std::vector<std::string> processes;
    for (const std::string& line : split_lines(result.out)) {
      size_t open = line.find('('), close = line.rfind(')');
      if (open == std::string::npos || close == std::string::npos || close + 2 >= line.size())
        continue;
      processes.push_back(line.substr(0, open - 1) + " " + line[close + 2] + " " +
                          line.substr(open + 1, close - open - 1));
    }
    return processes;
  }
};

TEST_F(InitReapingTest, InitReapsOrphanedZombies) {
  std::vector<std::string> args = {"--init"};
  args.insert(args.end(), kLeavesAnOrphan.begin(), kLeavesAnOrphan.end());
  std::string id = RunDetached(args);
  ASSERT_FALSE(id.empty());
  std::vector<std::string> processes = ProcessesAfterTheOrphanExited(id);
  ASSERT_FALSE(processes.empty()) << "exec showed no processes";
  EXPECT_TRUE(zombies(processes).empty()) << testing::PrintToString(processes);
  EXPECT_NE(std::find(processes.begin(), processes.end(), "1 S init"), processes.end())
      << "berth-init is PID 1: " << testing::PrintToString(processes);
}

TEST_F(InitReapingTest, WithoutInitTheOrphanStaysAZombie) {
  std::string id = RunDetached(kLeavesAnOrphan);
  ASSERT_FALSE(id.empty());
  std::vector<std::string> processes = ProcessesAfterTheOrphanExited(id);
  std::vector<std::string> found = zombies(processes);
  ASSERT_EQ(found.size(), 1u) << testing::PrintToString(processes);
  EXPECT_NE(found[0].find(" Z sleep"), std::string::npos) << found[0];
}

TEST_F(InitTest, InitIsPidOneAndRunsTheCommandAsItsChild) {
  ProcessResult result = RunRm(
      {"--init", "busybox:test", "sh", "-c", "cat /proc/1/cmdline; echo; echo ppid=$PPID pid=$$"});
  ASSERT_TRUE(result.succeeded()) << result;
  std::string expected_cmdline = std::string("/dev/init\0sh\0-c\0", 16);
  EXPECT_EQ(result.out.rfind(expected_cmdline, 0), 0u) << result;
  EXPECT_NE(result.out.find("ppid=1 pid=2"), std::string::npos) << result;
}

TEST_F(InitTest, InitForwardsTheSigtermOfStopToTheCommand) {
  std::string id = RunDetached({"--init", "busybox:test", "sh", "-c",
                                "trap 'exit 42' TERM; echo ready; while true; do sleep 0.1; done"});
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(WaitForLog(id, "ready")) << Berth({"logs", id});
  ProcessResult stop = Berth({"stop", id});
  ASSERT_TRUE(stop.succeeded()) << stop;
  EXPECT_EQ(Inspect(id)["State"]["ExitCode"], 42);
}

TEST_F(InitTest, InitPassesOnTheCommandsExitStatus) {
  ProcessResult result = RunRm({"--init", "busybox:test", "sh", "-c", "exit 9"});
  EXPECT_EQ(result.exit_code, 9) << result;
  ProcessResult missing = RunRm({"--init", "busybox:test", "/no/such/command"});
  EXPECT_EQ(missing.exit_code, 127) << missing;
}

}  // namespace
}  // namespace berth::test::ltest
