// linux.resources, typed: what config.json asks of the cgroup, and what
// `update --resources` (and update's flags) change. Fields that were absent
// are empty optionals, so an update can tell "not given" from "set to 0".
// linux.resources.devices is not here: linux/device_filter reads it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace berth::spec {

struct MemoryResources {
  std::optional<int64_t> limit;        // bytes; -1: unlimited
  std::optional<int64_t> reservation;  // bytes; -1: unlimited
  std::optional<int64_t> swap;         // memory + swap, bytes; -1: unlimited
  std::optional<int64_t> kernel;       // deprecated; cgroup v2 has no such limit
  std::optional<int64_t> kernel_tcp;   // deprecated; cgroup v2 has no such limit
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
  std::optional<bool> use_hierarchy;
  std::optional<bool> check_before_update;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;  // microseconds per period; -1 or 0: none
  std::optional<uint64_t> burst;
  std::optional<uint64_t> period;  // microseconds
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::optional<std::string> cpus;  // "0-3,5"
  std::optional<std::string> mems;
  std::optional<int64_t> idle;
};

struct PidsResources {
  int64_t limit = 0;  // > 0: the limit; < 0: unlimited; 0: unset
};

struct BlockIoWeightDevice {
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;
};

struct BlockIoThrottleDevice {
  int64_t major = 0;
  int64_t minor = 0;
  uint64_t rate = 0;
};

struct BlockIoResources {
  std::optional<uint16_t> weight;  // 10..1000
  std::optional<uint16_t> leaf_weight;
  std::vector<BlockIoWeightDevice> weight_devices;
  std::vector<BlockIoThrottleDevice> throttle_read_bps;
  std::vector<BlockIoThrottleDevice> throttle_write_bps;
  std::vector<BlockIoThrottleDevice> throttle_read_iops;
  std::vector<BlockIoThrottleDevice> throttle_write_iops;
};

struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB"
  uint64_t limit = 0;     // bytes
};

struct RdmaLimit {
  std::optional<uint32_t> hca_handles;
  std::optional<uint32_t> hca_objects;
};

struct Resources {
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<PidsResources> pids;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::map<std::string, RdmaLimit> rdma;  // by device name
  // cgroup v2 files and their values, written as they are ("memory.high").
  std::map<std::string, std::string> unified;
  // net_cls/net_prio settings: cgroup v1 only, so refused when set.
  bool has_network = false;

  // Fields given in `update` override this one's; absent ones are kept.
  void merge(const Resources& update);
};

// Parses a LinuxResources object. `path` prefixes errors ("linux.resources"
// for config.json, the file's name for update --resources). null reads as
// empty.
Result<Resources> parse_resources(const nlohmann::json& document, const std::string& path);

// The same object back as JSON (what state.json keeps across updates).
nlohmann::json resources_to_json(const Resources& resources);

}  // namespace berth::spec
