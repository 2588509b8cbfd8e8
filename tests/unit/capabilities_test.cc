// Process credentials and limits of the container init: capability names,
// the capability sets as the kernel reports them in /proc/self/status after
// the runtime's sequence (bounding, keep caps, uid switch, sets, ambient),
// and rlimits / oom_score_adj. Everything that changes the process runs in a
// forked child, which reports what it saw through a pipe and its exit code.
#include "linux/capabilities.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.h"
#include "core/files.h"
#include "linux/rlimits.h"

namespace berth::linux {
namespace {

using berth::unit_test::ChildOutcome;
using berth::unit_test::run_in_child;

// The Cap* lines of /proc/self/status: "CapEff" -> "0000000000000400".
std::map<std::string, std::string> capability_lines() {
  std::map<std::string, std::string> lines;
  auto status = read_file("/proc/self/status");
  if (!status) return lines;
  std::istringstream in(*status);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("Cap")) continue;
    size_t colon = line.find(':');
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    lines[line.substr(0, colon)] = value;
  }
  return lines;
}

std::string describe(const std::map<std::string, std::string>& lines) {
  std::string text;
  for (const auto& [key, value] : lines) text += key + ":" + value + " ";
  return text;
}

TEST(CapabilityNames, SpecNamesResolveToTheKernelsNumbers) {
  auto chown = capability_from_name("CAP_CHOWN");
  ASSERT_TRUE(chown) << chown.error().message();
  EXPECT_EQ(*chown, CAP_CHOWN);
  auto sys_admin = capability_from_name("CAP_SYS_ADMIN");
  ASSERT_TRUE(sys_admin) << sys_admin.error().message();
  EXPECT_EQ(*sys_admin, CAP_SYS_ADMIN);
}

TEST(CapabilityNames, UnknownAndNonSpecSpellingsAreRejectedByName) {
  for (const std::string name : {"CAP_BOGUS", "cap_chown", "0", "CHOWN"}) {
    auto value = capability_from_name(name);
    ASSERT_FALSE(value) << name << " resolved to " << *value;
    EXPECT_EQ(value.error().message(), "unknown capability \"" + name + "\"");
  }
}

TEST(CapabilityNames, KnownNamesRoundTripAndCoverTheKernelsSet) {
  std::vector<std::string> names = known_capability_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "CAP_CHOWN"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "CAP_SYS_ADMIN"), names.end());
  EXPECT_LE(names.size(), static_cast<size_t>(cap_max_bits()));
  for (const std::string& name : names) {
    auto value = capability_from_name(name);
    EXPECT_TRUE(value) << name << ": " << value.error().message();
  }
}

TEST(CapabilitySets, NonRootUserGetsExactlyTheSpecsSets) {
  ChildOutcome outcome = run_in_child([]() -> std::string {
    spec::Capabilities caps;
    caps.bounding = {"CAP_CHOWN", "CAP_NET_BIND_SERVICE"};
    caps.effective = {"CAP_NET_BIND_SERVICE"};
    caps.permitted = {"CAP_NET_BIND_SERVICE"};
    caps.inheritable = {"CAP_NET_BIND_SERVICE"};
    caps.ambient = {"CAP_NET_BIND_SERVICE"};
    if (auto s = drop_bounding_capabilities(caps); !s) return s.error().message();
    if (auto s = keep_capabilities_across_setuid(); !s) return s.error().message();
    if (::setresuid(1000, 1000, 1000) < 0) return std::string("setresuid: ") + strerror(errno);
    if (auto s = apply_capability_sets(caps); !s) return s.error().message();

    std::string report;
    const std::map<std::string, std::string> expected = {
        {"CapInh", "0000000000000400"}, {"CapPrm", "0000000000000400"},
        {"CapEff", "0000000000000400"}, {"CapBnd", "0000000000000401"},
        {"CapAmb", "0000000000000400"},
    };
    std::map<std::string, std::string> seen = capability_lines();
    if (seen != expected) report += "/proc/self/status has " + describe(seen) + "; ";
    int keepcaps = ::prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0);
    if (keepcaps != 0) report += fmt::format("PR_GET_KEEPCAPS is {} after apply", keepcaps);
    return report;
  });
  EXPECT_EQ(outcome.exit_code, 0) << outcome.report;
}

TEST(CapabilitySets, UnknownBoundingNameFailsBeforeDroppingAnything) {
  ChildOutcome outcome = run_in_child([]() -> std::string {
    std::string before = capability_lines()["CapBnd"];
    spec::Capabilities caps;
    caps.bounding = {"CAP_CHOWN", "CAP_BOGUS"};
    auto status = drop_bounding_capabilities(caps);
    std::string report;
    if (status)
      report += "drop_bounding_capabilities succeeded; ";
    else if (status.error().message() != "bounding capabilities: unknown capability \"CAP_BOGUS\"")
      report += "error was \"" + status.error().message() + "\"; ";
    std::string after = capability_lines()["CapBnd"];
    if (after != before) report += "CapBnd changed from " + before + " to " + after;
    return report;
  });
  EXPECT_EQ(outcome.exit_code, 0) << outcome.report;
}

TEST(CapabilitySets, AmbientCapabilitiesOfTheCallerDoNotLeakIntoTheContainer) {
  ChildOutcome outcome = run_in_child([]() -> std::string {
    // The caller (the runtime) runs with CAP_KILL ambient, which stays legal
    // under the spec's sets below: only clearing the ambient set removes it.
    cap_t state = cap_get_proc();
    const cap_value_t kill = CAP_KILL;
    if (!state || cap_set_flag(state, CAP_INHERITABLE, 1, &kill, CAP_SET) != 0 ||
        cap_set_proc(state) != 0 || cap_set_ambient(CAP_KILL, CAP_SET) != 0)
      return std::string("making CAP_KILL ambient: ") + strerror(errno);
    cap_free(state);

    spec::Capabilities caps;
    caps.effective = caps.permitted = caps.inheritable = {"CAP_KILL"};
    if (auto s = apply_capability_sets(caps); !s) return s.error().message();
    std::string ambient = capability_lines()["CapAmb"];
    if (ambient != "0000000000000000") return "CapAmb is " + ambient + ", expected empty";
    return "";
  });
  EXPECT_EQ(outcome.exit_code, 0) << outcome.report;
}

TEST(CapabilitySets, AmbientCapabilityOutsideInheritableIsSkippedAsRuncDoes) {
  ChildOutcome outcome = run_in_child([]() -> std::string {
    spec::Capabilities caps;
    caps.effective = {"CAP_KILL"};
    caps.permitted = {"CAP_KILL"};
    caps.ambient = {"CAP_KILL"};  // not inheritable: the kernel refuses to raise it
    if (auto status = apply_capability_sets(caps); !status)
      return "apply_capability_sets failed: " + status.error().message();
    std::map<std::string, std::string> seen = capability_lines();
    if (seen["CapEff"] != "0000000000000020" || seen["CapAmb"] != "0000000000000000")
      return "/proc/self/status has " + describe(seen);
    return "";
  });
  EXPECT_EQ(outcome.exit_code, 0) << outcome.report;
}

TEST(Rlimits, LimitsAreSetInTheCallingProcess) {
  ChildOutcome outcome = run_in_child([]() -> std::string {
    auto status = apply_rlimits(
        {{.resource = RLIMIT_NOFILE, .type = "RLIMIT_NOFILE", .hard = 200, .soft = 100}});
    if (!status) return status.error().message();
    rlimit seen{};
    if (::getrlimit(RLIMIT_NOFILE, &seen) < 0) return std::string("getrlimit: ") + strerror(errno);
    if (seen.rlim_cur != 100 || seen.rlim_max != 200)
      return fmt::format("RLIMIT_NOFILE is {}/{}, expected 100/200", seen.rlim_cur, seen.rlim_max);
    return "";
  });
  EXPECT_EQ(outcome.exit_code, 0) << outcome.report;
}

TEST(Rlimits, RefusedLimitIsNamedWithItsValues) {
  ChildOutcome outcome = run_in_child([]() -> std::string {
    // soft above hard: the kernel refuses with EINVAL.
    auto status = apply_rlimits(
        {{.resource = RLIMIT_NOFILE, .type = "RLIMIT_NOFILE", .hard = 200, .soft = 300},
         {.resource = RLIMIT_CORE,
          .type = "RLIMIT_CORE",
          .hard = RLIM_INFINITY,
          .soft = RLIM_INFINITY}});
    if (status) return "apply_rlimits succeeded";
    const std::string expected = "set RLIMIT_NOFILE to 300/200: Invalid argument";
    if (status.error().message() != expected)
      return "error was \"" + status.error().message() + "\"";
    return "";
  });
  EXPECT_EQ(outcome.exit_code, 0) << outcome.report;
}

TEST(Rlimits, OomScoreAdjIsWrittenForTheCallingProcess) {
  ChildOutcome outcome = run_in_child([]() -> std::string {
    // Raising the score needs no privilege, so this holds for any caller.
    if (auto status = apply_oom_score_adj(500); !status) return status.error().message();
    auto seen = read_file("/proc/self/oom_score_adj");
    if (!seen) return seen.error().message();
    if (*seen != "500\n") return "oom_score_adj is " + *seen;
    return "";
  });
  EXPECT_EQ(outcome.exit_code, 0) << outcome.report;
}

}  // namespace
}  // namespace berth::linux
