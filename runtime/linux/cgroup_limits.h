// linux.resources on cgroup v2: converting the spec's (cgroup v1 shaped)
// values into v2 interface files the way runc's fs2 driver does, enabling
// the controllers they need in every ancestor's cgroup.subtree_control, and
// writing them. A controller the v2 hierarchy lacks fails with the reason
// (bound to a v1 hierarchy, disabled, or not in the kernel).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "spec/resources.h"

namespace berth::linux {

// One value for one interface file of the container's cgroup.
struct CgroupWrite {
  std::string file;   // "memory.max"
  std::string value;  // "33554432"
  std::string field;  // what asked for it, for errors: "linux.resources.memory.limit"
  // Written instead when `file` does not exist (io.bfq.weight exists only
  // with the BFQ scheduler; io.weight is the fallback, on its own scale).
  std::optional<std::pair<std::string, std::string>> fallback;
  // A missing file is no error: writing "max" or "0" to memory.swap.max
  // asks for nothing when the kernel has no swap accounting.
  bool optional = false;

  std::string controller() const;  // "memory": the file name up to its first '.'
};

// Conversions, as runc and crun make them.
uint64_t cpu_shares_to_weight(uint64_t shares);       // [2, 262144] -> [1, 10000]
uint64_t blkio_weight_to_io_weight(uint64_t weight);  // [10, 1000] -> [1, 10000]
// The spec's swap is memory+swap; memory.swap.max is swap alone. -1: max.
Result<int64_t> memory_swap_to_v2(int64_t swap, int64_t memory);

// The writes for `resources`, in runc's order (pids, memory, io, cpu,
// cpuset, hugetlb, rdma, unified). `path` names the object in errors.
// Values cgroup v2 cannot express are refused, not dropped.
Result<std::vector<CgroupWrite>> cgroup_writes(const spec::Resources& resources,
                                               const std::string& path);

// Enables every controller the hierarchy has in the subtree_control of
// each cgroup from the mount's root down to directory's parent (as runc
// does, so stats are there too), then checks that each controller `writes`
// needs is now enabled in directory; if one is not, says why.
Status enable_controllers(const std::string& mount, const std::string& directory,
                          const std::vector<CgroupWrite>& writes);

// Writes each value into directory; an error names the field, the file,
// the value and errno's text.
Status write_limits(const std::string& directory, const std::vector<CgroupWrite>& writes);

// memory.checkBeforeUpdate: refuses a new memory limit below what the
// cgroup already uses (memory.current).
Status check_memory_usage(const std::string& directory, const spec::Resources& resources);

}  // namespace berth::linux
