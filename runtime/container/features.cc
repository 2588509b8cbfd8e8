#include "container/features.h"

#include <fmt/format.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "linux/capabilities.h"
#include "spec/spec.h"

namespace berth::container {
namespace {

struct FilterFlag {
  const char* name;
  unsigned long kernel_flag;
  // What libseccomp needs to set the flag: the API level that brings the
  // filter attribute (seccomp_api_get(3)), or 0 when this libseccomp has no
  // attribute for it at all.
  unsigned int libseccomp_api_level;
};

// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV has an attribute only from
// libseccomp 2.6 (SCMP_FLTATR_CTL_WAITKILL); Debian 12 ships 2.5.4.
constexpr FilterFlag kFilterFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC, 2},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG, 3},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW, 4},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
     SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6) ? 7u : 0u},
};

// The kernel checks the flags before it reads the filter, so a NULL filter
// fails with EFAULT for a flag it knows and EINVAL for one it does not;
// nothing is installed either way (runc probes the same way).
bool kernel_accepts_filter_flag(unsigned long flag) {
  long result = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, nullptr);
  return result < 0 && errno == EFAULT;
}

std::vector<std::string> namespace_names() {
  using spec::NamespaceType;
  std::vector<std::string> names;
  for (NamespaceType type :
       {NamespaceType::Cgroup, NamespaceType::Ipc, NamespaceType::Mount, NamespaceType::Network,
        NamespaceType::Pid, NamespaceType::Time, NamespaceType::User, NamespaceType::Uts})
    names.push_back(spec::to_string(type));
  return names;
}

// Every architecture name of the runtime spec that libseccomp 2.5.4 can
// build a filter for (the spec parser resolves each through libseccomp).
std::vector<std::string> seccomp_architectures() {
  return {
      "SCMP_ARCH_AARCH64",   "SCMP_ARCH_ARM",      "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",
      "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",   "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
      "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64", "SCMP_ARCH_PPC",      "SCMP_ARCH_PPC64",
      "SCMP_ARCH_PPC64LE",   "SCMP_ARCH_RISCV64",  "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",
      "SCMP_ARCH_X32",       "SCMP_ARCH_X86",      "SCMP_ARCH_X86_64"};
}

nlohmann::ordered_json seccomp_features() {
  using spec::SeccompAction;
  std::vector<std::string> actions;
  for (SeccompAction action :
       {SeccompAction::Allow, SeccompAction::Errno, SeccompAction::Kill, SeccompAction::KillProcess,
        SeccompAction::KillThread, SeccompAction::Log, SeccompAction::Notify, SeccompAction::Trace,
        SeccompAction::Trap})
    actions.push_back(spec::to_string(action));
  nlohmann::ordered_json seccomp;
  seccomp["enabled"] = true;
  seccomp["actions"] = actions;
  seccomp["operators"] = {"SCMP_CMP_EQ", "SCMP_CMP_GE",        "SCMP_CMP_GT", "SCMP_CMP_LE",
                          "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"};
  seccomp["archs"] = seccomp_architectures();
  seccomp["knownFlags"] = known_seccomp_flags();
  seccomp["supportedFlags"] = supported_seccomp_flags();
  return seccomp;
}

nlohmann::ordered_json linux_features() {
  nlohmann::ordered_json features;
  features["namespaces"] = namespace_names();
  features["capabilities"] = linux::known_capability_names();
  // berth manages cgroup v2 directly: no v1 hierarchy, no systemd driver;
  // linux.resources.rdma becomes rdma.max.
  features["cgroup"] = {
      {"v1", false}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", true}};
  features["seccomp"] = seccomp_features();
  features["apparmor"] = {{"enabled", false}};
  features["selinux"] = {{"enabled", false}};
  features["intelRdt"] = {{"enabled", false}};
  return features;
}

}  // namespace

const std::vector<std::string>& known_mount_options() {
  static const std::vector<std::string> options = {"async",
                                                   "atime",
                                                   "bind",
                                                   "defaults",
                                                   "dev",
                                                   "diratime",
                                                   "dirsync",
                                                   "exec",
                                                   "iversion",
                                                   "lazytime",
                                                   "loud",
                                                   "mand",
                                                   "noatime",
                                                   "nodev",
                                                   "nodiratime",
                                                   "noexec",
                                                   "noiversion",
                                                   "nolazytime",
                                                   "nomand",
                                                   "norelatime",
                                                   "nostrictatime",
                                                   "nosuid",
                                                   "nosymfollow",
                                                   "private",
                                                   "ratime",
                                                   "rbind",
                                                   "rdev",
                                                   "rdiratime",
                                                   "relatime",
                                                   "remount",
                                                   "rexec",
                                                   "rnoatime",
                                                   "rnodev",
                                                   "rnodiratime",
                                                   "rnoexec",
                                                   "rnorelatime",
                                                   "rnostrictatime",
                                                   "rnosuid",
                                                   "rnosymfollow",
                                                   "ro",
                                                   "rprivate",
                                                   "rrelatime",
                                                   "rro",
                                                   "rrw",
                                                   "rshared",
                                                   "rslave",
                                                   "rstrictatime",
                                                   "rsuid",
                                                   "rsymfollow",
                                                   "runbindable",
                                                   "rw",
                                                   "shared",
                                                   "silent",
                                                   "slave",
                                                   "strictatime",
                                                   "suid",
                                                   "symfollow",
                                                   "sync",
                                                   "unbindable"};
  return options;
}

const std::vector<std::string>& known_seccomp_flags() {
  static const std::vector<std::string> flags = [] {
    std::vector<std::string> names;
    for (const FilterFlag& flag : kFilterFlags) names.push_back(flag.name);
    return names;
  }();
  return flags;
}

std::vector<std::string> supported_seccomp_flags() {
  unsigned int api_level = seccomp_api_get();
  std::vector<std::string> names;
  for (const FilterFlag& flag : kFilterFlags) {
    if (flag.libseccomp_api_level == 0 || api_level < flag.libseccomp_api_level) continue;
    if (kernel_accepts_filter_flag(flag.kernel_flag)) names.push_back(flag.name);
  }
  return names;
}

nlohmann::ordered_json features_document() {
  nlohmann::ordered_json document;
  document["ociVersionMin"] = kOciVersionMin;
  document["ociVersionMax"] = kOciVersionMax;
  document["hooks"] = {"prestart",       "createRuntime", "createContainer",
                       "startContainer", "poststart",     "poststop"};
  document["mountOptions"] = known_mount_options();
  document["linux"] = linux_features();
  const scmp_version* libseccomp = seccomp_version();
  document["annotations"] = {
      {"io.berth.version", kRuntimeVersion},
      {"io.github.seccomp.libseccomp.version",
       fmt::format("{}.{}.{}", libseccomp->major, libseccomp->minor, libseccomp->micro)}};
  return document;
}

}  // namespace berth::container
