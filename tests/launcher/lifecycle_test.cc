// A detached container's life: run -d, logs, exec, stop, kill, ps,
// inspect, rm; and rm -f after its monitor died.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <sstream>

#include "harness.h"

namespace berth::test::ltest {
namespace {

using LifecycleTest = LauncherTest;

// The ps line of the container whose short id or name is given ("" if none).
std::string ps_line(const std::string& ps_output, const std::string& short_id) {
  for (const std::string& line : split_lines(ps_output))
    if (line.rfind(short_id, 0) == 0 || line.find(" " + short_id) != std::string::npos) return line;
  return "";
}

TEST_F(LifecycleTest, DetachedRunPrintsTheIdAndLogsShowTheOutput) {
  std::string id =
      RunDetached({"busybox:test", "sh", "-c", "echo to-stdout; echo to-stderr >&2; sleep 30"});
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Record(id).value("id", ""), id);
  ASSERT_TRUE(WaitForLog(id, "to-stderr")) << Berth({"logs", id});
  ProcessResult logs = Berth({"logs", id.substr(0, 12)});
  ASSERT_TRUE(logs.succeeded()) << logs;
  EXPECT_NE(logs.out.find("to-stdout\n"), std::string::npos) << logs;
  EXPECT_NE(logs.out.find("to-stderr\n"), std::string::npos) << logs;
  EXPECT_EQ(ContainerStatus(id), "running");
}

TEST_F(LifecycleTest, ContainerCgroupSitsAtTheRootAndGoesWithTheContainer) {
  std::string id = RunDetached({"busybox:test", "sleep", "30"});
  ASSERT_FALSE(id.empty());
  std::string procs = read_file(container_cgroup(id) + "/cgroup.procs");
  ASSERT_FALSE(procs.empty()) << "no process in " << container_cgroup(id);
  // Directly under the cgroup2 root: berth makes no parent that could be
  // left behind when its last container goes.
  for (const std::string& line :
       split_lines(read_file("/proc/" + split_lines(procs)[0] + "/cgroup")))
    if (line.rfind("0::", 0) == 0) {
      EXPECT_EQ(line, "0::/berth-" + id);
    }
  ProcessResult removed = Berth({"rm", "-f", id});
  ASSERT_TRUE(removed.succeeded()) << removed;
  EXPECT_FALSE(path_exists(container_cgroup(id)));
}

TEST_F(LifecycleTest, LogsFollowEndsWhenTheContainerExits) {
  std::string id = RunDetached(
      {"busybox:test", "sh", "-c", "echo first; sleep 1; echo second; sleep 0.5; exit 4"});
  ASSERT_FALSE(id.empty());
  auto started = std::chrono::steady_clock::now();
  ProcessResult follow = Berth({"logs", "-f", id}, {.timeout = 15s});
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(follow.succeeded()) << follow;
  EXPECT_EQ(follow.out, "first\nsecond\n") << follow;
  EXPECT_GE(seconds, 1.0) << "logs -f returned before the container finished; " << follow;
  EXPECT_EQ(ContainerStatus(id), "exited");
  EXPECT_EQ(Inspect(id)["State"]["ExitCode"], 4);
}

TEST_F(LifecycleTest, LogsOfAForegroundContainerAreRefused) {
  ProcessResult run = Berth({"run", "--name", "fg", "busybox:test", "echo", "hi"});
  ASSERT_TRUE(run.succeeded()) << run;
  ProcessResult logs = Berth({"logs", "fg"});
  EXPECT_NE(logs.exit_code, 0) << logs;
  EXPECT_NE(logs.err.find("foreground"), std::string::npos) << logs;
}

TEST_F(LifecycleTest, ExecPropagatesTheExitCodeSeesPidOneAndTheEnv) {
  std::string id = RunDetached({"-e", "FROM_RUN=run-value", "busybox:test", "sleep", "30"});
  ASSERT_FALSE(id.empty());
  ProcessResult exit_code = Berth({"exec", id, "sh", "-c", "exit 5"});
  EXPECT_EQ(exit_code.exit_code, 5) << exit_code;

  ProcessResult pid1 = Berth({"exec", id, "cat", "/proc/1/cmdline"});
  ASSERT_TRUE(pid1.succeeded()) << pid1;
  EXPECT_EQ(pid1.out, std::string("sleep\0"
                                  "30\0",
                                  9))
      << "the container's PID 1; " << pid1;

  ProcessResult env = Berth({"exec", "-e", "FROM_EXEC=exec-value", id, "sh", "-c",
                             "echo $FROM_RUN $FROM_EXEC $HOSTNAME"});
  ASSERT_TRUE(env.succeeded()) << env;
  EXPECT_EQ(env.out, "run-value exec-value " + id.substr(0, 12) + "\n") << env;

  ProcessResult missing = Berth({"exec", id, "/no/such/command"});
  EXPECT_EQ(missing.exit_code, 127) << missing;
  ProcessResult workdir = Berth({"exec", "-w", "/etc", id, "pwd"});
  EXPECT_EQ(workdir.out, "/etc\n") << workdir;
}

TEST_F(LifecycleTest, ExecUserRunsAsThatUserWithoutCapabilities) {
  std::string id = RunDetached({"busybox:test", "sleep", "30"});
  ASSERT_FALSE(id.empty());
  const std::string script = "echo $(id -u) $(id -g) $(grep CapEff /proc/self/status | cut -f2)";
  ProcessResult app = Berth({"exec", "-u", "app", id, "sh", "-c", script});
  ASSERT_TRUE(app.succeeded()) << app;
  EXPECT_EQ(app.out, "1000 1000 0000000000000000\n") << app;
  ProcessResult numeric = Berth({"exec", "-u", "1234:5678", id, "sh", "-c", script});
  ASSERT_TRUE(numeric.succeeded()) << numeric;
  EXPECT_EQ(numeric.out, "1234 5678 0000000000000000\n") << numeric;
  ProcessResult root = Berth({"exec", id, "sh", "-c", script});
  EXPECT_EQ(root.out, "0 0 00000000a80425fb\n") << root;
}

TEST_F(LifecycleTest, ExecInAStoppedContainerIsRefused) {
  ProcessResult run = Berth({"run", "--name", "done", "busybox:test", "true"});
  ASSERT_TRUE(run.succeeded()) << run;
  ProcessResult exec = Berth({"exec", "done", "true"});
  EXPECT_NE(exec.exit_code, 0) << exec;
  EXPECT_NE(exec.err.find("not running"), std::string::npos) << exec;
}

TEST_F(LifecycleTest, StopSendsTermAndTheTrapsExitCodeIsRecorded) {
  std::string id = RunDetached({"busybox:test", "sh", "-c",
                                "trap 'echo got-term; exit 42' TERM; echo ready; "
                                "while true; do sleep 0.1; done"});
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(WaitForLog(id, "ready")) << Berth({"logs", id});
  auto started = std::chrono::steady_clock::now();
  ProcessResult stop = Berth({"stop", id});
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(stop.succeeded()) << stop;
  EXPECT_EQ(stop.out, id + "\n") << stop;
  EXPECT_LT(seconds, 5.0) << "stop waited for its timeout although the trap exits at once";
  json inspected = Inspect(id);
  EXPECT_EQ(inspected["State"]["Status"], "exited") << inspected.dump(2);
  EXPECT_EQ(inspected["State"]["ExitCode"], 42) << inspected.dump(2);
  EXPECT_EQ(inspected["State"]["Running"], false) << inspected.dump(2);
  EXPECT_NE(Berth({"logs", id}).out.find("got-term"), std::string::npos);
  std::string line = ps_line(Berth({"ps", "-a"}).out, id.substr(0, 12));
  EXPECT_NE(line.find("Exited (42)"), std::string::npos) << line;
}

TEST_F(LifecycleTest, StopKillsAContainerIgnoringTermAfterTheTimeout) {
  std::string id = RunDetached(
      {"busybox:test", "sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done"});
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(WaitForLog(id, "ready")) << Berth({"logs", id});
  auto started = std::chrono::steady_clock::now();
  ProcessResult stop = Berth({"stop", "-t", "1", id});
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(stop.succeeded()) << stop;
  EXPECT_GE(seconds, 0.9) << "SIGKILL came before the timeout";
  EXPECT_LT(seconds, 8.0) << "stop took far longer than -t 1";
  EXPECT_EQ(Inspect(id)["State"]["ExitCode"], 137);
  std::string line = ps_line(Berth({"ps", "-a"}).out, id.substr(0, 12));
  EXPECT_NE(line.find("Exited (137)"), std::string::npos) << line;
}

TEST_F(LifecycleTest, KillSendsTheGivenSignal) {
  std::string id = RunDetached({"busybox:test", "sh", "-c",
                                "trap 'echo got-usr1; exit 11' USR1; echo ready; "
                                "while true; do sleep 0.1; done"});
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(WaitForLog(id, "ready")) << Berth({"logs", id});
  ProcessResult kill = Berth({"kill", "-s", "USR1", id});
  ASSERT_TRUE(kill.succeeded()) << kill;
  ASSERT_TRUE(WaitForStatus(id, "exited")) << ContainerStatus(id);
  EXPECT_TRUE(eventually([&] { return Inspect(id)["State"]["ExitCode"] == 11; }))
      << Inspect(id).dump(2);
  EXPECT_NE(Berth({"logs", id}).out.find("got-usr1"), std::string::npos);
}

TEST_F(LifecycleTest, KillWithoutASignalKillsAndRecords137) {
  std::string id = RunDetached({"busybox:test", "sleep", "30"});
  ASSERT_FALSE(id.empty());
  ProcessResult kill = Berth({"kill", id});
  ASSERT_TRUE(kill.succeeded()) << kill;
  ASSERT_TRUE(WaitForStatus(id, "exited")) << ContainerStatus(id);
  EXPECT_TRUE(eventually([&] { return Inspect(id)["State"]["ExitCode"] == 137; }))
      << Inspect(id).dump(2);
}

TEST_F(LifecycleTest, PsShowsRunningContainersAndPsAllAlsoExitedOnes) {
  std::string running = RunDetached({"--name", "up-one", "busybox:test", "sleep", "30"});
  ASSERT_FALSE(running.empty());
  ProcessResult exited = Berth({"run", "--name", "gone-one", "busybox:test", "sh", "-c", "exit 3"});
  ASSERT_EQ(exited.exit_code, 3) << exited;

  ProcessResult ps = Berth({"ps"});
  ASSERT_TRUE(ps.succeeded()) << ps;
  std::string up_line = ps_line(ps.out, running.substr(0, 12));
  EXPECT_NE(up_line.find("Up "), std::string::npos) << ps;
  EXPECT_NE(up_line.find("up-one"), std::string::npos) << ps;
  EXPECT_NE(up_line.find("busybox:test"), std::string::npos) << ps;
  EXPECT_NE(up_line.find("\"sleep 30\""), std::string::npos) << ps;
  EXPECT_EQ(ps.out.find("gone-one"), std::string::npos) << "ps lists only running ones; " << ps;

  ProcessResult all = Berth({"ps", "-a"});
  ASSERT_TRUE(all.succeeded()) << all;
  EXPECT_NE(ps_line(all.out, running.substr(0, 12)).find("Up "), std::string::npos) << all;
  std::string gone_line = ps_line(all.out, "gone-one");
  EXPECT_NE(gone_line.find("Exited (3)"), std::string::npos) << all;

  ProcessResult quiet = Berth({"ps", "-a", "-q"});
  std::vector<std::string> ids = split_lines(quiet.out);
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> expected = {running.substr(0, 12),
                                       Inspect("gone-one")["Id"].get<std::string>().substr(0, 12)};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ids, expected) << quiet;
}

TEST_F(LifecycleTest, InspectShowsTheStateOfARunningAndAnExitedContainer) {
  std::string id = RunDetached({"busybox:test", "sleep", "30"});
  ASSERT_FALSE(id.empty());
  json running = Inspect(id);
  EXPECT_EQ(running["State"]["Status"], "running") << running.dump(2);
  EXPECT_EQ(running["State"]["Running"], true) << running.dump(2);
  EXPECT_TRUE(running["State"]["ExitCode"].is_null() || running["State"]["ExitCode"] == 0)
      << running.dump(2);
  EXPECT_EQ(running["Path"], "sleep") << running.dump(2);
  EXPECT_EQ(running["Args"], json::array({"30"})) << running.dump(2);
  EXPECT_EQ(running["Config"]["Image"], "busybox:test") << running.dump(2);

  ProcessResult exited = Berth({"run", "--name", "three", "busybox:test", "sh", "-c", "exit 3"});
  ASSERT_EQ(exited.exit_code, 3) << exited;
  json done = Inspect("three");
  EXPECT_EQ(done["State"]["Status"], "exited") << done.dump(2);
  EXPECT_EQ(done["State"]["ExitCode"], 3) << done.dump(2);
  EXPECT_FALSE(done["State"].value("FinishedAt", "").empty()) << done.dump(2);
}

TEST_F(LifecycleTest, RmRemovesAStoppedContainer) {
  ProcessResult run = Berth({"run", "--name", "to-remove", "busybox:test", "true"});
  ASSERT_TRUE(run.succeeded()) << run;
  std::string id = Inspect("to-remove").value("Id", "");
  ASSERT_TRUE(path_exists(ContainerDir(id)));
  ProcessResult rm = Berth({"rm", "to-remove"});
  ASSERT_TRUE(rm.succeeded()) << rm;
  EXPECT_EQ(rm.out, "to-remove\n") << rm;
  EXPECT_FALSE(path_exists(ContainerDir(id)));
  ProcessResult inspect = Berth({"inspect", "to-remove"});
  EXPECT_NE(inspect.exit_code, 0) << inspect;
  EXPECT_EQ(Berth({"ps", "-a", "-q"}).out, "");
}

TEST_F(LifecycleTest, RmOfARunningContainerIsRefusedWithoutForce) {
  std::string id = RunDetached({"busybox:test", "sleep", "30"});
  ASSERT_FALSE(id.empty());
  ProcessResult rm = Berth({"rm", id});
  EXPECT_NE(rm.exit_code, 0) << rm;
  EXPECT_NE(rm.err.find("running"), std::string::npos) << rm;
  EXPECT_EQ(ContainerStatus(id), "running") << "the refused rm must not stop it";

  ProcessResult forced = Berth({"rm", "-f", id});
  ASSERT_TRUE(forced.succeeded()) << forced;
  EXPECT_FALSE(path_exists(ContainerDir(id)));
  EXPECT_FALSE(path_exists(container_cgroup(id)));
  EXPECT_TRUE(mounts_under(ContainerDir(id)).empty());
}

TEST_F(LifecycleTest, DetachedRmContainerIsRemovedWhenItExits) {
  std::string id = RunDetached({"--rm", "busybox:test", "sh", "-c", "sleep 0.3"});
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(eventually([&] { return !path_exists(ContainerDir(id)); }))
      << "still there: " << Record(id).dump();
}

TEST_F(LifecycleTest, RmForceCleansUpAfterTheMonitorWasKilled) {
  std::string id = RunDetached({"busybox:test", "sleep", "60"});
  ASSERT_FALSE(id.empty());
  json record = Record(id);
  pid_t monitor = record.value("supervisor_pid", 0);
  ASSERT_GT(monitor, 0) << record.dump();
  // The container's processes, to check that they go too.
  std::vector<pid_t> processes;
  std::istringstream procs(read_file(container_cgroup(id) + "/cgroup.procs"));
  for (pid_t pid; procs >> pid;) processes.push_back(pid);
  ASSERT_FALSE(processes.empty()) << "nothing in " << container_cgroup(id);

  ASSERT_EQ(::kill(monitor, SIGKILL), 0) << strerror(errno);
  ASSERT_TRUE(wait_for_pid_exit(monitor, 5s)) << "the monitor survived SIGKILL";

  ProcessResult rm = Berth({"rm", "-f", id}, {.timeout = 20s});
  ASSERT_TRUE(rm.succeeded()) << rm;
  EXPECT_FALSE(path_exists(ContainerDir(id)));
  EXPECT_FALSE(path_exists(container_cgroup(id)));
  EXPECT_FALSE(path_exists(root_ + "/state/" + id));
  EXPECT_TRUE(mounts_under(ContainerDir(id)).empty());
  for (pid_t pid : processes)
    EXPECT_TRUE(wait_for_pid_exit(pid, 5s)) << "container process " << pid << " outlived rm -f";
}

TEST_F(LifecycleTest, StopAfterTheMonitorWasKilledRecordsTheExit) {
  std::string id = RunDetached({"busybox:test", "sleep", "60"});
  ASSERT_FALSE(id.empty());
  pid_t monitor = Record(id).value("supervisor_pid", 0);
  ASSERT_GT(monitor, 0);
  ASSERT_EQ(::kill(monitor, SIGKILL), 0) << strerror(errno);
  ASSERT_TRUE(wait_for_pid_exit(monitor, 5s));
  ProcessResult stop = Berth({"stop", "-t", "1", id}, {.timeout = 20s});
  ASSERT_TRUE(stop.succeeded()) << stop;
  EXPECT_EQ(ContainerStatus(id), "exited");
  EXPECT_TRUE(mounts_under(ContainerDir(id)).empty());
  EXPECT_FALSE(path_exists(container_cgroup(id)));
}

}  // namespace
}  // namespace berth::test::ltest
