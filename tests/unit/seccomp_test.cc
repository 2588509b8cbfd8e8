// seccomp filters from the spec: the BPF libseccomp generates for each action
// and operator (read back as pseudo-code), and filters loaded for real in a
// forked child, where the kernel's answers are checked. Loading is
// irreversible, so it never happens in the test process itself.
#include "linux/seccomp.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "child_process.h"
#include "core/files.h"
#include "support/temp_dir.h"

namespace berth::linux {
namespace {

using berth::unit_test::ChildOutcome;
using berth::unit_test::load_in_child;

using spec::SeccompAction;
using spec::SeccompArg;
using spec::SeccompOperator;
using spec::SeccompRule;

SeccompRule rule(std::vector<std::string> names, SeccompAction action,
                 std::optional<uint32_t> errno_ret = std::nullopt,
                 std::vector<SeccompArg> args = {}) {
  SeccompRule r;
  r.names = std::move(names);
  r.action = action;
  r.errno_ret = errno_ret;
  r.args = std::move(args);
  return r;
}

spec::Seccomp allow_by_default(std::vector<SeccompRule> rules) {
  spec::Seccomp profile;
  profile.default_action = SeccompAction::Allow;
  profile.syscalls = std::move(rules);
  return profile;
}

std::string pfc_of(const spec::Seccomp& profile) {
  auto filter = SeccompFilter::compile(profile);
  if (!filter) return "compile failed: " + filter.error().message();
  auto pfc = filter->export_pfc();
  return pfc ? *pfc : "export failed: " + pfc.error().message();
}

// The pseudo-code libseccomp generates for one syscall on the native
// architecture: from its "# filter for syscall" comment to the next one.
std::string syscall_block(const std::string& pfc, const std::string& name) {
  size_t start = pfc.find("# filter for syscall \"" + name + "\"");
  if (start == std::string::npos) return {};
  size_t end = pfc.find("# filter for syscall", start + 1);
  size_t default_action = pfc.find("# default action", start);
  return pfc.substr(start, std::min(end, default_action) - start);
}

TEST(SeccompFilter, EveryActionReachesTheGeneratedFilter) {
  std::string pfc = pfc_of(allow_by_default({
      rule({"mkdir"}, SeccompAction::Errno, 38),
      rule({"rmdir"}, SeccompAction::Errno),
      rule({"chmod"}, SeccompAction::Trace, 7),
      rule({"fchmod"}, SeccompAction::Trace),
      rule({"chown"}, SeccompAction::Kill),
      rule({"fchown"}, SeccompAction::KillThread),
      rule({"lchown"}, SeccompAction::KillProcess),
      rule({"link"}, SeccompAction::Trap),
      rule({"unlink"}, SeccompAction::Log),
      rule({"symlink"}, SeccompAction::Notify),
  }));
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"mkdir", "action ERRNO(38);"},
      {"rmdir", "action ERRNO(1);"},
      {"chmod", "action TRACE(7);"},
      {"fchmod", "action TRACE(1);"},
      {"chown", "action KILL;"},
      {"fchown", "action KILL;"},
      {"lchown", "action KILL_PROCESS;"},
      {"link", "action TRAP;"},
      {"unlink", "action LOG;"},
      // libseccomp 2.5.4's pseudo-code prints NOTIFY as its raw value.
      {"symlink", "action 0x7fc00000;"},
  };
  for (const auto& [name, action] : expected)
    EXPECT_NE(syscall_block(pfc, name).find(action), std::string::npos)
        << name << " should have " << action << " in:\n"
        << pfc;
}

TEST(SeccompFilter, NotifyRuleMakesTheFilterHandOutAListener) {
  auto with_notify =
      SeccompFilter::compile(allow_by_default({rule({"mkdir"}, SeccompAction::Notify)}));
  ASSERT_TRUE(with_notify) << with_notify.error().message();
  EXPECT_TRUE(with_notify->uses_notify());
  auto without = SeccompFilter::compile(allow_by_default({rule({"mkdir"}, SeccompAction::Errno)}));
  ASSERT_TRUE(without) << without.error().message();
  EXPECT_FALSE(without->uses_notify());
}

TEST(SeccompFilter, DefaultErrnoRetIsTheDefaultActionsErrno) {
  spec::Seccomp profile;
  profile.default_action = SeccompAction::Errno;
  profile.default_errno_ret = 38;
  profile.syscalls = {rule({"getpid"}, SeccompAction::Allow)};
  std::string pfc = pfc_of(profile);
  size_t default_action = pfc.find("# default action");
  ASSERT_NE(default_action, std::string::npos) << pfc;
  EXPECT_NE(pfc.find("action ERRNO(38);", default_action), std::string::npos) << pfc;
  EXPECT_NE(syscall_block(pfc, "getpid").find("action ALLOW;"), std::string::npos) << pfc;
}

TEST(SeccompFilter, RulesRepeatingTheDefaultActionAreDropped) {
  spec::Seccomp profile;
  profile.default_action = SeccompAction::Errno;  // EPERM
  profile.syscalls = {
      rule({"mkdir"}, SeccompAction::Errno),           // EPERM too: same action
      rule({"rmdir"}, SeccompAction::Errno, EPERM),    // spelled out: same action
      rule({"unlink"}, SeccompAction::Errno, ENOENT),  // a different action
  };
  std::string pfc = pfc_of(profile);
  EXPECT_EQ(syscall_block(pfc, "mkdir"), "") << pfc;
  EXPECT_EQ(syscall_block(pfc, "rmdir"), "") << pfc;
  EXPECT_NE(syscall_block(pfc, "unlink").find("action ERRNO(2);"), std::string::npos) << pfc;
}

TEST(SeccompFilter, EveryOperatorComparesTheGivenArgument) {
  // Each operator on its own syscall, on argument 1, against 4660 (0x1234).
  // libseccomp splits 64-bit comparisons into hi32/lo32 halves and writes
  // LT and LE as the negation of GE and GT.
  struct Case {
    const char* syscall;
    SeccompOperator op;
    const char* comparison;
  };
  const std::vector<Case> cases = {
      {"read", SeccompOperator::EqualTo, "if ($a1.lo32 == 4660)"},
      {"write", SeccompOperator::NotEqual, "if ($a1.lo32 == 4660)"},
      {"lseek", SeccompOperator::GreaterThan, "if ($a1.lo32 > 4660)"},
      {"pread64", SeccompOperator::GreaterEqual, "if ($a1.lo32 >= 4660)"},
      {"pwrite64", SeccompOperator::LessThan, "if ($a1.lo32 >= 4660)"},
      {"readv", SeccompOperator::LessEqual, "if ($a1.lo32 > 4660)"},
      // MASKED_EQ: the spec's value is the mask, valueTwo the datum (0x1200).
      {"writev", SeccompOperator::MaskedEqual, "if ($a1.lo32 & 0x0000ff00 == 4608)"},
  };
  std::vector<SeccompRule> rules;
  for (const Case& c : cases) {
    SeccompArg arg{.index = 1, .value = 0x1234, .value_two = 0, .op = c.op};
    if (c.op == SeccompOperator::MaskedEqual)
      arg = {.index = 1, .value = 0xff00, .value_two = 0x1200, .op = c.op};
    rules.push_back(rule({c.syscall}, SeccompAction::Errno, 38, {arg}));
  }
  std::string pfc = pfc_of(allow_by_default(rules));
  for (const Case& c : cases) {
    std::string block = syscall_block(pfc, c.syscall);
    EXPECT_NE(block.find(c.comparison), std::string::npos)
        << c.syscall << " should contain \"" << c.comparison << "\" in:\n"
        << block;
    EXPECT_NE(block.find("action ERRNO(38);"), std::string::npos) << c.syscall << ":\n" << block;
  }
}

TEST(SeccompFilter, ConditionsOnOneArgumentBecomeSeparateRules) {
  std::string pfc = pfc_of(
      allow_by_default({rule({"personality"}, SeccompAction::Errno, 38,
                             {{.index = 0, .value = 8, .op = SeccompOperator::EqualTo},
                              {.index = 0, .value = 131072, .op = SeccompOperator::EqualTo}})}));
  std::string block = syscall_block(pfc, "personality");
  EXPECT_NE(block.find("$a0.lo32 == 8)"), std::string::npos) << pfc;
  EXPECT_NE(block.find("$a0.lo32 == 131072)"), std::string::npos) << pfc;
}

TEST(SeccompFilter, SyscallsUnknownOnThisArchitectureAreSkipped) {
  // cacheflush exists on ARM only; the other name exists nowhere.
  auto filter = SeccompFilter::compile(allow_by_default(
      {rule({"cacheflush", "berth_no_such_syscall", "mkdir"}, SeccompAction::Errno, 38)}));
  ASSERT_TRUE(filter) << filter.error().message();
  auto pfc = filter->export_pfc();
  ASSERT_TRUE(pfc) << pfc.error().message();
  EXPECT_NE(syscall_block(*pfc, "mkdir").find("action ERRNO(38);"), std::string::npos) << *pfc;
  EXPECT_EQ(pfc->find("berth_no_such_syscall"), std::string::npos) << *pfc;
}

#if defined(__x86_64__)
TEST(SeccompFilter, ListedArchitecturesGetTheirOwnSections) {
  spec::Seccomp profile = allow_by_default({rule({"mkdir"}, SeccompAction::Errno, 38)});
  // x86_64 is native and already in the filter: listing it is not an error.
  profile.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  std::string pfc = pfc_of(profile);
  EXPECT_NE(pfc.find("# filter for arch x86_64 "), std::string::npos) << pfc;
  EXPECT_NE(pfc.find("# filter for arch x86 "), std::string::npos) << pfc;
  EXPECT_NE(pfc.find("# filter for arch x32 "), std::string::npos) << pfc;
  // mkdir is 39 on i386.
  EXPECT_NE(pfc.find("# filter for syscall \"mkdir\" (39)"), std::string::npos) << pfc;
}
#endif

TEST(SeccompFilter, FiltersFlagsTheKernelSupportsAreAccepted) {
  spec::Seccomp profile = allow_by_default({rule({"mkdir"}, SeccompAction::Errno)});
  profile.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                   "SECCOMP_FILTER_FLAG_TSYNC"};
  auto filter = SeccompFilter::compile(profile);
  EXPECT_TRUE(filter) << filter.error().message();
}

TEST(SeccompFilter, WaitKillableRecvNeedsANewerLibseccomp) {
  spec::Seccomp profile = allow_by_default({});
  profile.flags = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  auto filter = SeccompFilter::compile(profile);
#if SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR < 6
  ASSERT_FALSE(filter);
  EXPECT_EQ(
      filter.error().message(),
      fmt::format("linux.seccomp.flags[0]: seccomp flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV "
                  "is not supported by libseccomp 2.5.{}",
                  SCMP_VER_MICRO));
#else
  EXPECT_TRUE(filter) << filter.error().message();
#endif
}

TEST(SeccompFilter, ErrnoRetBeyondSixteenBitsNamesTheRule) {
  auto filter = SeccompFilter::compile(allow_by_default(
      {rule({"mkdir"}, SeccompAction::Allow), rule({"rmdir"}, SeccompAction::Errno, 70000)}));
  ASSERT_FALSE(filter);
  EXPECT_EQ(
      filter.error().message(),
      "linux.seccomp.syscalls[1]: errnoRet 70000 does not fit in the 16 bits seccomp returns");
}

std::string describe_result(long rc, int error) {
  return rc < 0 ? fmt::format("-1 with errno {} ({})", error, strerrorname_np(error))
                : fmt::format("{}", rc);
}

TEST(SeccompLoad, FilteredSyscallFailsWithTheRulesErrno) {
  auto filter = SeccompFilter::compile(
      allow_by_default({rule({"mkdir", "mkdirat"}, SeccompAction::Errno, ENOSYS)}));
  ASSERT_TRUE(filter) << filter.error().message();
  ChildOutcome outcome = load_in_child(*filter, [](const UniqueFd&) {
    std::string report;
    // glibc's mkdirat() is the mkdirat syscall; a real directory is never
    // made because the path's parent does not exist.
    errno = 0;
    int rc = ::mkdirat(AT_FDCWD, "/berth-no-such-dir/probe", 0700);
    int error = errno;
    if (rc != -1 || error != ENOSYS)
      report += "mkdirat returned " + describe_result(rc, error) + ", expected ENOSYS; ";
    errno = 0;
    long other = ::syscall(SYS_unlinkat, AT_FDCWD, "/berth-no-such-dir/probe", 0);
    error = errno;
    if (other != -1 || error != ENOENT)
      report +=
          "unfiltered unlinkat returned " + describe_result(other, error) + ", expected ENOENT";
    return report;
  });
  EXPECT_EQ(outcome.exit_code, 0) << outcome.report;
}

// Each case filters getppid (which ignores its arguments, so any values can
// be passed) by argument conditions, then calls it with probe arguments and
// checks which calls the kernel's filter refused with ENOSYS.
struct ArgumentCase {
  const char* name;
  std::vector<SeccompArg> args;
  std::vector<std::pair<std::array<uint64_t, 2>, bool>> probes;  // args 0 and 1 -> refused?
};

TEST(SeccompLoad, ArgumentConditionsMatchAsTheKernelEvaluatesThem) {
  auto arg0 = [](SeccompOperator op, uint64_t value, uint64_t value_two = 0) {
    return SeccompArg{.index = 0, .value = value, .value_two = value_two, .op = op};
  };
  const uint64_t big = 0x100000005ULL;  // exercises the upper 32 bits
  const std::vector<ArgumentCase> cases = {
      {"EQ",
       {arg0(SeccompOperator::EqualTo, 100)},
       {{{99, 0}, false}, {{100, 0}, true}, {{101, 0}, false}}},
      {"NE",
       {arg0(SeccompOperator::NotEqual, 100)},
       {{{99, 0}, true}, {{100, 0}, false}, {{101, 0}, true}}},
      {"LT",
       {arg0(SeccompOperator::LessThan, 100)},
       {{{99, 0}, true}, {{100, 0}, false}, {{101, 0}, false}}},
      {"LE",
       {arg0(SeccompOperator::LessEqual, 100)},
       {{{99, 0}, true}, {{100, 0}, true}, {{101, 0}, false}}},
      {"GT",
       {arg0(SeccompOperator::GreaterThan, 100)},
       {{{99, 0}, false}, {{100, 0}, false}, {{101, 0}, true}}},
      {"GE",
       {arg0(SeccompOperator::GreaterEqual, 100)},
       {{{99, 0}, false}, {{100, 0}, true}, {{101, 0}, true}}},
      {"GT 64-bit",
       {arg0(SeccompOperator::GreaterThan, big)},
       {{{5, 0}, false}, {{big, 0}, false}, {{big + 1, 0}, true}}},
      {"MASKED_EQ",
       {arg0(SeccompOperator::MaskedEqual, 0xf0, 0x60)},
       {{{0x65, 0}, true}, {{0x6f, 0}, true}, {{0x75, 0}, false}}},
      {"same index ORed",
       {arg0(SeccompOperator::EqualTo, 1), arg0(SeccompOperator::EqualTo, 2)},
       {{{1, 0}, true}, {{2, 0}, true}, {{3, 0}, false}}},
      {"different indexes ANDed",
       {arg0(SeccompOperator::EqualTo, 1),
        {.index = 1, .value = 2, .op = SeccompOperator::EqualTo}},
       {{{1, 2}, true}, {{1, 3}, false}, {{0, 2}, false}}},
  };
  for (const ArgumentCase& c : cases) {
    auto filter = SeccompFilter::compile(
        allow_by_default({rule({"getppid"}, SeccompAction::Errno, ENOSYS, c.args)}));
    ASSERT_TRUE(filter) << c.name << ": " << filter.error().message();
    ChildOutcome outcome = load_in_child(*filter, [&c](const UniqueFd&) {
      std::string report;
      for (const auto& [probe, refused] : c.probes) {
        errno = 0;
        long rc = ::syscall(SYS_getppid, probe[0], probe[1]);
        int error = errno;
        bool was_refused = rc == -1 && error == ENOSYS;
        if (was_refused != refused)
          report +=
              fmt::format("getppid({:#x}, {:#x}) returned {}, expected {}; ", probe[0], probe[1],
                          describe_result(rc, error), refused ? "ENOSYS" : "success");
      }
      return report;
    });
    EXPECT_EQ(outcome.exit_code, 0) << c.name << ": " << outcome.report;
  }
}

TEST(SeccompLoad, NotifyListenerIsSentToTheListenerPathWithTheState) {
  test::TempDir dir("berth-seccomp-test");
  const std::string socket_path = dir / "listener.sock";

  UniqueFd server(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  ASSERT_TRUE(server) << strerror(errno);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(server.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
      << strerror(errno);
  ASSERT_EQ(::listen(server.get(), 1), 0) << strerror(errno);

  const std::string state = R"({"ociVersion":"1.0.2","fds":["seccompFd"],"pid":1})";
  auto filter =
      SeccompFilter::compile(allow_by_default({rule({"mkdirat"}, SeccompAction::Notify)}));
  ASSERT_TRUE(filter) << filter.error().message();
  ChildOutcome outcome = load_in_child(*filter, [&](const UniqueFd& listener) -> std::string {
    if (!listener.valid()) return "load() returned no listener fd for a NOTIFY rule";
    auto sent = send_seccomp_listener(socket_path, listener.get(), state);
    return sent ? "" : sent.error().message();
  });
  ASSERT_EQ(outcome.exit_code, 0) << outcome.report;

  // The child has exited: its connection waits in the backlog with the data.
  UniqueFd connection(::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(connection) << "accept: " << strerror(errno);
  char payload[256] = {};
  iovec iov{payload, sizeof payload};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t received = ::recvmsg(connection.get(), &message, MSG_CMSG_CLOEXEC);
  ASSERT_GT(received, 0) << strerror(errno);
  EXPECT_EQ(std::string(payload, static_cast<size_t>(received)), state);
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  ASSERT_NE(header, nullptr) << "no ancillary data arrived with the state";
  ASSERT_EQ(header->cmsg_type, SCM_RIGHTS);
  int raw_fd = -1;
  std::memcpy(&raw_fd, CMSG_DATA(header), sizeof raw_fd);
  UniqueFd listener(raw_fd);
  char target[64] = {};
  ssize_t length = ::readlink(fmt::format("/proc/self/fd/{}", listener.get()).c_str(), target,
                              sizeof target - 1);
  ASSERT_GT(length, 0) << strerror(errno);
  EXPECT_STREQ(target, "anon_inode:seccomp notify");
}

TEST(SeccompLoad, ListenerPathThatIsNotListeningIsNamedInTheError) {
  auto sent = send_seccomp_listener("/berth-no-such-dir/listener.sock", 0, "{}");
  ASSERT_FALSE(sent);
  EXPECT_EQ(
      sent.error().message(),
      "connect to seccomp listener /berth-no-such-dir/listener.sock: No such file or directory");
}

}  // namespace
}  // namespace berth::linux
