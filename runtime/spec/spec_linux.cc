// config.json's linux section, less seccomp (spec_seccomp.cc).
#include <sched.h>

#include <algorithm>
#include <array>

#include "spec/json_node.h"
#include "spec/spec.h"
#include "spec/spec_sections.h"

namespace berth::spec {
namespace {

using detail::JsonNode;
using detail::Named;

constexpr std::array<Named<NamespaceType>, 8> kNamespaces{{
    {"mount", NamespaceType::Mount},
    {"pid", NamespaceType::Pid},
    {"uts", NamespaceType::Uts},
    {"ipc", NamespaceType::Ipc},
    {"network", NamespaceType::Network},
    {"user", NamespaceType::User},
    {"cgroup", NamespaceType::Cgroup},
    {"time", NamespaceType::Time},
}};

constexpr std::array<Named<Propagation>, 8> kPropagations{{
    {"private", Propagation::Private},
    {"slave", Propagation::Slave},
    {"shared", Propagation::Shared},
    {"unbindable", Propagation::Unbindable},
    {"rprivate", Propagation::RPrivate},
    {"rslave", Propagation::RSlave},
    {"rshared", Propagation::RShared},
    {"runbindable", Propagation::RUnbindable},
}};

// The clocks a time namespace can offset (time_namespaces(7)).
constexpr std::array<std::string_view, 2> kOffsetClocks{"monotonic", "boottime"};

Result<Namespace> parse_namespace(const JsonNode& node) {
  TRY(node.expect_object());
  Namespace ns;
  ns.type = TRY_VALUE(node.required(
      "type", [](const JsonNode& type) { return detail::lookup(type, kNamespaces, "namespace"); }));
  ns.path = TRY_VALUE(node.value_or<std::string>("path", {}));
  return ns;
}

// Each type may appear once (runc: "duplicated ns"): two entries would ask
// for the same clone flag twice or to both create and join one namespace.
Result<std::vector<Namespace>> parse_namespaces(const JsonNode& linux) {
  std::vector<Namespace> seen;
  return linux.list("namespaces", [&seen](const JsonNode& node) -> Result<Namespace> {
    Namespace ns = TRY_VALUE(parse_namespace(node));
    for (const Namespace& other : seen)
      if (other.type == ns.type)
        return node.error_at("type", "duplicate namespace \"{}\"", to_string(ns.type));
    seen.push_back(ns);
    return ns;
  });
}

Result<IdMapping> parse_id_mapping(const JsonNode& node) {
  TRY(node.expect_object());
  IdMapping mapping;
  mapping.container_id = TRY_VALUE(node.required<uint32_t>("containerID"));
  mapping.host_id = TRY_VALUE(node.required<uint32_t>("hostID"));
  mapping.size = TRY_VALUE(node.required<uint32_t>("size"));
  return mapping;
}

Result<TimeOffset> parse_time_offset(const JsonNode& node) {
  TRY(node.expect_object());
  TimeOffset offset;
  offset.secs = TRY_VALUE(node.value_or<int64_t>("secs", 0));
  offset.nanosecs = TRY_VALUE(node.value_or<uint32_t>("nanosecs", 0));
  return offset;
}

// 'u' is an unbuffered character device, 'p' a fifo.
constexpr std::array<Named<char>, 4> kDeviceTypes{{{"c", 'c'}, {"b", 'b'}, {"u", 'u'}, {"p", 'p'}}};

Result<char> parse_device_type(const JsonNode& node) {
  return detail::lookup(node, kDeviceTypes, "device type");
}

Result<Device> parse_device(const JsonNode& node) {
  TRY(node.expect_object());
  Device device;
  device.type = TRY_VALUE(node.required("type", parse_device_type));
  device.path = TRY_VALUE(node.required("path", detail::parse_absolute_path));
  // A fifo has no device number; mknod(2) ignores it.
  if (device.type == 'p') {
    device.major = TRY_VALUE(node.value_or<int64_t>("major", 0));
    device.minor = TRY_VALUE(node.value_or<int64_t>("minor", 0));
  } else {
    auto major = TRY_VALUE(node.optional<int64_t>("major"));
    auto minor = TRY_VALUE(node.optional<int64_t>("minor"));
    if (!major) return node.error_at("major", "required for device type \"{}\"", device.type);
    if (!minor) return node.error_at("minor", "required for device type \"{}\"", device.type);
    device.major = *major;
    device.minor = *minor;
  }
  device.file_mode = TRY_VALUE(node.optional<uint32_t>("fileMode"));
  device.uid = TRY_VALUE(node.optional<uint32_t>("uid"));
  device.gid = TRY_VALUE(node.optional<uint32_t>("gid"));
  return device;
}

// The empty string is what Go writes for an unset field.
Result<Propagation> parse_propagation(const JsonNode& node) {
  if (TRY_VALUE(node.as<std::string>()).empty()) return Propagation::Unset;
  return detail::lookup(node, kPropagations, "propagation");
}

// The cgroup manager interprets resources; here it only has to be an object.
Result<nlohmann::json> parse_resources(const JsonNode& node) {
  TRY(node.expect_object());
  return node.json();
}

bool has_namespace(const Linux& linux, NamespaceType type) {
  return linux.find_namespace(type) != nullptr;
}

}  // namespace

namespace detail {

Result<Linux> parse_linux(const JsonNode& node) {
  TRY(node.expect_object());
  Linux linux;
  linux.namespaces = TRY_VALUE(parse_namespaces(node));
  linux.uid_mappings = TRY_VALUE(node.list("uidMappings", parse_id_mapping));
  linux.gid_mappings = TRY_VALUE(node.list("gidMappings", parse_id_mapping));
  linux.time_offsets = TRY_VALUE(node.dict("timeOffsets", parse_time_offset));
  linux.devices = TRY_VALUE(node.list("devices", parse_device));
  linux.cgroups_path = TRY_VALUE(node.value_or<std::string>("cgroupsPath", {}));
  linux.resources = TRY_VALUE(node.optional("resources", parse_resources)).value_or(nullptr);
  linux.rootfs_propagation =
      TRY_VALUE(node.optional("rootfsPropagation", parse_propagation)).value_or(Propagation::Unset);
  linux.seccomp = TRY_VALUE(node.optional("seccomp", parse_seccomp));
  linux.sysctl = TRY_VALUE(node.value_or<detail::StringMap>("sysctl", {}));
  linux.masked_paths = TRY_VALUE(node.value_or<std::vector<std::string>>("maskedPaths", {}));
  linux.readonly_paths = TRY_VALUE(node.value_or<std::vector<std::string>>("readonlyPaths", {}));
  linux.mount_label = TRY_VALUE(node.value_or<std::string>("mountLabel", {}));

  // Mappings are written to /proc/<pid>/{uid,gid}_map of a new user
  // namespace; without one there is nothing to write them to (runc refuses
  // the same way rather than silently running unmapped).
  bool user_namespace = has_namespace(linux, NamespaceType::User);
  if (!linux.uid_mappings.empty() && !user_namespace)
    return node.error_at("uidMappings", "set, but linux.namespaces has no user namespace");
  if (!linux.gid_mappings.empty() && !user_namespace)
    return node.error_at("gidMappings", "set, but linux.namespaces has no user namespace");
  for (const auto& [clock, offset] : linux.time_offsets)
    if (std::find(kOffsetClocks.begin(), kOffsetClocks.end(), clock) == kOffsetClocks.end())
      return node.error_at("timeOffsets", "unknown clock \"{}\" (expected monotonic or boottime)",
                           clock);
  if (!linux.time_offsets.empty() && !has_namespace(linux, NamespaceType::Time))
    return node.error_at("timeOffsets", "set, but linux.namespaces has no time namespace");
  return linux;
}

}  // namespace detail

const char* to_string(NamespaceType type) { return detail::name_in(kNamespaces, type); }

int clone_flag(NamespaceType type) {
  switch (type) {
    case NamespaceType::Mount:
      return CLONE_NEWNS;
    case NamespaceType::Pid:
      return CLONE_NEWPID;
    case NamespaceType::Uts:
      return CLONE_NEWUTS;
    case NamespaceType::Ipc:
      return CLONE_NEWIPC;
    case NamespaceType::Network:
      return CLONE_NEWNET;
    case NamespaceType::User:
      return CLONE_NEWUSER;
    case NamespaceType::Cgroup:
      return CLONE_NEWCGROUP;
    case NamespaceType::Time:
      return CLONE_NEWTIME;
  }
  return 0;
}

const Namespace* Linux::find_namespace(NamespaceType type) const {
  for (const Namespace& ns : namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

}  // namespace berth::spec
