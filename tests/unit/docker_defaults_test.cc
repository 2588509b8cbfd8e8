// Docker's default security settings as the launcher writes them: the
// capability set, the seccomp profile resolved for a capability set (checked
// rule by rule, then parsed by the spec parser, compiled by the runtime's
// seccomp module and loaded in a forked child), and the masked and
// read-only paths.
#include "launcher/docker_defaults.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "child_process.h"
#include "linux/seccomp.h"
#include "spec/spec.h"

namespace berth::launcher {
namespace {

using nlohmann::json;
using unit_test::ChildOutcome;
using unit_test::load_in_child;

std::vector<std::string> default_caps_plus(const std::vector<std::string>& extra) {
  std::vector<std::string> caps = docker_default_capabilities();
  caps.insert(caps.end(), extra.begin(), extra.end());
  return caps;
}

// Every capability a rule of the profile is conditioned on, with the default
// set: the profile at its most permissive.
std::vector<std::string> every_gating_capability() {
  return default_caps_plus({"CAP_DAC_READ_SEARCH", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
                            "CAP_SYS_MODULE", "CAP_SYS_PACCT", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO",
                            "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_SYS_NICE", "CAP_SYSLOG",
                            "CAP_BPF", "CAP_PERFMON"});
}

bool lists(const json& rule, const std::string& name) {
  const json& names = rule.at("names");
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The rules of the resolved profile that name the syscall.
std::vector<json> rules_for(const json& profile, const std::string& name) {
  std::vector<json> rules;
  for (const json& rule : profile.at("syscalls"))
    if (lists(rule, name)) rules.push_back(rule);
  return rules;
}

// Allowed whatever its arguments: an ALLOW rule without argument conditions.
bool allowed_outright(const json& profile, const std::string& name) {
  for (const json& rule : rules_for(profile, name))
    if (rule.at("action") == "SCMP_ACT_ALLOW" && !rule.contains("args")) return true;
  return false;
}

TEST(DockerDefaults, CapabilitiesAreDockersFourteenInItsOrder) {
  EXPECT_EQ(docker_default_capabilities(),
            (std::vector<std::string>{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
                                      "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
                                      "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                                      "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}));
}

TEST(DockerDefaults, MaskedAndReadonlyPathsAreDockers) {
  EXPECT_EQ(docker_masked_paths(),
            (std::vector<std::string>{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                                      "/proc/latency_stats", "/proc/timer_list",
                                      "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                                      "/sys/firmware", "/sys/devices/virtual/powercap"}));
  EXPECT_EQ(docker_readonly_paths(),
            (std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger"}));
}

TEST(DockerSeccomp, RefusesWithEpermByDefault) {
  json profile = docker_default_seccomp(docker_default_capabilities());
  EXPECT_EQ(profile.at("defaultAction"), "SCMP_ACT_ERRNO");
  EXPECT_EQ(profile.at("defaultErrnoRet"), EPERM);
#if defined(__x86_64__)
  EXPECT_EQ(profile.at("architectures"),
            json::array({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  EXPECT_TRUE(allowed_outright(profile, "arch_prctl"));
  EXPECT_TRUE(allowed_outright(profile, "modify_ldt"));
  EXPECT_TRUE(rules_for(profile, "cacheflush").empty());  // ARM's
#endif
  EXPECT_TRUE(allowed_outright(profile, "read"));
  EXPECT_TRUE(allowed_outright(profile, "execve"));
  EXPECT_TRUE(allowed_outright(profile, "io_uring_setup"));
  // Never allowed, whatever the capabilities.
  json permissive = docker_default_seccomp(every_gating_capability());
  for (const char* name :
       {"keyctl", "add_key", "request_key", "kexec_load", "userfaultfd", "swapon", "pivot_root"})
    EXPECT_TRUE(rules_for(permissive, name).empty()) << name;
}

// Each capability-gated group of Docker's profile: one of its syscalls is
// refused (by the default action) without the capability and allowed with it.
struct Gate {
  const char* capability;
  const char* syscall;
};

TEST(DockerSeccomp, GatedSyscallsNeedTheirCapability) {
  const Gate gates[] = {
      {"CAP_DAC_READ_SEARCH", "open_by_handle_at"},
      {"CAP_SYS_ADMIN", "mount"},
      {"CAP_SYS_ADMIN", "umount2"},
      {"CAP_SYS_ADMIN", "unshare"},
      {"CAP_SYS_ADMIN", "setns"},
      {"CAP_SYS_ADMIN", "fsopen"},
      {"CAP_SYS_ADMIN", "sethostname"},
      {"CAP_SYS_BOOT", "reboot"},
      {"CAP_SYS_MODULE", "finit_module"},
      {"CAP_SYS_PACCT", "acct"},
      {"CAP_SYS_PTRACE", "kcmp"},
      {"CAP_SYS_PTRACE", "pidfd_getfd"},
      {"CAP_SYS_PTRACE", "process_madvise"},
      {"CAP_SYS_RAWIO", "iopl"},
      {"CAP_SYS_TIME", "settimeofday"},
      {"CAP_SYS_TIME", "clock_settime"},
      {"CAP_SYS_TTY_CONFIG", "vhangup"},
      {"CAP_SYS_NICE", "mbind"},
      {"CAP_SYSLOG", "syslog"},
      {"CAP_BPF", "bpf"},
      {"CAP_PERFMON", "perf_event_open"},
  };
  const json without = docker_default_seccomp(docker_default_capabilities());
  for (const Gate& gate : gates) {
    EXPECT_TRUE(rules_for(without, gate.syscall).empty())
        << gate.syscall << " without " << gate.capability;
    EXPECT_TRUE(allowed_outright(docker_default_seccomp(default_caps_plus({gate.capability})),
                                 gate.syscall))
        << gate.syscall << " with " << gate.capability;
  }
  // CAP_SYS_CHROOT is in Docker's default set, so chroot is allowed by
  // default, and refused once the capability is dropped.
  EXPECT_TRUE(allowed_outright(without, "chroot"));
  EXPECT_TRUE(rules_for(docker_default_seccomp({"CAP_CHOWN"}), "chroot").empty());
}

TEST(DockerSeccomp, PtraceIsAllowedWithoutCapSysPtraceOnKernelsFrom4_8) {
  // Docker's profile allows ptrace, process_vm_readv and process_vm_writev
  // on 4.8 and later (includes.minKernel), whatever the capabilities: from
  // 4.8 the filter also judges the syscall a tracer rewrote. Every kernel
  // berth supports is newer.
  const json profile = docker_default_seccomp(docker_default_capabilities());
  EXPECT_TRUE(allowed_outright(profile, "ptrace"));
  EXPECT_TRUE(allowed_outright(profile, "process_vm_readv"));
  EXPECT_TRUE(rules_for(profile, "kcmp").empty());
}

TEST(DockerSeccomp, CloneKeepsItsFlagsRuleOnlyWithoutCapSysAdmin) {
  const json without = docker_default_seccomp(docker_default_capabilities());
  std::vector<json> clone = rules_for(without, "clone");
  ASSERT_EQ(clone.size(), 1u) << without.dump(2);
  EXPECT_EQ(clone[0].at("action"), "SCMP_ACT_ALLOW");
  const uint64_t namespace_flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                   CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
  EXPECT_EQ(namespace_flags, 2114060288u);  // the profile's number
  EXPECT_EQ(clone[0].at("args"),
            json::parse(R"([{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}])"));
  std::vector<json> clone3 = rules_for(without, "clone3");
  ASSERT_EQ(clone3.size(), 1u);
  EXPECT_EQ(clone3[0].at("action"), "SCMP_ACT_ERRNO");
  EXPECT_EQ(clone3[0].at("errnoRet"), ENOSYS);

  const json with = docker_default_seccomp(default_caps_plus({"CAP_SYS_ADMIN"}));
  clone = rules_for(with, "clone");
  ASSERT_EQ(clone.size(), 1u) << with.dump(2);
  EXPECT_FALSE(clone[0].contains("args"));
  clone3 = rules_for(with, "clone3");
  ASSERT_EQ(clone3.size(), 1u);
  EXPECT_EQ(clone3[0].at("action"), "SCMP_ACT_ALLOW");
}

TEST(DockerSeccomp, PersonalityAndSocketAreAllowedForSomeArgumentsOnly) {
  const json profile = docker_default_seccomp(docker_default_capabilities());
  std::set<uint64_t> personalities;
  for (const json& rule : rules_for(profile, "personality")) {
    ASSERT_EQ(rule.at("args").size(), 1u);
    EXPECT_EQ(rule.at("args")[0].at("op"), "SCMP_CMP_EQ");
    personalities.insert(rule.at("args")[0].at("value").get<uint64_t>());
  }
  EXPECT_EQ(personalities, (std::set<uint64_t>{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}));
  std::vector<json> socket = rules_for(profile, "socket");
  ASSERT_EQ(socket.size(), 1u);
  EXPECT_EQ(socket[0].at("args"),
            json::parse(R"([{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}])"));
}

// Names added to Docker's profile for syscalls newer than the libseccomp
// Debian 12 ships: the runtime skips them there, as runc does.
bool newer_than_this_libseccomp(const std::string& name) {
#if SCMP_VER_MAJOR == 2 && (SCMP_VER_MINOR < 5 || (SCMP_VER_MINOR == 5 && SCMP_VER_MICRO < 5))
  static const std::set<std::string> kLibseccomp255 = {
      "cachestat", "fchmodat2", "map_shadow_stack", "futex_wake", "futex_wait", "futex_requeue"};
  return kLibseccomp255.count(name) != 0;
#else
  (void)name;
  return false;
#endif
}

TEST(DockerSeccomp, EverySyscallNameIsKnownOnOneOfTheFiltersArchitectures) {
  // The runtime skips names libseccomp does not know, so a typo would
  // silently refuse the syscall; check each name against libseccomp here.
  const json profile = docker_default_seccomp(every_gating_capability());
  std::vector<uint32_t> arches;
  for (const json& arch : profile.at("architectures")) {
    std::string name = arch.get<std::string>().substr(std::strlen("SCMP_ARCH_"));
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    uint32_t token = seccomp_arch_resolve_name(name.c_str());
    ASSERT_NE(token, 0u) << arch;
    arches.push_back(token);
  }
  size_t checked = 0;
  for (const json& rule : profile.at("syscalls")) {
    for (const json& entry : rule.at("names")) {
      const std::string name = entry.get<std::string>();
      if (newer_than_this_libseccomp(name)) continue;
      bool known = std::any_of(arches.begin(), arches.end(), [&](uint32_t arch) {
        return seccomp_syscall_resolve_name_arch(arch, name.c_str()) != __NR_SCMP_ERROR;
      });
      EXPECT_TRUE(known) << "\"" << name << "\" is not a syscall libseccomp knows";
      ++checked;
    }
  }
  EXPECT_GT(checked, 350u);
}

// The profile as config.json's linux.seccomp, through the spec parser.
Result<spec::Spec> parse_with(const json& seccomp) {
  json document = spec::default_spec_json(false);
  document["linux"]["seccomp"] = seccomp;
  document["linux"]["maskedPaths"] = docker_masked_paths();
  document["linux"]["readonlyPaths"] = docker_readonly_paths();
  return spec::parse_spec_json(document);
}

size_t occurrences(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

TEST(DockerSeccomp, ParsesAndCompilesForEveryCapabilitySet) {
  const std::vector<std::vector<std::string>> cap_sets = {
      {},
      docker_default_capabilities(),
      default_caps_plus({"CAP_SYS_ADMIN"}),
      default_caps_plus({"CAP_SYS_PTRACE"}),
      every_gating_capability(),
  };
  for (const std::vector<std::string>& caps : cap_sets) {
    const json seccomp = docker_default_seccomp(caps);
    auto spec = parse_with(seccomp);
    ASSERT_TRUE(spec) << spec.error().message();
    ASSERT_TRUE(spec->linux && spec->linux->seccomp);
    EXPECT_EQ(spec->linux->seccomp->syscalls.size(), seccomp.at("syscalls").size());
    EXPECT_EQ(spec->linux->masked_paths, docker_masked_paths());
    auto filter = linux::SeccompFilter::compile(*spec->linux->seccomp);
    ASSERT_TRUE(filter) << filter.error().message() << " (" << caps.size() << " capabilities)";
    auto pfc = filter->export_pfc();
    ASSERT_TRUE(pfc) << pfc.error().message();
    // One section per architecture of the profile, each ending in EPERM.
    EXPECT_EQ(occurrences(*pfc, "# default action\n  action ERRNO(1);"),
              seccomp.at("architectures").size())
        << *pfc;
    EXPECT_EQ(occurrences(*pfc, "# filter for syscall \"read\""),
              seccomp.at("architectures").size());
  }
}

std::string describe(long rc, int error) {
  return rc < 0 ? std::string("-1 with ") + strerrorname_np(error) : std::to_string(rc);
}

// Calls the syscall and records a mismatch with the expected errno (0: the
// call must succeed).
void expect_call(std::string& report, const char* what, long rc, int expected_errno) {
  int error = errno;
  bool ok = expected_errno == 0 ? rc >= 0 : (rc == -1 && error == expected_errno);
  if (!ok)
    report += std::string(what) + " returned " + describe(rc, error) + ", expected " +
              (expected_errno == 0 ? "success" : strerrorname_np(expected_errno)) + "; ";
}

TEST(DockerSeccomp, LoadedFilterAnswersAsDockersDoes) {
  auto spec = parse_with(docker_default_seccomp(docker_default_capabilities()));
  ASSERT_TRUE(spec) << spec.error().message();
  auto filter = linux::SeccompFilter::compile(*spec->linux->seccomp);
  ASSERT_TRUE(filter) << filter.error().message();
  ChildOutcome outcome = load_in_child(*filter, [&](const UniqueFd&) {
    std::string report;
    errno = 0;
    expect_call(report, "getppid", ::syscall(SYS_getppid), 0);
    errno = 0;
    expect_call(report, "clone3", ::syscall(SYS_clone3, nullptr, 0), ENOSYS);
    errno = 0;
    expect_call(report, "unshare(CLONE_NEWUSER)", ::unshare(CLONE_NEWUSER), EPERM);
    errno = 0;
    expect_call(report, "mount", ::mount("none", "/berth-no-such-dir", "tmpfs", 0, nullptr), EPERM);
    errno = 0;
    expect_call(report, "keyctl", ::syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM);
    errno = 0;
    expect_call(report, "socket(AF_VSOCK)", ::socket(AF_VSOCK, SOCK_STREAM, 0), EPERM);
    errno = 0;
    long unix_socket = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    expect_call(report, "socket(AF_UNIX)", unix_socket, 0);
    if (unix_socket >= 0) ::close(static_cast<int>(unix_socket));
    errno = 0;
    expect_call(report, "personality(query)", ::personality(0xffffffff), 0);
    errno = 0;
    expect_call(report, "personality(ADDR_NO_RANDOMIZE)", ::personality(ADDR_NO_RANDOMIZE), EPERM);
    return report;
  });
  EXPECT_EQ(outcome.exit_code, 0) << outcome.report;
}

}  // namespace
}  // namespace berth::launcher
