// The device cgroup of cgroup v2: linux.resources.devices becomes a
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the container's cgroup
// (v2 has no devices controller; the kernel asks the program instead).
//
// What is enforced is what runc enforces: the spec's rules followed by the
// rules runc always appends (runc_default_device_rules), reduced as cgroup
// v1's devices controller would reduce them (runc's emulator): a default
// (deny until an "a" rule allows all) and exceptions keyed by exact
// type:major:minor. The program answers 1 (allow) or 0 (deny) for each
// open (read/write) and mknod of a device node by a process in the cgroup
// or below it.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"
#include "spec/spec.h"

namespace berth::linux {

struct DeviceRule {
  bool allow = false;
  char type = 'a';     // 'a' (every device), 'b', 'c'
  int64_t major = -1;  // -1: any
  int64_t minor = -1;  // -1: any
  std::string access;  // a non-empty subset of "rwm", in that order

  bool operator==(const DeviceRule&) const = default;
};
std::string to_string(const DeviceRule& rule);  // "allow c 1:3 rwm", "deny a *:* rwm"

// linux.resources.devices (resources as kept raw in spec::Linux; null or
// without "devices" is an empty list). Errors name the element and field.
Result<std::vector<DeviceRule>> parse_device_rules(const nlohmann::json& resources);

// The rules runc appends after the spec's: mknod of any char and block
// device, /dev/{null,zero,full,random,urandom,tty}, /dev/pts/*, /dev/ptmx,
// /dev/net/tun. A default with a path is left out when linux.devices has a
// device at that path (the spec's device then takes its place).
std::vector<DeviceRule> runc_default_device_rules(const std::vector<spec::Device>& spec_devices);

struct DevicePolicy {
  bool default_allow = false;
  // Each with allow == !default_allow and type 'b' or 'c', sorted by
  // (major, minor, type) as runc sorts them.
  std::vector<DeviceRule> exceptions;

  bool allows_everything() const { return default_allow && exceptions.empty(); }
};

// spec_rules then the defaults, reduced as the devices controller does.
// Fails, as runc does, on a rule that would take part of a wildcard
// exception away (cgroup v1 cannot, and runc keeps v2 the same).
Result<DevicePolicy> effective_device_policy(const std::vector<DeviceRule>& spec_rules,
                                             const std::vector<spec::Device>& spec_devices);
// parse_device_rules + effective_device_policy for a container.
Result<DevicePolicy> device_policy(const spec::Linux& linux);

// The program: reads struct bpf_cgroup_dev_ctx, returns 1 or 0.
std::vector<bpf_insn> device_filter_program(const DevicePolicy& policy);

// BPF_PROG_LOAD; on failure the error carries the verifier's log.
Result<UniqueFd> load_device_filter(const std::vector<bpf_insn>& program);

// IDs of the BPF_CGROUP_DEVICE programs attached directly to the cgroup.
Result<std::vector<uint32_t>> attached_device_filters(int cgroup_fd,
                                                      const std::string& cgroup_path);

// Attach program_fd (BPF_F_ALLOW_MULTI), then detach every device program
// that was attached before: the cgroup is never without a filter.
Status attach_device_filter(int cgroup_fd, const std::string& cgroup_path, int program_fd);

// Build, load and attach the policy's program. cgroup_fd < 0 means the host
// has no cgroup2 hierarchy: fine when the policy allows everything, an
// error otherwise (berth has no cgroup v1 devices controller support).
Status install_device_filter(const DevicePolicy& policy, int cgroup_fd,
                             const std::string& cgroup_path);

}  // namespace berth::linux
