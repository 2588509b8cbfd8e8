// The config.json model: what parses, to which typed values, and the exact
// message (JSON path first) for each kind of broken document.
#include "spec/spec.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/files.h"
#include "support/temp_dir.h"

namespace berth::spec {
namespace {

using nlohmann::json;

// Every section the model knows, with values that differ from defaults.
constexpr const char* kFullDocument = R"({
  "ociVersion": "1.2.0",
  "process": {
    "terminal": true,
    "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 27]},
    "args": ["/usr/bin/python3", "-m", "http.server"],
    "env": ["PATH=/usr/bin:/bin", "EMPTY="],
    "cwd": "/srv",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"],
      "effective": ["CAP_KILL"],
      "inheritable": [],
      "permitted": ["CAP_KILL", "CAP_SETUID"],
      "ambient": ["CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [
      {"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1024},
      {"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0}
    ],
    "noNewPrivileges": true,
    "apparmorProfile": "berth-default",
    "selinuxLabel": "system_u:system_r:container_t:s0",
    "oomScoreAdj": -500
  },
  "root": {"path": "/var/lib/berth/rootfs", "readonly": true},
  "hostname": "notebook",
  "domainname": "example.org",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/workdir", "type": "none", "source": "/home/ann/notebooks",
     "options": ["rbind", "rw"]}
  ],
  "hooks": {
    "prestart": [{"path": "/usr/bin/netns-setup", "args": ["netns-setup", "-v"],
                  "env": ["A=1"], "timeout": 5}],
    "createRuntime": [{"path": "/bin/true"}],
    "createContainer": [{"path": "/bin/true"}],
    "startContainer": [{"path": "/bin/true"}],
    "poststart": [{"path": "/bin/true"}],
    "poststop": [{"path": "/usr/bin/cleanup"}, {"path": "/bin/true"}]
  },
  "annotations": {"io.kubernetes.cri.container-type": "container"},
  "linux": {
    "namespaces": [
      {"type": "pid"}, {"type": "network", "path": "/run/netns/n1"}, {"type": "ipc"},
      {"type": "uts"}, {"type": "mount"}, {"type": "user"}, {"type": "cgroup"}, {"type": "time"}
    ],
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
    "timeOffsets": {"monotonic": {"secs": -86400, "nanosecs": 5}, "boottime": {"secs": 3600}},
    "devices": [
      {"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438,
       "uid": 0, "gid": 0},
      {"type": "p", "path": "/dev/myfifo"}
    ],
    "cgroupsPath": "/berth/c1",
    "resources": {"memory": {"limit": 536870912}, "pids": {"limit": 100}},
    "rootfsPropagation": "rslave",
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrnoRet": 1,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
      "listenerPath": "/run/seccomp-agent.sock",
      "listenerMetadata": "meta",
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                  {"index": 5, "value": 255, "valueTwo": 4, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"},
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
      ]
    },
    "sysctl": {"net.ipv4.ip_forward": "1"},
    "maskedPaths": ["/proc/kcore"],
    "readonlyPaths": ["/proc/sys"],
    "mountLabel": "system_u:object_r:container_file_t:s0"
  }
})";

std::string error_of(const Result<Spec>& result) {
  return result.has_value() ? "(parsed without error)" : result.error().message();
}

TEST(SpecDefault, RootfulDefaultParsesWithRuncsNamespacesAndLimits) {
  auto spec = parse_spec_json(default_spec_json(false));
  ASSERT_TRUE(spec.has_value()) << spec.error().message();
  EXPECT_EQ(spec->oci_version, "1.0.2-dev");
  ASSERT_TRUE(spec->process.has_value());
  EXPECT_EQ(spec->process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(spec->process->rlimits.at(0).resource, RLIMIT_NOFILE);
  EXPECT_EQ(spec->root.path, "rootfs");
  ASSERT_TRUE(spec->linux.has_value());
  EXPECT_NE(spec->linux->find_namespace(NamespaceType::Network), nullptr);
  EXPECT_EQ(spec->linux->find_namespace(NamespaceType::User), nullptr);
  EXPECT_TRUE(spec->linux->resources.is_object());
  EXPECT_EQ(spec->mounts.size(), 7u);
}

TEST(SpecDefault, RootlessDefaultMapsTheCallersIdsInAUserNamespace) {
  auto spec = parse_spec_json(default_spec_json(true));
  ASSERT_TRUE(spec.has_value()) << spec.error().message();
  const Linux& linux = *spec->linux;
  EXPECT_NE(linux.find_namespace(NamespaceType::User), nullptr);
  EXPECT_EQ(linux.find_namespace(NamespaceType::Network), nullptr);
  ASSERT_EQ(linux.uid_mappings.size(), 1u);
  EXPECT_EQ(linux.uid_mappings[0].host_id, geteuid());
  EXPECT_EQ(linux.gid_mappings.at(0).host_id, getegid());
  EXPECT_TRUE(linux.resources.is_null());
  EXPECT_EQ(spec->mounts.at(5).type, "none");
}

// The reference is runc itself, when installed: the documents must be equal
// value for value (key order aside), but for the hostname, which is ours.
void expect_same_as_runc_spec(bool rootless) {
  if (system("command -v runc >/dev/null 2>&1") != 0) GTEST_SKIP() << "runc is not installed";
  test::TempDir dir("berth-spec-test");
  std::string command = "cd " + dir.path() + " && runc spec" + (rootless ? " --rootless" : "");
  ASSERT_EQ(system(command.c_str()), 0) << command;
  auto text = read_file(dir / "config.json");
  ASSERT_TRUE(text.has_value()) << text.error().message();
  json runc = json::parse(*text);
  EXPECT_EQ(runc["hostname"], "runc");
  runc["hostname"] = "berth";
  json ours = default_spec_json(rootless);
  EXPECT_EQ(ours, runc) << "ours:\n" << ours.dump(2) << "\nrunc:\n" << runc.dump(2);
}

TEST(SpecDefault, EqualsRuncSpec) { expect_same_as_runc_spec(false); }
TEST(SpecDefault, RootlessEqualsRuncSpecRootless) { expect_same_as_runc_spec(true); }

TEST(SpecParse, FullDocumentGivesTypedValues) {
  auto parsed = parse_spec(kFullDocument);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  const Spec& spec = *parsed;
  EXPECT_EQ(spec.oci_version, "1.2.0");

  const Process& process = *spec.process;
  EXPECT_TRUE(process.terminal);
  EXPECT_EQ(process.console_size->height, 24u);
  EXPECT_EQ(process.console_size->width, 80u);
  EXPECT_EQ(process.user.uid, 1000u);
  EXPECT_EQ(process.user.gid, 1001u);
  EXPECT_EQ(process.user.umask, 18u);
  EXPECT_EQ(process.user.additional_gids, (std::vector<uint32_t>{5, 27}));
  EXPECT_EQ(process.args.at(2), "http.server");
  EXPECT_EQ(process.env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "EMPTY="}));
  EXPECT_EQ(process.cwd, "/srv");
  EXPECT_EQ(process.capabilities->bounding.at(1), "CAP_CHECKPOINT_RESTORE");
  EXPECT_TRUE(process.capabilities->inheritable.empty());
  EXPECT_EQ(process.capabilities->permitted.size(), 2u);
  EXPECT_EQ(process.capabilities->ambient.at(0), "CAP_NET_BIND_SERVICE");
  ASSERT_EQ(process.rlimits.size(), 2u);
  EXPECT_EQ(process.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(process.rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(process.rlimits[0].hard, 4096u);
  EXPECT_EQ(process.rlimits[0].soft, 1024u);
  EXPECT_EQ(process.rlimits[1].resource, RLIMIT_CORE);
  EXPECT_EQ(process.rlimits[1].hard, UINT64_MAX);
  EXPECT_TRUE(process.no_new_privileges);
  EXPECT_EQ(process.apparmor_profile, "berth-default");
  EXPECT_EQ(process.selinux_label, "system_u:system_r:container_t:s0");
  EXPECT_EQ(process.oom_score_adj, -500);

  EXPECT_EQ(spec.root.path, "/var/lib/berth/rootfs");
  EXPECT_TRUE(spec.root.readonly);
  EXPECT_EQ(spec.hostname, "notebook");
  EXPECT_EQ(spec.domainname, "example.org");
  ASSERT_EQ(spec.mounts.size(), 2u);
  EXPECT_EQ(spec.mounts[1].destination, "/workdir");
  EXPECT_EQ(spec.mounts[1].type, "none");
  EXPECT_EQ(spec.mounts[1].source, "/home/ann/notebooks");
  EXPECT_EQ(spec.mounts[1].options, (std::vector<std::string>{"rbind", "rw"}));
  EXPECT_TRUE(spec.mounts[0].options.empty());

  EXPECT_EQ(spec.hooks.prestart.at(0).path, "/usr/bin/netns-setup");
  EXPECT_EQ(spec.hooks.prestart[0].args.at(1), "-v");
  EXPECT_EQ(spec.hooks.prestart[0].env.at(0), "A=1");
  EXPECT_EQ(spec.hooks.prestart[0].timeout, 5);
  EXPECT_EQ(spec.hooks.create_runtime.size(), 1u);
  EXPECT_EQ(spec.hooks.create_container.size(), 1u);
  EXPECT_EQ(spec.hooks.start_container.size(), 1u);
  EXPECT_EQ(spec.hooks.poststart.size(), 1u);
  EXPECT_EQ(spec.hooks.poststop.at(0).path, "/usr/bin/cleanup");
  EXPECT_FALSE(spec.hooks.poststop[1].timeout.has_value());
  EXPECT_EQ(spec.annotations.at("io.kubernetes.cri.container-type"), "container");

  const Linux& linux = *spec.linux;
  ASSERT_EQ(linux.namespaces.size(), 8u);
  EXPECT_EQ(linux.namespaces[1].type, NamespaceType::Network);
  EXPECT_EQ(linux.find_namespace(NamespaceType::Network)->path, "/run/netns/n1");
  EXPECT_EQ(linux.find_namespace(NamespaceType::Time)->path, "");
  EXPECT_EQ(linux.uid_mappings.at(0).host_id, 100000u);
  EXPECT_EQ(linux.uid_mappings[0].size, 65536u);
  EXPECT_EQ(linux.gid_mappings.at(0).host_id, 200000u);
  EXPECT_EQ(linux.time_offsets.at("monotonic").secs, -86400);
  EXPECT_EQ(linux.time_offsets.at("monotonic").nanosecs, 5u);
  EXPECT_EQ(linux.time_offsets.at("boottime").secs, 3600);
  ASSERT_EQ(linux.devices.size(), 2u);
  EXPECT_EQ(linux.devices[0].type, 'c');
  EXPECT_EQ(linux.devices[0].major, 10);
  EXPECT_EQ(linux.devices[0].minor, 229);
  EXPECT_EQ(linux.devices[0].file_mode, 0666u);
  EXPECT_EQ(linux.devices[0].uid, 0u);
  EXPECT_EQ(linux.devices[1].type, 'p');
  EXPECT_FALSE(linux.devices[1].file_mode.has_value());
  EXPECT_EQ(linux.cgroups_path, "/berth/c1");
  EXPECT_EQ(linux.resources["memory"]["limit"], 536870912);
  EXPECT_EQ(linux.rootfs_propagation, Propagation::RSlave);
  EXPECT_EQ(linux.sysctl.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(linux.masked_paths, std::vector<std::string>{"/proc/kcore"});
  EXPECT_EQ(linux.readonly_paths, std::vector<std::string>{"/proc/sys"});
  EXPECT_EQ(linux.mount_label, "system_u:object_r:container_file_t:s0");

  const Seccomp& seccomp = *linux.seccomp;
  EXPECT_EQ(seccomp.default_action, SeccompAction::Errno);
  EXPECT_EQ(seccomp.default_errno_ret, 1u);
  EXPECT_EQ(seccomp.architectures.at(2), "SCMP_ARCH_AARCH64");
  EXPECT_EQ(seccomp.flags.at(1), "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
  EXPECT_EQ(seccomp.listener_path, "/run/seccomp-agent.sock");
  EXPECT_EQ(seccomp.listener_metadata, "meta");
  ASSERT_EQ(seccomp.syscalls.size(), 4u);
  EXPECT_EQ(seccomp.syscalls[0].names, (std::vector<std::string>{"read", "write"}));
  const SeccompRule& personality = seccomp.syscalls[1];
  ASSERT_EQ(personality.args.size(), 2u);
  EXPECT_EQ(personality.args[0].op, SeccompOperator::EqualTo);
  EXPECT_EQ(personality.args[0].value, 8u);
  EXPECT_EQ(personality.args[1].index, 5u);
  EXPECT_EQ(personality.args[1].value_two, 4u);
  EXPECT_EQ(personality.args[1].op, SeccompOperator::MaskedEqual);
  EXPECT_EQ(seccomp.syscalls[2].action, SeccompAction::Notify);
  EXPECT_EQ(seccomp.syscalls[3].errno_ret, 38u);
  EXPECT_FALSE(seccomp.syscalls[0].errno_ret.has_value());
}

TEST(SpecParse, UnknownFieldsAreIgnoredAtEveryLevel) {
  json document = json::parse(kFullDocument);
  document["vm"] = {{"hypervisor", {{"path", "/usr/bin/qemu"}}}};
  document["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}};
  document["process"]["user"]["username"] = "ann";
  document["mounts"][0]["uidMappings"] = json::array();
  document["linux"]["intelRdt"] = {{"closID", "x"}};
  document["linux"]["seccomp"]["syscalls"][0]["comment"] = 7;
  document["hooks"]["someFutureHook"] = "not even an array";
  auto spec = parse_spec_json(document);
  ASSERT_TRUE(spec.has_value()) << spec.error().message();
  EXPECT_EQ(spec->process->user.uid, 1000u);
}

TEST(SpecParse, NullReadsAsAbsentAsInGo) {
  json document = json::parse(kFullDocument);
  document["process"]["capabilities"] = nullptr;
  document["linux"]["resources"] = nullptr;
  document["mounts"][1]["options"] = nullptr;
  auto spec = parse_spec_json(document);
  ASSERT_TRUE(spec.has_value()) << spec.error().message();
  EXPECT_FALSE(spec->process->capabilities.has_value());
  EXPECT_TRUE(spec->linux->resources.is_null());
  EXPECT_TRUE(spec->mounts[1].options.empty());
}

TEST(SpecParse, MinimalDocumentNeedsOnlyVersionAndRoot) {
  auto spec = parse_spec(R"({"ociVersion": "1.2.0", "root": {"path": "rootfs"}})");
  ASSERT_TRUE(spec.has_value()) << spec.error().message();
  EXPECT_FALSE(spec->process.has_value());
  EXPECT_FALSE(spec->linux.has_value());
  EXPECT_FALSE(spec->root.readonly);
}

TEST(SpecParse, MalformedJsonNamesTheByteOffset) {
  auto spec = parse_spec("{\"ociVersion\": }");
  EXPECT_EQ(error_of(spec),
            "config.json: parse error at byte 16: syntax error while parsing value - "
            "unexpected '}'; expected '[', '{', or a literal");
}

TEST(SpecParse, DocumentThatIsNotAnObjectIsRejected) {
  EXPECT_EQ(error_of(parse_spec("[1, 2]")), "the document must be a JSON object, got array");
}

TEST(SpecParse, NamesAndCloneFlagsOfNamespaces) {
  EXPECT_STREQ(to_string(NamespaceType::Network), "network");
  EXPECT_STREQ(to_string(NamespaceType::Mount), "mount");
  EXPECT_EQ(clone_flag(NamespaceType::Mount), CLONE_NEWNS);
  EXPECT_EQ(clone_flag(NamespaceType::Time), CLONE_NEWTIME);
  EXPECT_EQ(clone_flag(NamespaceType::Cgroup), CLONE_NEWCGROUP);
  EXPECT_STREQ(to_string(SeccompAction::KillProcess), "SCMP_ACT_KILL_PROCESS");
  EXPECT_STREQ(to_string(SeccompAction::Errno), "SCMP_ACT_ERRNO");
}

TEST(SpecProcess, ParsesAProcessDocumentAlone) {
  auto process = parse_process_json(json::parse(kFullDocument)["process"]);
  ASSERT_TRUE(process.has_value()) << process.error().message();
  EXPECT_EQ(process->cwd, "/srv");
}

TEST(SpecProcess, ErrorPathsAreRelativeToTheProcessDocument) {
  json process = json::parse(kFullDocument)["process"];
  process["args"] = json::array();
  auto result = parse_process_json(process);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().message(), "args: must not be empty");
}

// A broken document: the full one with one change, and the exact message.
struct BrokenDocument {
  const char* name;
  std::function<void(json&)> damage;
  const char* message;
};

void PrintTo(const BrokenDocument& broken, std::ostream* out) { *out << broken.name; }

class SpecRejects : public testing::TestWithParam<BrokenDocument> {};

TEST_P(SpecRejects, WithThePathAndTheProblem) {
  json document = json::parse(kFullDocument);
  GetParam().damage(document);
  EXPECT_EQ(error_of(parse_spec(document.dump())), GetParam().message);
}

const BrokenDocument kBrokenDocuments[] = {
    {"UnknownNamespace", [](json& d) { d["linux"]["namespaces"][2]["type"] = "nett"; },
     "linux.namespaces[2].type: unknown namespace \"nett\""},
    {"DuplicateNamespace", [](json& d) { d["linux"]["namespaces"][3]["type"] = "pid"; },
     "linux.namespaces[3].type: duplicate namespace \"pid\""},
    {"NamespacesNotAnArray",
     [](json& d) {
       d["linux"]["namespaces"] = {{"type", "pid"}};
     },
     "linux.namespaces: expected an array, got object"},
    {"EmptyArgs", [](json& d) { d["process"]["args"] = json::array(); },
     "process.args: must not be empty"},
    {"RelativeMountDestination",
     [](json& d) {
       d["mounts"].push_back(d["mounts"][0]);
       d["mounts"].push_back({{"destination", "dev/shm"}});
     },
     "mounts[3].destination: must be an absolute path"},
    {"MountOptionNotAString", [](json& d) { d["mounts"][1]["options"][1] = 1; },
     "mounts[1].options[1]: expected a string, got number"},
    {"UnknownRlimit", [](json& d) { d["process"]["rlimits"][0]["type"] = "RLIMIT_FOO"; },
     "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
    {"DuplicateRlimit", [](json& d) { d["process"]["rlimits"][1]["type"] = "RLIMIT_NOFILE"; },
     "process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\""},
    {"SoftRlimitAboveHard", [](json& d) { d["process"]["rlimits"][0]["soft"] = 8192; },
     "process.rlimits[0].soft: 8192 exceeds the hard limit 4096"},
    {"RlimitWithoutHard", [](json& d) { d["process"]["rlimits"][0].erase("hard"); },
     "process.rlimits[0].hard: required"},
    {"UnknownSeccompAction",
     [](json& d) { d["linux"]["seccomp"]["syscalls"][1]["action"] = "SCMP_ACT_FOO"; },
     "linux.seccomp.syscalls[1].action: unknown action \"SCMP_ACT_FOO\""},
    {"UidAsString", [](json& d) { d["process"]["user"]["uid"] = "1000"; },
     "process.user.uid: expected an unsigned integer, got string"},
    {"NegativeUid", [](json& d) { d["process"]["user"]["uid"] = -1; },
     "process.user.uid: expected an unsigned integer, got -1"},
    {"UidAbove32Bits", [](json& d) { d["process"]["user"]["uid"] = 4294967296; },
     "process.user.uid: 4294967296 is out of range (at most 4294967295)"},
    {"FractionalGid", [](json& d) { d["process"]["user"]["gid"] = 1.5; },
     "process.user.gid: expected an unsigned integer, got 1.5"},
    {"MappingsWithoutUserNamespace", [](json& d) { d["linux"]["namespaces"].erase(5); },
     "linux.uidMappings: set, but linux.namespaces has no user namespace"},
    {"GidMappingsWithoutUserNamespace",
     [](json& d) {
       d["linux"]["namespaces"].erase(5);
       d["linux"].erase("uidMappings");
     },
     "linux.gidMappings: set, but linux.namespaces has no user namespace"},
    {"TimeOffsetsWithoutTimeNamespace", [](json& d) { d["linux"]["namespaces"].erase(7); },
     "linux.timeOffsets: set, but linux.namespaces has no time namespace"},
    {"UnknownTimeOffsetClock",
     [](json& d) {
       d["linux"]["timeOffsets"]["realtime"] = {{"secs", 1}};
     },
     "linux.timeOffsets: unknown clock \"realtime\" (expected monotonic or boottime)"},
    {"UnknownCapability", [](json& d) { d["process"]["capabilities"]["bounding"][1] = "CAP_FOO"; },
     "process.capabilities.bounding[1]: unknown capability \"CAP_FOO\""},
    {"LowerCaseCapability",
     [](json& d) { d["process"]["capabilities"]["ambient"][0] = "cap_kill"; },
     "process.capabilities.ambient[0]: unknown capability \"cap_kill\""},
    {"RelativeHookPath", [](json& d) { d["hooks"]["poststop"][1]["path"] = "true"; },
     "hooks.poststop[1].path: must be an absolute path"},
    {"ZeroHookTimeout", [](json& d) { d["hooks"]["prestart"][0]["timeout"] = 0; },
     "hooks.prestart[0].timeout: must be greater than zero, got 0"},
    {"UnknownDeviceType", [](json& d) { d["linux"]["devices"][0]["type"] = "x"; },
     "linux.devices[0].type: unknown device type \"x\""},
    {"CharDeviceWithoutMinor", [](json& d) { d["linux"]["devices"][0].erase("minor"); },
     "linux.devices[0].minor: required for device type \"c\""},
    {"RelativeDevicePath", [](json& d) { d["linux"]["devices"][1]["path"] = "myfifo"; },
     "linux.devices[1].path: must be an absolute path"},
    {"UnknownSeccompOperator",
     [](json& d) { d["linux"]["seccomp"]["syscalls"][1]["args"][1]["op"] = "SCMP_CMP_FOO"; },
     "linux.seccomp.syscalls[1].args[1].op: unknown operator \"SCMP_CMP_FOO\""},
    {"SeccompArgIndexSix",
     [](json& d) { d["linux"]["seccomp"]["syscalls"][1]["args"][0]["index"] = 6; },
     "linux.seccomp.syscalls[1].args[0].index: must be between 0 and 5, got 6"},
    {"UnknownSeccompArchitecture",
     [](json& d) { d["linux"]["seccomp"]["architectures"][1] = "SCMP_ARCH_Z80"; },
     "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\""},
    {"SeccompArchitectureWithoutPrefix",
     [](json& d) { d["linux"]["seccomp"]["architectures"][0] = "x86_64"; },
     "linux.seccomp.architectures[0]: unknown architecture \"x86_64\""},
    {"UnknownSeccompFlag",
     [](json& d) { d["linux"]["seccomp"]["flags"][0] = "SECCOMP_FILTER_FLAG_FOO"; },
     "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_FOO\""},
    {"NotifyWithoutListenerPath", [](json& d) { d["linux"]["seccomp"].erase("listenerPath"); },
     "linux.seccomp.syscalls[2].action: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath"},
    {"NotifyAsDefaultAction",
     [](json& d) { d["linux"]["seccomp"]["defaultAction"] = "SCMP_ACT_NOTIFY"; },
     "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
    {"SyscallRuleWithoutNames",
     [](json& d) { d["linux"]["seccomp"]["syscalls"][0]["names"] = json::array(); },
     "linux.seccomp.syscalls[0].names: must not be empty"},
    {"UnknownRootfsPropagation", [](json& d) { d["linux"]["rootfsPropagation"] = "sideways"; },
     "linux.rootfsPropagation: unknown propagation \"sideways\""},
    {"RelativeCwd", [](json& d) { d["process"]["cwd"] = "srv"; },
     "process.cwd: must be an absolute path"},
    {"MissingCwd", [](json& d) { d["process"].erase("cwd"); }, "process.cwd: required"},
    {"EnvEntryWithoutEquals", [](json& d) { d["process"]["env"][1] = "DEBUG"; },
     "process.env[1]: \"DEBUG\" is not of the form KEY=VALUE"},
    {"OomScoreAdjAboveRange", [](json& d) { d["process"]["oomScoreAdj"] = 1001; },
     "process.oomScoreAdj: must be between -1000 and 1000, got 1001"},
    {"SysctlValueNotAString", [](json& d) { d["linux"]["sysctl"]["net.ipv4.ip_forward"] = 1; },
     "linux.sysctl[\"net.ipv4.ip_forward\"]: expected a string, got number"},
    {"AnnotationValueNotAString", [](json& d) { d["annotations"]["berth.gpu"] = true; },
     "annotations[\"berth.gpu\"]: expected a string, got boolean"},
    {"MissingOciVersion", [](json& d) { d.erase("ociVersion"); }, "ociVersion: required"},
    {"OciVersionNotAString", [](json& d) { d["ociVersion"] = 1.2; },
     "ociVersion: expected a string, got number"},
    {"MissingRoot", [](json& d) { d.erase("root"); }, "root: required"},
    {"RootWithoutPath", [](json& d) { d["root"].erase("path"); }, "root.path: required"},
    {"ResourcesNotAnObject", [](json& d) { d["linux"]["resources"] = json::array(); },
     "linux.resources: expected an object, got array"},
    {"TerminalNotABoolean", [](json& d) { d["process"]["terminal"] = "yes"; },
     "process.terminal: expected a boolean, got string"},
    {"ProcessNotAnObject", [](json& d) { d["process"] = "sh"; },
     "process: expected an object, got string"},
};

INSTANTIATE_TEST_SUITE_P(SpecBrokenDocuments, SpecRejects, testing::ValuesIn(kBrokenDocuments),
                         [](const testing::TestParamInfo<BrokenDocument>& info) {
                           return std::string(info.param.name);
                         });

class SpecLoad : public testing::Test {
 protected:
  void write_config(const std::string& text) {
    ASSERT_TRUE(write_file(bundle_ / "config.json", text).has_value());
  }
  test::TempDir bundle_{"berth-spec-load"};
};

TEST_F(SpecLoad, ReadsConfigJsonFromTheBundle) {
  write_config(kFullDocument);
  auto spec = load_spec(bundle_.path());
  ASSERT_TRUE(spec.has_value()) << spec.error().message();
  EXPECT_EQ(spec->hostname, "notebook");
}

TEST_F(SpecLoad, MissingFileIsNamedWithErrno) {
  auto spec = load_spec(bundle_.path() + "/nowhere");
  EXPECT_EQ(error_of(spec),
            "open " + bundle_.path() + "/nowhere/config.json: No such file or directory");
  EXPECT_EQ(spec.error().errno_value(), ENOENT);
}

TEST_F(SpecLoad, ValidationErrorsNameTheFileThenThePath) {
  write_config(R"({"ociVersion": "1.2.0", "root": {"path": "rootfs"}, "process": {"cwd": "/"}})");
  EXPECT_EQ(error_of(load_spec(bundle_.path())),
            (bundle_ / "config.json") + ": process.user: required");
}

TEST_F(SpecLoad, ParseErrorsNameTheFile) {
  write_config("{\"ociVersion\": \"1.2.0\",");
  std::string message = error_of(load_spec(bundle_.path()));
  std::string expected_start = (bundle_ / "config.json") + ": parse error at byte 24: ";
  EXPECT_TRUE(message.starts_with(expected_start)) << message;
}

}  // namespace
}  // namespace berth::spec
