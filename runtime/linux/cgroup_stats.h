// A cgroup v2's statistics as runc's fs2 driver gathers them and `runc
// events` prints them (runc's types.Stats). They come from whichever
// controller files the cgroup has: a controller that is not enabled has no
// files, and its part stays zero, as in runc; cpu.stat, cgroup.procs and
// the *.pressure files exist in every non-root cgroup. Only a file that is
// there but unreadable or malformed is an error.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace berth::linux {

// Pressure stall information, {cpu,memory,io}.pressure (Linux 4.20).
struct PressureData {
  double avg10 = 0, avg60 = 0, avg300 = 0;  // percent
  uint64_t total = 0;                       // microseconds
};
struct Pressure {
  PressureData some, full;
};

// Times in nanoseconds (cpu.stat counts microseconds).
struct CpuStats {
  uint64_t total = 0, user = 0, kernel = 0;  // usage_usec, user_usec, system_usec
  uint64_t periods = 0, throttled_periods = 0,
           throttled = 0;  // nr_periods, nr_throttled, throttled_usec
  std::optional<Pressure> pressure;
};

struct MemoryEntry {
  uint64_t limit = 0;  // UINT64_MAX: "max"
  uint64_t usage = 0;
  uint64_t max_usage = 0;  // the *.peak file (Linux 5.19)
};
struct MemoryStats {
  uint64_t cache = 0;  // memory.stat "file"
  MemoryEntry usage;   // memory.current, memory.max, memory.peak
  // Memory plus swap, as cgroup v1's memsw reported it (runc's compatibility
  // rule): memory.swap.current + memory.current, limits likewise.
  MemoryEntry swap;
  std::map<std::string, uint64_t> raw;  // memory.stat
  std::optional<Pressure> pressure;
};

struct PidsStats {
  uint64_t current = 0;
  uint64_t limit = 0;  // 0: no limit
};

struct BlkioEntry {
  uint64_t major = 0, minor = 0;
  std::string op;  // "Read", "Write"
  uint64_t value = 0;
};
// io.stat in cgroup v1's tables: rbytes/wbytes and rios/wios.
struct BlkioStats {
  std::vector<BlkioEntry> service_bytes, serviced;
  std::optional<Pressure> pressure;
};

struct HugetlbStats {
  uint64_t usage = 0;    // hugetlb.<size>.current
  uint64_t failcnt = 0;  // hugetlb.<size>.events "max"
};

struct CgroupStats {
  CpuStats cpu;
  MemoryStats memory;
  PidsStats pids;
  BlkioStats blkio;
  std::map<std::string, HugetlbStats> hugetlb;  // by page size: "2MB", "1GB"
};

// "key value" lines (cpu.stat, memory.stat, memory.events, cgroup.events).
Result<std::map<std::string, uint64_t>> parse_flat_keyed(const std::string& text);

Result<CgroupStats> read_cgroup_stats(const std::string& directory);

// runc's types.Stats document: its keys, their order, and which are left
// out when zero (Go's omitempty), e.g. {"cpu":{"usage":{"total":..,
// "kernel":..,"user":..},"throttling":{}},"cpuset":{..},"memory":{..},
// "pids":{"current":1},"blkio":{},"hugetlb":{},"intel_rdt":{},
// "network_interfaces":null}.
nlohmann::ordered_json stats_to_json(const CgroupStats& stats);

// cgroup.procs of the cgroup and of every cgroup below it, parents before
// children and siblings by name (runc's GetAllPids). A child cgroup removed
// meanwhile is skipped.
Result<std::vector<pid_t>> cgroup_tree_pids(const std::string& directory);

}  // namespace berth::linux
