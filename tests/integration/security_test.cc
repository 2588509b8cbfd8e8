// Privilege limits: capability sets, seccomp filters, mount destinations that
// try to leave the rootfs, and the runtime's own binary as seen from a
// container (CVE-2019-5736).
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "core/unique_fd.h"
#include "harness.h"

namespace berth::test::itest {
namespace {

using SecurityTest = ContainerTest;

std::string CapabilityLines() { return "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/1/status"; }

// Exec as root fills the permitted and effective sets from the bounding set
// (capabilities(7), "Capabilities and execution of programs by root"), so a
// root process ends with its bounding set whatever the spec's permitted set.
TEST_F(SecurityTest, RootProcessHasExactlyTheBoundingSet) {
  std::vector<std::string> caps = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE",
                                   "CAP_SYS_ADMIN"};
  SetCapabilities({.bounding = caps, .effective = caps, .permitted = caps});
  SetShell(CapabilityLines());
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  // bits 0, 5, 10 and 21
  const std::string mask = "0000000000200421";
  ExpectCapabilityMasks(result, {.bounding = mask, .permitted = mask, .effective = mask});
}

// A non-root process keeps across exec only what is ambient, and ambient
// capabilities need to be both permitted and inheritable.
TEST_F(SecurityTest, NonRootProcessKeepsItsAmbientSet) {
  SetUser(1000, 1000);
  SetCapabilities({.bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
                   .effective = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
                   .permitted = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
                   .inheritable = {"CAP_KILL", "CAP_NET_BIND_SERVICE"},
                   .ambient = {"CAP_KILL", "CAP_NET_BIND_SERVICE"}});
  SetShell(CapabilityLines());
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  ExpectCapabilityMasks(result, {.bounding = "0000000000000421",
                                 .permitted = "0000000000000420",
                                 .effective = "0000000000000420",
                                 .inheritable = "0000000000000420",
                                 .ambient = "0000000000000420"});
}

TEST_F(SecurityTest, CapabilityOutsideTheBoundingSetIsRefused) {
  std::vector<std::string> caps = {"CAP_KILL"};
  SetCapabilities({.bounding = caps, .effective = caps, .permitted = caps});
  AddMount("/scratch", "tmpfs", "tmpfs", {"size=64k"});
  SetShell("touch /scratch/file && chown 1000 /scratch/file || echo refused");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "refused\n") << result;
  EXPECT_NE(result.err.find("Operation not permitted"), std::string::npos) << result;
}

json SeccompAllowingAllBut(json rules) {
  return {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
          {"syscalls", std::move(rules)}};
}

// busybox's mkdir calls mkdirat on x86_64; the rule names both.
TEST_F(SecurityTest, SeccompErrnoRuleFailsTheSyscallWithItsErrno) {
  SetSeccomp(SeccompAllowingAllBut(json::array(
      {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}}})));
  AddMount("/scratch", "tmpfs", "tmpfs", {"size=64k"});
  SetShell(
      "mkdir /scratch/dir || echo refused; touch /scratch/file && echo touched; "
      "grep ^Seccomp: /proc/self/status");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "refused\ntouched\nSeccomp:\t2\n") << result;
  EXPECT_NE(result.err.find("Function not implemented"), std::string::npos) << result;
}

TEST_F(SecurityTest, SeccompRuleMatchesOnArguments) {
  // kill(2) with signal 10 (SIGUSR1) fails with EPERM; other signals pass.
  SetSeccomp(SeccompAllowingAllBut(
      json::array({{{"names", {"kill"}},
                    {"action", "SCMP_ACT_ERRNO"},
                    {"errnoRet", 1},
                    {"args", {{{"index", 1}, {"value", 10}, {"op", "SCMP_CMP_EQ"}}}}}})));
  SetShell("kill -USR1 $$ || echo usr1 refused; kill -0 $$ && echo signal 0 allowed");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "usr1 refused\nsignal 0 allowed\n") << result;
  EXPECT_NE(result.err.find("Operation not permitted"), std::string::npos) << result;
}

TEST_F(SecurityTest, SeccompKillActionKillsWithSigsys) {
  SetSeccomp(SeccompAllowingAllBut(
      json::array({{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_KILL_PROCESS"}}})));
  AddMount("/scratch", "tmpfs", "tmpfs", {"size=64k"});
  SetArgs({"mkdir", "/scratch/dir"});
  ProcessResult result = RunContainer(NewId());
  EXPECT_EQ(result.exit_code, 128 + SIGSYS) << result;
}

// A symlink in the image must not redirect a mount to the host: the
// destination resolves inside the rootfs, as if the rootfs were "/".
TEST_F(SecurityTest, MountDestinationSymlinkStaysInsideTheRootfs) {
  std::string outside = dir_ + "/outside";
  ASSERT_EQ(::symlink(outside.c_str(), (rootfs_ + "/escape").c_str()), 0);
  AddMount("/escape", "tmpfs", "tmpfs", {"size=64k"});
  SetShell("grep ' tmpfs ' /proc/self/mountinfo | grep -v ' /dev'");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_FALSE(path_exists(outside)) << "the runtime created a directory outside the rootfs";
  EXPECT_NE(find_mount(parse_mountinfo(result.out), outside), nullptr)
      << "expected the tmpfs at " << outside << " inside the container:\n"
      << result;
}

// From a child of this test: join the pid and mount namespaces of the
// process behind pidfd, optionally drop CAP_SYS_PTRACE from every set, then
// (in a grandchild, which is inside the pid namespace) open /proc/1/exe.
// Returns 0 if the open worked, else its errno; -1 if the set-up failed.
// Only system calls between fork and exit: other threads may hold locks.
int OpenInitExeFromInside(int pidfd, bool drop_ptrace) {
  pid_t child = ::fork();
  if (child < 0) return -1;
  if (child == 0) {
    if (::setns(pidfd, CLONE_NEWPID | CLONE_NEWNS) != 0) ::_exit(255);
    if (drop_ptrace) {
      __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
      __user_cap_data_struct data[2] = {};
      if (::syscall(SYS_capget, &header, data) != 0) ::_exit(255);
      for (__user_cap_data_struct& set : data) {
        set.effective &= ~(1u << CAP_SYS_PTRACE);
        set.permitted &= ~(1u << CAP_SYS_PTRACE);
        set.inheritable &= ~(1u << CAP_SYS_PTRACE);
      }
      if (::prctl(PR_CAPBSET_DROP, CAP_SYS_PTRACE, 0, 0, 0) != 0) ::_exit(255);
      if (::syscall(SYS_capset, &header, data) != 0) ::_exit(255);
    }
    pid_t inside = ::fork();
    if (inside < 0) ::_exit(255);
    if (inside == 0) {
      int fd = ::open("/proc/1/exe", O_RDONLY | O_CLOEXEC);
      ::_exit(fd >= 0 ? 0 : errno);
    }
    int status = 0;
    if (::waitpid(inside, &status, 0) != inside || !WIFEXITED(status)) ::_exit(255);
    ::_exit(WEXITSTATUS(status));
  }
  int status = 0;
  if (::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status) == 255 ? -1 : WEXITSTATUS(status);
}

// CVE-2019-5736: a process in the container opens /proc/<runtime pid>/exe
// and overwrites the runtime's binary on the host. A created container's
// init is still the runtime, so a process inside without CAP_SYS_PTRACE must
// not reach its exe (the runtime made itself non-dumpable) ...
// The process enters first and drops CAP_SYS_PTRACE after: a non-dumpable
// init also keeps `setpriv --bounding-set -sys_ptrace nsenter -t PID` from
// opening /proc/PID/ns/* at all.
TEST_F(SecurityTest, CreatedInitsExeIsRefusedWithoutPtrace) {
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  UniqueFd pidfd = open_pidfd(InitPid(id));
  ASSERT_TRUE(pidfd.valid()) << strerror(errno);

  int with_ptrace = OpenInitExeFromInside(pidfd.get(), /*drop_ptrace=*/false);
  ASSERT_EQ(with_ptrace, 0) << "with CAP_SYS_PTRACE, opening /proc/1/exe failed: "
                            << (with_ptrace > 0 ? strerror(with_ptrace) : "set-up failed");
  if (runtime_is_runc())
    GTEST_SKIP() << "runc 1.1 leaves its waiting init dumpable (the exe it shows is a "
                    "read-only bind mount of its binary instead)";
  int without_ptrace = OpenInitExeFromInside(pidfd.get(), /*drop_ptrace=*/true);
  EXPECT_TRUE(without_ptrace == EACCES || without_ptrace == EPERM)
      << "opening /proc/1/exe without CAP_SYS_PTRACE gave "
      << (without_ptrace == 0  ? "success"
          : without_ptrace > 0 ? strerror(without_ptrace)
                               : "a set-up failure");
}

// ... and even with CAP_SYS_PTRACE, what /proc/<init>/exe reaches is a
// sealed copy, not the binary on the host.
TEST_F(SecurityTest, CreatedInitRunsFromASealedCopyOfTheRuntime) {
  json& caps = spec["process"]["capabilities"];
  for (const char* set : {"bounding", "effective", "permitted"})
    caps[set].push_back("CAP_SYS_PTRACE");
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  std::string exe = "/proc/" + std::to_string(InitPid(id)) + "/exe";

  UniqueFd for_writing(::open(exe.c_str(), O_WRONLY | O_CLOEXEC));
  EXPECT_FALSE(for_writing.valid()) << exe << " opened for writing";

  if (runtime_is_runc())
    GTEST_SKIP() << "runc 1.1 runs its init from a read-only bind mount of its binary, "
                    "not from a sealed memfd";
  char target[256] = {};
  ASSERT_GT(::readlink(exe.c_str(), target, sizeof target - 1), 0) << strerror(errno);
  EXPECT_STREQ(target, "/memfd:berth-runtime (deleted)");
  UniqueFd for_reading(::open(exe.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(for_reading.valid()) << strerror(errno);
  int seals = ::fcntl(for_reading.get(), F_GET_SEALS);
  EXPECT_TRUE(seals >= 0 && (seals & F_SEAL_WRITE) && (seals & F_SEAL_SEAL))
      << "seals " << seals << " (" << strerror(errno) << ")";
}

}  // namespace
}  // namespace berth::test::itest
