// Namespaces beyond the default set (user with id mappings, cgroup, time,
// joined pid and ipc), the kernel settings made inside them (sysctl,
// domainname), and `run` relaying the caller's terminal.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "harness.h"

namespace berth::test::itest {
namespace {

class NamespacesTest : public ContainerTest {
 protected:
  // The mapped root is "others" to the host's files: let it reach the rootfs
  // through the test's private (0700) temp dir.
  void OpenBundlePathToOthers() {
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(bundle_.c_str(), 0755), 0);
  }
};

constexpr uint32_t kHostIdBase = 100000;

void MapRootTo(json& spec, uint32_t host_id) {
  json mapping = json::array({{{"containerID", 0}, {"hostID", host_id}, {"size", 65536}}});
  spec["linux"]["uidMappings"] = mapping;
  spec["linux"]["gidMappings"] = mapping;
}

TEST_F(NamespacesTest, UserNamespaceMapsContainerRootToTheHostRange) {
  OpenBundlePathToOthers();
  SetNamespace("user");
  MapRootTo(spec, kHostIdBase);
  std::string volume = dir_ + "/volume";
  ASSERT_EQ(::mkdir(volume.c_str(), 0755), 0);
  ASSERT_EQ(::chown(volume.c_str(), kHostIdBase, kHostIdBase), 0);
  // The mount point is made beforehand: the rootfs belongs to the host's
  // root, which the container's (mapped) root cannot write as.
  ASSERT_EQ(::mkdir((rootfs_ + "/volume").c_str(), 0755), 0);
  AddBindMount(volume, "/volume", false);
  SetShell("id -u; id -g; cat /proc/self/uid_map; touch /volume/made-inside");
  ProcessResult run = RunContainer(NewId());
  ASSERT_TRUE(run.succeeded()) << run;
  std::vector<std::string> lines = split_lines(run.out);
  ASSERT_GE(lines.size(), 3u) << run;
  EXPECT_EQ(lines[0], "0");
  EXPECT_EQ(lines[1], "0");
  // uid_map columns are padded: compare the numbers.
  std::istringstream map(lines[2]);
  uint32_t inside = 1, outside = 0, size = 0;
  map >> inside >> outside >> size;
  EXPECT_EQ(inside, 0u);
  EXPECT_EQ(outside, kHostIdBase);
  EXPECT_EQ(size, 65536u);
  struct stat st;
  ASSERT_EQ(::stat((volume + "/made-inside").c_str(), &st), 0) << run;
  EXPECT_EQ(st.st_uid, kHostIdBase) << "a file made by the container's root belongs to the "
                                       "mapped host uid";
}

TEST_F(NamespacesTest, UserNamespaceInitRunsAsTheMappedHostUid) {
  OpenBundlePathToOthers();
  SetNamespace("user");
  MapRootTo(spec, kHostIdBase);
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  std::string status = read_file("/proc/" + std::to_string(InitPid(id)) + "/status");
  EXPECT_EQ(status_field(status, "Uid"), "100000\t100000\t100000\t100000");
  EXPECT_NE(NamespaceOf(InitPid(id), "user"), NamespaceOf(::getpid(), "user"));
}

TEST_F(NamespacesTest, CgroupNamespaceMakesTheContainersCgroupItsRoot) {
  SetNamespace("cgroup");
  SetShell("cat /proc/self/cgroup");
  ProcessResult run = RunContainer(NewId());
  ASSERT_TRUE(run.succeeded()) << run;
  EXPECT_NE(("\n" + run.out).find("\n0::/\n"), std::string::npos) << run.out;
}

TEST_F(NamespacesTest, TimeNamespaceAppliesTheSpecsOffsets) {
  if (runtime_is_runc()) GTEST_SKIP() << "runc 1.1 has no time namespace support (runc 1.2 has)";
  constexpr long kTenDays = 864000;
  SetNamespace("time");
  spec["linux"]["timeOffsets"] = {{"boottime", {{"secs", kTenDays}, {"nanosecs", 0}}},
                                  {"monotonic", {{"secs", kTenDays}, {"nanosecs", 0}}}};
  SetShell("cat /proc/uptime");
  ProcessResult run = RunContainer(NewId());
  ASSERT_TRUE(run.succeeded()) << run;
  double inside = std::atof(run.out.c_str());
  double host = std::atof(read_file("/proc/uptime").c_str());
  EXPECT_GE(inside, kTenDays + host - 60) << run.out;
}

TEST_F(NamespacesTest, JoinsAnotherContainersPidNamespace) {
  SetArgs({"sleep", "30"});
  std::string first = NewId();
  CreateAndStart(first);
  pid_t first_pid = InitPid(first);
  SetNamespace("pid", "/proc/" + std::to_string(first_pid) + "/ns/pid");
  SetShell("echo pid=$$; ps");
  ProcessResult run = RunContainer(NewId());
  ASSERT_TRUE(run.succeeded()) << run;
  EXPECT_EQ(run.out.find("pid=1\n"), std::string::npos) << "the joiner is not pid 1:\n" << run.out;
  EXPECT_NE(run.out.find("sleep 30"), std::string::npos) << "it sees the first container:\n"
                                                         << run.out;
}

TEST_F(NamespacesTest, JoinsAnotherContainersIpcNamespace) {
  SetArgs({"sleep", "30"});
  std::string first = NewId();
  ProcessResult created = Create(first);
  ASSERT_TRUE(created.succeeded()) << created;
  pid_t first_pid = InitPid(first);
  SetNamespace("ipc", "/proc/" + std::to_string(first_pid) + "/ns/ipc");
  std::string second = NewId();
  created = Create(second);
  ASSERT_TRUE(created.succeeded()) << created;
  EXPECT_EQ(NamespaceOf(InitPid(second), "ipc"), NamespaceOf(first_pid, "ipc"));
  EXPECT_NE(NamespaceOf(InitPid(second), "ipc"), NamespaceOf(::getpid(), "ipc"));
}

TEST_F(NamespacesTest, SysctlsAreSetInsideAndNotOnTheHost) {
  std::string host_forward = read_file("/proc/sys/net/ipv4/ip_forward");
  std::string host_rmid = read_file("/proc/sys/kernel/shm_rmid_forced");
  spec["linux"]["sysctl"] = {{"net.ipv4.ip_forward", host_forward == "1\n" ? "0" : "1"},
                             {"kernel.shm_rmid_forced", host_rmid == "1\n" ? "0" : "1"}};
  SetShell("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced");
  ProcessResult run = RunContainer(NewId());
  ASSERT_TRUE(run.succeeded()) << run;
  std::string expected = std::string(host_forward == "1\n" ? "0" : "1") + "\n" +
                         (host_rmid == "1\n" ? "0" : "1") + "\n";
  EXPECT_EQ(run.out, expected);
  EXPECT_EQ(read_file("/proc/sys/net/ipv4/ip_forward"), host_forward);
  EXPECT_EQ(read_file("/proc/sys/kernel/shm_rmid_forced"), host_rmid);
}

TEST_F(NamespacesTest, SysctlKeyThatEscapesProcSysFailsCreate) {
  if (runtime_is_runc()) GTEST_SKIP() << "runc 1.1 validates sysctls by namespace instead";
  spec["linux"]["sysctl"] = {{"../../etc/berth-escape", "1"}};
  std::string id = NewId();
  ProcessResult created = Create(id);
  ExpectCleanFailure(created, "../../etc/berth-escape");
  EXPECT_FALSE(path_exists("/etc/berth-escape"));
  EXPECT_FALSE(path_exists(StateDir(id)));
}

TEST_F(NamespacesTest, UnknownSysctlFailsCreateNamingIt) {
  spec["linux"]["sysctl"] = {{"kernel.berth_no_such_sysctl", "1"}};
  std::string id = NewId();
  ProcessResult created = Create(id);
  ExpectCleanFailure(created, "kernel.berth_no_such_sysctl");
  EXPECT_FALSE(path_exists(StateDir(id)));
}

TEST_F(NamespacesTest, DomainnameIsTheSpecsDomainname) {
  if (runtime_is_runc()) GTEST_SKIP() << "runc 1.1 ignores domainname: the container shows (none)";
  spec["domainname"] = "berth.test";
  SetShell("cat /proc/sys/kernel/domainname");
  ProcessResult run = RunContainer(NewId());
  ASSERT_TRUE(run.succeeded()) << run;
  EXPECT_EQ(run.out, "berth.test\n");
}

// `run` with process.terminal and no console socket: the container's pty is
// relayed to the runtime's own terminal, here a pty the test holds.
TEST_F(NamespacesTest, RunRelaysTheCallersTerminal) {
  SetTerminal(true);
  SetShell("tty; stty size; echo done-$((6*7))");
  std::string id = NewId();
  WriteSpec(id);
  TerminalRun run = RunOnTerminal({"run", "--bundle", bundle_, id}, "done-42");
  const std::string& output = run.shown;
  ASSERT_FALSE(run.result.timed_out) << "run did not exit; terminal showed:\n" << output;
  EXPECT_EQ(run.result.exit_code, 0) << run.result << "\nterminal showed:\n" << output;
  EXPECT_NE(output.find("done-42"), std::string::npos) << output;
  EXPECT_NE(output.find("/dev/pts/"), std::string::npos) << output;
  // runc 1.1 sets the pty's size only after releasing the process, which
  // then races it (seen: "stty: standard input: No child processes").
  if (!runtime_is_runc()) {
    EXPECT_NE(output.find("30 100"), std::string::npos) << "window size relayed:\n" << output;
  }
}

}  // namespace
}  // namespace berth::test::itest
