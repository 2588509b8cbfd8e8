// The device cgroup as eBPF: linux.resources.devices parsing and its
// messages, the policy runc's rules reduce to, the generated program (run
// here by a small interpreter against cgroup v1's matching rules), and the
// kernel's view: the program loads, attaches, replaces its predecessor
// without a gap, and denies what it should to a process in the cgroup.
#include "linux/device_filter.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "child_process.h"
#include "core/defer.h"
#include "core/files.h"
#include "linux/cgroup.h"

namespace berth::linux {
namespace {

using berth::unit_test::run_in_child;
using nlohmann::json;

DeviceRule rule(bool allow, char type, int64_t major, int64_t minor, std::string access) {
  return DeviceRule{allow, type, major, minor, std::move(access)};
}

std::vector<std::string> strings_of(const std::vector<DeviceRule>& rules) {
  std::vector<std::string> out;
  for (const DeviceRule& r : rules) out.push_back(to_string(r));
  return out;
}

spec::Device device_at(const std::string& path, int64_t major, int64_t minor) {
  spec::Device device;
  device.path = path;
  device.major = major;
  device.minor = minor;
  return device;
}

// The message for a linux.resources.devices written as JSON text.
std::string parse_error(const std::string& devices) {
  auto rules = parse_device_rules(json::parse(R"({"devices": )" + devices + "}"));
  return rules ? "<parsed>" : rules.error().message();
}

// --- parsing -----------------------------------------------------------------

TEST(DeviceRulesTest, ParsesEveryFieldAndWritesAccessInRwmOrder) {
  auto rules = parse_device_rules(json::parse(R"({"devices": [
      {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "wr"},
      {"allow": false, "type": "b", "major": 8, "access": "mwr"}]})"));
  ASSERT_TRUE(rules) << rules.error().message();
  EXPECT_EQ(*rules,
            (std::vector<DeviceRule>{rule(true, 'c', 1, 3, "rw"), rule(false, 'b', 8, -1, "rwm")}));
}

TEST(DeviceRulesTest, MissingTypeMeansEveryDeviceAndMissingNumbersMeanAny) {
  auto rules = parse_device_rules(json::parse(
      R"({"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "", "access": "r"},
                      {"allow": true, "type": "c", "major": -1, "minor": null, "access": "m"}]})"));
  ASSERT_TRUE(rules) << rules.error().message();
  EXPECT_EQ(*rules,
            (std::vector<DeviceRule>{rule(false, 'a', -1, -1, "rwm"), rule(true, 'a', -1, -1, "r"),
                                     rule(true, 'c', -1, -1, "m")}));
}

TEST(DeviceRulesTest, NoResourcesOrNoDevicesIsAnEmptyList) {
  auto from_null = parse_device_rules(nullptr);
  ASSERT_TRUE(from_null) << from_null.error().message();
  EXPECT_TRUE(from_null->empty());
  auto from_memory_only = parse_device_rules(json{{"memory", {{"limit", 1 << 20}}}});
  ASSERT_TRUE(from_memory_only) << from_memory_only.error().message();
  EXPECT_TRUE(from_memory_only->empty());
}

TEST(DeviceRulesTest, ErrorsNameTheElementAndField) {
  EXPECT_EQ(parse_error(R"([{"allow": true, "access": "r"}, {"allow": true, "access": "r"},
                            {"allow": true, "access": "rwx"}])"),
            "linux.resources.devices[2].access: \"rwx\" has 'x' (expected r, w, m)");
  EXPECT_EQ(parse_error(R"([{"allow": true}])"),
            "linux.resources.devices[0].access: required (some of r, w, m)");
  EXPECT_EQ(parse_error(R"([{"allow": true, "access": ""}])"),
            "linux.resources.devices[0].access: required (some of r, w, m)");
  EXPECT_EQ(parse_error(R"([{"access": "rwm"}])"), "linux.resources.devices[0].allow: required");
  EXPECT_EQ(parse_error(R"([{"allow": "yes", "access": "rwm"}])"),
            "linux.resources.devices[0].allow: expected a boolean, got string");
  EXPECT_EQ(parse_error(R"([{"allow": true, "type": "u", "access": "r"}])"),
            "linux.resources.devices[0].type: unknown device type \"u\" (expected a, b or c)");
  EXPECT_EQ(parse_error(R"([{"allow": true, "major": -2, "access": "r"}])"),
            "linux.resources.devices[0].major: -2 is not a device number (0 to 4294967295, or "
            "-1 or absent for any)");
  EXPECT_EQ(parse_error(R"([{"allow": true, "minor": 4294967296, "access": "r"}])"),
            "linux.resources.devices[0].minor: 4294967296 is not a device number (0 to "
            "4294967295, or -1 or absent for any)");
  EXPECT_EQ(parse_error(R"(["c 1:3 rwm"])"),
            "linux.resources.devices[0]: expected an object, got string");
  EXPECT_EQ(parse_error("{}"), "linux.resources.devices: expected an array, got object");
}

// --- the policy ----------------------------------------------------------------

// runc's default allow-list, as the devices cgroup of a runc 1.1 container
// on this kind of host lists it (sorted by major, minor, type).
const std::vector<std::string> kRuncAllowList = {
    "allow b *:* m",   "allow c *:* m",      "allow c 1:3 rwm",   "allow c 1:5 rwm",
    "allow c 1:7 rwm", "allow c 1:8 rwm",    "allow c 1:9 rwm",   "allow c 5:0 rwm",
    "allow c 5:2 rwm", "allow c 10:200 rwm", "allow c 136:* rwm",
};

TEST(DevicePolicyTest, RuncAppendsItsDefaultsInItsOrder) {
  EXPECT_EQ(strings_of(runc_default_device_rules({})),
            (std::vector<std::string>{"allow c *:* m", "allow b *:* m", "allow c 1:3 rwm",
                                      "allow c 1:8 rwm", "allow c 1:7 rwm", "allow c 5:0 rwm",
                                      "allow c 1:5 rwm", "allow c 1:9 rwm", "allow c 136:* rwm",
                                      "allow c 5:2 rwm", "allow c 10:200 rwm"}));
}

TEST(DevicePolicyTest, ASpecDeviceAtADefaultPathDropsThatDefaultRule) {
  std::vector<DeviceRule> rules =
      runc_default_device_rules({device_at("/dev/zero", 1, 5), device_at("/dev//null/", 1, 3)});
  EXPECT_EQ(rules.size(), 9u);
  for (const DeviceRule& r : rules) {
    EXPECT_NE(to_string(r), "allow c 1:5 rwm");
    EXPECT_NE(to_string(r), "allow c 1:3 rwm");
  }
}

TEST(DevicePolicyTest, RuncSpecDefaultIsTheAllowList) {
  auto policy = effective_device_policy({rule(false, 'a', -1, -1, "rwm")}, {});
  ASSERT_TRUE(policy) << policy.error().message();
  EXPECT_FALSE(policy->default_allow);
  EXPECT_EQ(strings_of(policy->exceptions), kRuncAllowList);
}

TEST(DevicePolicyTest, WithoutRulesTheDefaultIsStillDeny) {
  auto policy = effective_device_policy({}, {});
  ASSERT_TRUE(policy) << policy.error().message();
  EXPECT_FALSE(policy->default_allow);
  EXPECT_EQ(strings_of(policy->exceptions), kRuncAllowList);
}

TEST(DevicePolicyTest, AllowAllResetsEverythingBeforeIt) {
  auto policy =
      effective_device_policy({rule(false, 'a', -1, -1, "rwm"), rule(false, 'c', 1, 3, "rwm"),
                               rule(true, 'a', -1, -1, "r")},
                              {});
  ASSERT_TRUE(policy) << policy.error().message();
  EXPECT_TRUE(policy->allows_everything());
}

TEST(DevicePolicyTest, DenyAllDropsEarlierAllowsAndLaterAllowsMerge) {
  auto policy = effective_device_policy(
      {rule(true, 'b', 7, 0, "rwm"), rule(false, 'a', -1, -1, "rwm"), rule(true, 'b', 8, 0, "r"),
       rule(true, 'b', 8, 0, "w"), rule(false, 'b', 8, 0, "r")},
      {});
  ASSERT_TRUE(policy) << policy.error().message();
  std::vector<std::string> exceptions = strings_of(policy->exceptions);
  EXPECT_EQ(std::count(exceptions.begin(), exceptions.end(), "allow b 8:0 w"), 1);
  for (const std::string& exception : exceptions)
    EXPECT_EQ(exception.find("b 7:0"), std::string::npos);
}

TEST(DevicePolicyTest, ADenyAfterAllowAllBecomesADenyException) {
  auto policy = effective_device_policy(
      {rule(true, 'a', -1, -1, "rwm"), rule(false, 'c', 1, 5, "w"), rule(false, 'b', 7, -1, "m")},
      {device_at("/dev/zero", 1, 5)});
  ASSERT_TRUE(policy) << policy.error().message();
  EXPECT_TRUE(policy->default_allow);
  EXPECT_EQ(strings_of(policy->exceptions),
            (std::vector<std::string>{"deny c 1:5 w", "deny b 7:* m"}));
}

TEST(DevicePolicyTest, ARuncDefaultTakesBackASpecDenyUnlessTheSpecHasTheDevice) {
  std::vector<DeviceRule> spec_rules = {rule(true, 'a', -1, -1, "rwm"),
                                        rule(false, 'c', 1, 5, "rwm")};
  auto without_device = effective_device_policy(spec_rules, {});
  ASSERT_TRUE(without_device) << without_device.error().message();
  EXPECT_TRUE(without_device->allows_everything());
  auto with_device = effective_device_policy(spec_rules, {device_at("/dev/zero", 1, 5)});
  ASSERT_TRUE(with_device) << with_device.error().message();
  EXPECT_EQ(strings_of(with_device->exceptions), (std::vector<std::string>{"deny c 1:5 rwm"}));
}

TEST(DevicePolicyTest, TakingPartOfAWildcardExceptionIsRefusedAsRuncDoes) {
  auto from_spec = effective_device_policy(
      {rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 4, -1, "rw"), rule(false, 'c', 4, 1, "w")},
      {});
  ASSERT_FALSE(from_spec);
  EXPECT_EQ(from_spec.error().message(),
            "linux.resources.devices[2] (deny c 4:1 w): cannot take access away from part of the "
            "wider exception allow c 4:* rw (the device cgroup matches exceptions exactly; runc "
            "refuses this too)");

  auto from_default =
      effective_device_policy({rule(true, 'a', -1, -1, "rwm"), rule(false, 'c', 1, -1, "r")}, {});
  ASSERT_FALSE(from_default);
  EXPECT_EQ(from_default.error().message(),
            "the default rule runc adds (allow c 1:3 rwm): cannot take access away from part of "
            "the wider exception deny c 1:* r (the device cgroup matches exceptions exactly; "
            "runc refuses this too)");
}

TEST(DevicePolicyTest, ReadsTheSpecsResources) {
  spec::Linux linux;
  linux.resources = json::parse(R"({"devices": [{"allow": false, "access": "rwm"},
                                                {"allow": true, "type": "b", "major": 8,
                                                 "minor": 0, "access": "r"}]})");
  auto policy = device_policy(linux);
  ASSERT_TRUE(policy) << policy.error().message();
  std::vector<std::string> exceptions = strings_of(policy->exceptions);
  EXPECT_NE(std::find(exceptions.begin(), exceptions.end(), "allow b 8:0 r"), exceptions.end());

  linux.resources["devices"][1]["access"] = "rx";
  auto broken = device_policy(linux);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().message(),
            "linux.resources.devices[1].access: \"rx\" has 'x' (expected r, w, m)");
}

// --- the program -----------------------------------------------------------------

uint32_t bits_of(const std::string& access) {
  uint32_t bits = 0;
  for (char c : access)
    bits |= c == 'r' ? BPF_DEVCG_ACC_READ : c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
  return bits;
}

// The devices controller's own decision for a policy (security/
// device_cgroup.c): with default deny, an exception must cover every access
// asked for (match_exception); with default allow, an exception denies if
// it covers any of them (match_exception_partial).
bool controller_allows(const DevicePolicy& policy, char type, uint32_t major, uint32_t minor,
                       uint32_t access) {
  for (const DeviceRule& exception : policy.exceptions) {
    if (exception.type != type) continue;
    if (exception.major >= 0 && exception.major != major) continue;
    if (exception.minor >= 0 && exception.minor != minor) continue;
    uint32_t covered = bits_of(exception.access);
    if (policy.default_allow && (access & covered) != 0) return false;
    if (!policy.default_allow && (access & ~covered) == 0) return true;
  }
  return policy.default_allow;
}

// Runs the program as the kernel would for one request: r0 at exit, or -1
// with *problem set for anything the generator must never emit.
int64_t run_program(const std::vector<bpf_insn>& program, const bpf_cgroup_dev_ctx& context,
                    std::string* problem) {
  uint64_t reg[11] = {};
  bool r1_is_context = true;
  size_t pc = 0;
  for (int steps = 0; steps < 100000; ++steps) {
    if (pc >= program.size()) {
      *problem = "ran past the last instruction";
      return -1;
    }
    const bpf_insn& insn = program[pc++];
    uint32_t dst = insn.dst_reg, src = insn.src_reg;
    auto low = [](uint64_t value) { return static_cast<uint32_t>(value); };
    auto jump_if = [&](bool taken) {
      if (taken) pc += insn.off;
    };
    switch (insn.code) {
      case BPF_LDX | BPF_W | BPF_MEM: {
        if (src != BPF_REG_1 || !r1_is_context || insn.off < 0 ||
            insn.off + sizeof(uint32_t) > sizeof context) {
          *problem = "load outside the context at instruction " + std::to_string(pc - 1);
          return -1;
        }
        uint32_t value;
        std::memcpy(&value, reinterpret_cast<const char*>(&context) + insn.off, sizeof value);
        reg[dst] = value;
        break;
      }
      case BPF_ALU | BPF_AND | BPF_K:
        reg[dst] = low(reg[dst]) & static_cast<uint32_t>(insn.imm);
        break;
      case BPF_ALU | BPF_XOR | BPF_K:
        reg[dst] = low(reg[dst]) ^ static_cast<uint32_t>(insn.imm);
        break;
      case BPF_ALU | BPF_OR | BPF_X:
        reg[dst] = low(reg[dst]) | low(reg[src]);
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        reg[dst] = low(reg[dst]) >> insn.imm;
        break;
      case BPF_ALU | BPF_MOV | BPF_K:
        reg[dst] = static_cast<uint32_t>(insn.imm);
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        reg[dst] = low(reg[src]);
        break;
      case BPF_JMP32 | BPF_JNE | BPF_K:
        jump_if(low(reg[dst]) != static_cast<uint32_t>(insn.imm));
        break;
      case BPF_JMP32 | BPF_JEQ | BPF_K:
        jump_if(low(reg[dst]) == static_cast<uint32_t>(insn.imm));
        break;
      case BPF_JMP | BPF_EXIT:
        return static_cast<int64_t>(reg[0]);
      default:
        *problem = "unexpected opcode " + std::to_string(insn.code) + " at instruction " +
                   std::to_string(pc - 1);
        return -1;
    }
    if (dst == BPF_REG_1 && BPF_CLASS(insn.code) != BPF_JMP32) r1_is_context = false;
  }
  *problem = "did not exit";
  return -1;
}

// Every type, a spread of numbers, and every access combination.
void expect_program_matches_controller(const DevicePolicy& policy) {
  std::vector<bpf_insn> program = device_filter_program(policy);
  const uint32_t numbers[] = {0, 1, 2, 3, 5, 7, 8, 9, 10, 136, 200, 4095, 0x80000000u, 0xffffffffu};
  for (char type : {'b', 'c'}) {
    for (uint32_t major : numbers) {
      for (uint32_t minor : numbers) {
        for (uint32_t access = 0; access <= 7; ++access) {
          bpf_cgroup_dev_ctx context{};
          context.access_type =
              (access << 16) | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
          context.major = major;
          context.minor = minor;
          std::string problem;
          int64_t answer = run_program(program, context, &problem);
          ASSERT_TRUE(problem.empty()) << problem;
          ASSERT_EQ(answer, controller_allows(policy, type, major, minor, access) ? 1 : 0)
              << type << " " << major << ":" << minor << " access " << access;
        }
      }
    }
  }
}

DevicePolicy policy_of(std::vector<DeviceRule> spec_rules, std::vector<spec::Device> devices = {}) {
  auto policy = effective_device_policy(spec_rules, devices);
  EXPECT_TRUE(policy) << policy.error().message();
  return policy ? *policy : DevicePolicy{};
}

TEST(DeviceFilterProgramTest, AnswersAsTheDevicesControllerForTheRuncDefaults) {
  expect_program_matches_controller(policy_of({rule(false, 'a', -1, -1, "rwm")}));
}

TEST(DeviceFilterProgramTest, AnswersAsTheDevicesControllerForPartialAccess) {
  expect_program_matches_controller(
      policy_of({rule(false, 'a', -1, -1, "rwm"), rule(true, 'b', 8, -1, "r"),
                 rule(true, 'c', 4, 1, "w"), rule(true, 'c', 0xffffffffLL, 0x80000000LL, "rw")},
                {device_at("/dev/zero", 1, 5), device_at("/dev/null", 1, 3)}));
}

TEST(DeviceFilterProgramTest, AnswersAsTheDevicesControllerForDenyExceptions) {
  expect_program_matches_controller(policy_of(
      {rule(true, 'a', -1, -1, "rwm"), rule(false, 'c', 1, 5, "w"), rule(false, 'b', -1, -1, "rw"),
       rule(false, 'c', 136, -1, "rwm"), rule(false, 'c', -1, 9, "m")},
      {device_at("/dev/zero", 1, 5), device_at("/dev/urandom", 1, 9)}));
}

TEST(DeviceFilterProgramTest, IsAPrologueOneBlockPerExceptionAndADefault) {
  DevicePolicy allow_all = policy_of({rule(true, 'a', -1, -1, "rwm")});
  std::vector<bpf_insn> minimal = device_filter_program(allow_all);
  ASSERT_EQ(minimal.size(), 8u);  // 6 loads and shifts, "r0 = 1; exit"
  EXPECT_EQ(minimal[6].code, BPF_ALU | BPF_MOV | BPF_K);
  EXPECT_EQ(minimal[6].imm, 1);
  EXPECT_EQ(minimal.back().code, BPF_JMP | BPF_EXIT);

  DevicePolicy defaults = policy_of({});
  std::vector<bpf_insn> program = device_filter_program(defaults);
  // Each block: 2 to 11 instructions folding the tests into r1, its jump,
  // 3 more for a deny exception's access, and its own "r0 = answer; exit".
  EXPECT_GE(program.size(), 8 + 5 * defaults.exceptions.size());
  EXPECT_LE(program.size(), 8 + 14 * defaults.exceptions.size());
  EXPECT_EQ(program.back().code, BPF_JMP | BPF_EXIT);
  EXPECT_EQ(program[program.size() - 2].imm, 0);  // deny when nothing matched
  size_t exits = 0;
  for (const bpf_insn& insn : program) exits += insn.code == (BPF_JMP | BPF_EXIT);
  EXPECT_EQ(exits, defaults.exceptions.size() + 1);
}

// --- the kernel --------------------------------------------------------------------

TEST(DeviceFilterKernelTest, TheVerifierAcceptsGeneratedPrograms) {
  for (const DevicePolicy& policy :
       {policy_of({}), policy_of({rule(true, 'a', -1, -1, "rwm")}),
        policy_of({rule(true, 'a', -1, -1, "rwm"), rule(false, 'c', 1, 5, "w")},
                  {device_at("/dev/zero", 1, 5)})}) {
    auto loaded = load_device_filter(device_filter_program(policy));
    if (!loaded && loaded.error().errno_value() == EPERM)
      GTEST_SKIP() << "bpf(BPF_PROG_LOAD) is not permitted here: " << loaded.error().message();
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_TRUE(loaded->valid());
  }
}

TEST(DeviceFilterKernelTest, ARejectedProgramReportsTheVerifierLog) {
  std::vector<bpf_insn> program = device_filter_program(policy_of({}));
  program.pop_back();  // no exit: the verifier refuses to fall off the end
  auto loaded = load_device_filter(program);
  if (!loaded && loaded.error().errno_value() == EPERM)
    GTEST_SKIP() << "bpf(BPF_PROG_LOAD) is not permitted here: " << loaded.error().message();
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().errno_value(), EINVAL);
  EXPECT_NE(loaded.error().message().find("load the device filter (BPF_PROG_LOAD, "),
            std::string::npos)
      << loaded.error().message();
  // The log's words are the kernel's ("last insn is not an exit or jmp").
  const std::string& message = loaded.error().message();
  size_t log = message.find(": Invalid argument; verifier log:\n");
  ASSERT_NE(log, std::string::npos) << message;
  EXPECT_GT(message.size(), log + 40) << "empty verifier log: " << message;
}

TEST(DeviceFilterKernelTest, WithoutACgroupOnlyAnAllowEverythingPolicyPasses) {
  EXPECT_TRUE(install_device_filter(policy_of({rule(true, 'a', -1, -1, "rwm")}), -1, ""));
  Status refused = install_device_filter(policy_of({}), -1, "");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find(
                "linux.resources.devices: the rules deny devices (denied by default, 11 "
                "exceptions), but this host has no cgroup2 hierarchy"),
            std::string::npos)
      << refused.error().message();
}

// A cgroup of its own under the cgroup2 mount, removed at the end.
class DeviceFilterCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "making a cgroup needs root";
    auto mount = find_cgroup2_mount();
    ASSERT_TRUE(mount) << mount.error().message();
    if (mount->empty()) GTEST_SKIP() << "this host has no cgroup2 hierarchy";
    path_ = fmt::format("{}/berth-unit-devices-{}", *mount, ::getpid());
    std::vector<std::string> created;
    auto fd = create_cgroup(path_, created);
    ASSERT_TRUE(fd) << fd.error().message();
    cgroup_ = std::move(*fd);
  }
  void TearDown() override {
    cgroup_.reset();
    if (path_.empty()) return;
    Status removed = remove_cgroup(path_);
    EXPECT_TRUE(removed) << removed.error().message();
  }

  // What a process in the cgroup gets from open(path, flags): "ok" or
  // strerror.
  std::string open_in_cgroup(const std::string& path, int flags) {
    std::string procs = path_ + "/cgroup.procs";
    auto outcome = run_in_child([&]() -> std::string {
      if (auto moved = write_file(procs, std::to_string(::getpid())); !moved)
        return moved.error().message();
      UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
      return fd ? "ok" : std::strerror(errno);
    });
    return outcome.report;
  }

  std::string path_;
  UniqueFd cgroup_;
};

TEST_F(DeviceFilterCgroupTest, AProcessInTheCgroupIsDeniedWhatThePolicyDenies) {
  DevicePolicy policy =
      policy_of({rule(false, 'a', -1, -1, "rwm")}, {device_at("/dev/zero", 1, 5)});
  Status installed = install_device_filter(policy, cgroup_.get(), path_);
  if (!installed && installed.error().errno_value() == EPERM)
    GTEST_SKIP() << installed.error().message();
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(open_in_cgroup("/dev/null", O_RDWR), "ok");
  EXPECT_EQ(open_in_cgroup("/dev/zero", O_RDONLY), "Operation not permitted");
  // Only the cgroup's processes: this one, outside it, still opens it.
  UniqueFd zero(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(zero.valid()) << std::strerror(errno);
}

TEST_F(DeviceFilterCgroupTest, InstallingAgainReplacesTheProgram) {
  DevicePolicy deny_zero =
      policy_of({rule(false, 'a', -1, -1, "rwm")}, {device_at("/dev/zero", 1, 5)});
  Status first = install_device_filter(deny_zero, cgroup_.get(), path_);
  if (!first && first.error().errno_value() == EPERM) GTEST_SKIP() << first.error().message();
  ASSERT_TRUE(first) << first.error().message();
  auto before = attached_device_filters(cgroup_.get(), path_);
  ASSERT_TRUE(before) << before.error().message();
  ASSERT_EQ(before->size(), 1u);

  DevicePolicy allow_zero_read =
      policy_of({rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 1, 5, "r")},
                {device_at("/dev/zero", 1, 5)});
  Status second = install_device_filter(allow_zero_read, cgroup_.get(), path_);
  ASSERT_TRUE(second) << second.error().message();
  auto after = attached_device_filters(cgroup_.get(), path_);
  ASSERT_TRUE(after) << after.error().message();
  ASSERT_EQ(after->size(), 1u) << "the old program is still attached";
  EXPECT_NE(after->front(), before->front());
  EXPECT_EQ(open_in_cgroup("/dev/zero", O_RDONLY), "ok");
  EXPECT_EQ(open_in_cgroup("/dev/zero", O_RDWR), "Operation not permitted");
}

}  // namespace
}  // namespace berth::linux
