#include "linux/cgroup_limits.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "core/files.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/unique_fd.h"
#include "linux/mount_internal.h"

namespace berth::linux {
namespace {

// cgroup v2's "max" for the spec's -1 (runc: numToStr).
Result<std::string> limit_value(int64_t value, const std::string& field) {
  if (value == -1) return std::string("max");
  if (value < 0) return make_error("{}: {} is not a limit (use -1 for none)", field, value);
  return std::to_string(value);
}

std::string device_key(int64_t major, int64_t minor) { return fmt::format("{}:{}", major, minor); }

// Open without O_CREAT: a missing interface file must read as ENOENT (the
// controller is not enabled, or the kernel lacks the feature), and one
// write(2) is one command to the kernel.
Status write_interface_file(const std::string& path, const std::string& value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return sys_error("open {}", path);
  ssize_t written = ::write(fd.get(), value.data(), value.size());
  if (written < 0) return sys_error("write \"{}\" to {}", value, path);
  if (static_cast<size_t>(written) != value.size())
    return make_error("write \"{}\" to {}: short write", value, path);
  return ok();
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  std::string word;
  while (in >> word) out.push_back(word);
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// A controller list file (cgroup.controllers, cgroup.subtree_control); an
// unreadable one lists none, which the checks below then report.
std::vector<std::string> controllers_in(const std::string& file) {
  auto text = read_file(file);
  return text ? words(text.value()) : std::vector<std::string>{};
}

// Where a controller the v2 hierarchy lacks has gone: a cgroup v1
// hierarchy holds it (hybrid hosts), or it is disabled, or absent.
std::string why_controller_missing(const std::string& controller) {
  // v1 names the io controller blkio.
  std::string v1_name = controller == "io" ? "blkio" : controller;
  if (auto mounts = read_mountinfo()) {
    for (const MountInfoEntry& entry : mounts.value()) {
      if (entry.fs_type != "cgroup") continue;
      std::vector<std::string> options = split(entry.super_options, ',');
      if (contains(options, v1_name))
        return fmt::format("it is bound to a cgroup v1 hierarchy (mounted at {})",
                           entry.mount_point);
    }
  }
  if (auto cgroups = read_file("/proc/cgroups")) {
    std::istringstream lines(cgroups.value());
    std::string name, hierarchy, count, enabled;
    while (lines >> name >> hierarchy >> count >> enabled)
      if (name == v1_name && enabled == "0")
        return "it is disabled (cgroup_disable= on the kernel command line)";
  }
  return "the kernel has no such controller";
}

// The writes cgroup_writes collects, and the spec path ("linux.resources")
// their fields are named under.
class CgroupWriteList {
 public:
  explicit CgroupWriteList(const std::string& path) : path_(path) {}

  // `field` is relative to the path: "memory.limit".
  CgroupWrite& add(std::string file, std::string value, const std::string& field) {
    writes_.push_back({std::move(file), std::move(value), path_ + "." + field, {}, false});
    return writes_.back();
  }
  const std::string& path() const { return path_; }
  std::vector<CgroupWrite> take() { return std::move(writes_); }

 private:
  std::string path_;
  std::vector<CgroupWrite> writes_;
};

void pids_writes(const spec::PidsResources& pids, CgroupWriteList& writes) {
  if (pids.limit != 0)
    writes.add("pids.max", pids.limit > 0 ? std::to_string(pids.limit) : std::string("max"),
               "pids.limit");
}

Status memory_writes(const spec::MemoryResources& memory, CgroupWriteList& writes) {
  const std::string& path = writes.path();
  int64_t limit = memory.limit.value_or(0);
  int64_t swap = memory.swap.value_or(0);
  if (memory.swap || (memory.limit && limit == -1)) {
    auto converted = memory_swap_to_v2(swap, limit);
    if (!converted) return converted.error().add_context(path + ".memory.swap");
    // swap == memory converts to 0: no swap at all, which must be written.
    if (converted.value() != 0 || swap > 0) {
      std::string value = TRY_VALUE(limit_value(converted.value(), path + ".memory.swap"));
      writes.add("memory.swap.max", value, "memory.swap").optional = value == "max" || value == "0";
    }
  }
  if (limit != 0)
    writes.add("memory.max", TRY_VALUE(limit_value(limit, path + ".memory.limit")), "memory.limit");
  if (memory.reservation && *memory.reservation != 0)
    writes.add("memory.low",
               TRY_VALUE(limit_value(*memory.reservation, path + ".memory.reservation")),
               "memory.reservation");
  if (memory.swappiness)
    return make_error("{}.memory.swappiness: cgroup v2 has no per-cgroup swappiness", path);
  if (memory.kernel.value_or(0) != 0 || memory.kernel_tcp.value_or(0) != 0)
    log::warning(
        "{}.memory.kernel and kernelTCP are not applied: cgroup v2 accounts kernel "
        "memory within memory.max",
        path);
  if (memory.disable_oom_killer.value_or(false))
    log::warning(
        "{}.memory.disableOOMKiller is not applied: cgroup v2 cannot disable the "
        "OOM killer",
        path);
  return ok();
}

// A blkio weight ([10, 1000]) for io.bfq.weight, which has the same scale,
// or, without the BFQ scheduler, for io.weight, converted.
Status io_weight_write(uint16_t weight, const std::string& key_prefix, const std::string& field,
                       CgroupWriteList& writes) {
  if (weight < 10 || weight > 1000)
    return make_error("{}.{}: {} is out of range (10 to 1000)", writes.path(), field, weight);
  CgroupWrite& write = writes.add("io.bfq.weight", key_prefix + std::to_string(weight), field);
  write.fallback = {"io.weight", key_prefix + std::to_string(blkio_weight_to_io_weight(weight))};
  return ok();
}

void io_throttle_writes(const std::vector<spec::BlockIoThrottleDevice>& devices, const char* key,
                        const char* field, CgroupWriteList& writes) {
  for (size_t i = 0; i < devices.size(); ++i)
    writes.add("io.max",
               fmt::format("{} {}={}", device_key(devices[i].major, devices[i].minor), key,
                           devices[i].rate),
               fmt::format("blockIO.{}[{}]", field, i));
}

Status io_writes(const spec::BlockIoResources& io, CgroupWriteList& writes) {
  if (io.weight && *io.weight != 0) TRY(io_weight_write(*io.weight, "", "blockIO.weight", writes));
  for (size_t i = 0; i < io.weight_devices.size(); ++i) {
    const spec::BlockIoWeightDevice& device = io.weight_devices[i];
    if (device.weight && *device.weight != 0)
      TRY(io_weight_write(*device.weight, device_key(device.major, device.minor) + " ",
                          fmt::format("blockIO.weightDevice[{}].weight", i), writes));
  }
  if (io.leaf_weight.value_or(0) != 0 ||
      std::any_of(io.weight_devices.begin(), io.weight_devices.end(),
                  [](const auto& d) { return d.leaf_weight.value_or(0) != 0; }))
    log::warning("{}.blockIO leafWeight is not applied: cgroup v2 has no leaf weights",
                 writes.path());
  io_throttle_writes(io.throttle_read_bps, "rbps", "throttleReadBpsDevice", writes);
  io_throttle_writes(io.throttle_write_bps, "wbps", "throttleWriteBpsDevice", writes);
  io_throttle_writes(io.throttle_read_iops, "riops", "throttleReadIOPSDevice", writes);
  io_throttle_writes(io.throttle_write_iops, "wiops", "throttleWriteIOPSDevice", writes);
  return ok();
}

Status cpu_writes(const spec::CpuResources& cpu, CgroupWriteList& writes) {
  if (cpu.shares && *cpu.shares != 0) {
    if (*cpu.shares < 2 || *cpu.shares > 262144)
      return make_error("{}.cpu.shares: {} is out of range (2 to 262144)", writes.path(),
                        *cpu.shares);
    writes.add("cpu.weight", std::to_string(cpu_shares_to_weight(*cpu.shares)), "cpu.shares");
  }
  int64_t quota = cpu.quota.value_or(0);
  uint64_t period = cpu.period.value_or(0);
  if (quota != 0 || period != 0) {
    // The kernel's default period (cgroup-v2.rst) when only a quota is given.
    writes.add("cpu.max",
               fmt::format("{} {}", quota > 0 ? std::to_string(quota) : "max",
                           period != 0 ? period : 100000),
               quota != 0 ? "cpu.quota" : "cpu.period");
  }
  // After cpu.max: the kernel checks the burst against the quota.
  if (cpu.burst) writes.add("cpu.max.burst", std::to_string(*cpu.burst), "cpu.burst");
  if (cpu.idle) writes.add("cpu.idle", std::to_string(*cpu.idle), "cpu.idle");
  if (cpu.realtime_runtime.value_or(0) != 0 || cpu.realtime_period.value_or(0) != 0)
    return make_error(
        "{}.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no real-time CPU "
        "bandwidth",
        writes.path());
  return ok();
}

// The spec keeps the cpuset's fields under cpu; they are the cpuset
// controller's files.
void cpuset_writes(const spec::CpuResources& cpu, CgroupWriteList& writes) {
  if (cpu.cpus && !cpu.cpus->empty()) writes.add("cpuset.cpus", *cpu.cpus, "cpu.cpus");
  if (cpu.mems && !cpu.mems->empty()) writes.add("cpuset.mems", *cpu.mems, "cpu.mems");
}

Status hugetlb_writes(const std::vector<spec::HugepageLimit>& limits, CgroupWriteList& writes) {
  for (size_t i = 0; i < limits.size(); ++i) {
    const spec::HugepageLimit& limit = limits[i];
    std::string field = fmt::format("hugepageLimits[{}]", i);
    // The page size becomes part of a file name.
    if (limit.page_size.empty() || limit.page_size.find_first_of("/.") != std::string::npos)
      return make_error("{}.{}.pageSize: \"{}\" is not a page size such as 2MB", writes.path(),
                        field, limit.page_size);
    writes.add("hugetlb." + limit.page_size + ".max", std::to_string(limit.limit),
               field + ".limit");
  }
  return ok();
}

void rdma_writes(const std::map<std::string, spec::RdmaLimit>& rdma, CgroupWriteList& writes) {
  for (const auto& [device, limit] : rdma) {
    std::string value = device;
    if (limit.hca_handles) value += " hca_handle=" + std::to_string(*limit.hca_handles);
    if (limit.hca_objects) value += " hca_object=" + std::to_string(*limit.hca_objects);
    if (value != device) writes.add("rdma.max", value, fmt::format("rdma[\"{}\"]", device));
  }
}

Status unified_writes(const std::map<std::string, std::string>& unified, CgroupWriteList& writes) {
  for (const auto& [file, value] : unified) {
    std::string field = fmt::format("unified[\"{}\"]", file);
    if (file.empty() || file.find('/') != std::string::npos ||
        file.find('.') == std::string::npos || file == "." || file == "..")
      return make_error("{}.{}: not the name of a cgroup interface file (such as memory.high)",
                        writes.path(), field);
    writes.add(file, value, field);
  }
  return ok();
}

}  // namespace

std::string CgroupWrite::controller() const { return file.substr(0, file.find('.')); }

uint64_t cpu_shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  return 1 + ((weight - 10) * 9999) / 990;
}

Result<int64_t> memory_swap_to_v2(int64_t swap, int64_t memory) {
  // memory unlimited and swap not given: both unlimited, as on cgroup v1.
  if (memory == -1 && swap == 0) return -1;
  if (swap == -1 || swap == 0) return swap;
  if (memory == -1) return swap;
  if (memory == 0) return make_error("a swap limit needs a memory limit");
  if (memory < 0) return make_error("invalid memory limit {}", memory);
  if (swap < memory)
    return make_error("memory+swap limit {} is below the memory limit {}", swap, memory);
  return swap - memory;
}

Result<std::vector<CgroupWrite>> cgroup_writes(const spec::Resources& resources,
                                               const std::string& path) {
  if (resources.has_network)
    return make_error(
        "{}.network: net_cls and net_prio are cgroup v1 controllers; cgroup v2 has none", path);
  // One function per controller, called in runc's fs2 order (setPids,
  // setMemory, setIo, setCpu, setCpuset, setHugeTlb, setRdma, setUnified),
  // which is the order of the writes: a file the unified map names again
  // ends with the unified map's value.
  CgroupWriteList writes(path);
  if (resources.pids) pids_writes(*resources.pids, writes);
  if (resources.memory) TRY(memory_writes(*resources.memory, writes));
  if (resources.block_io) TRY(io_writes(*resources.block_io, writes));
  if (resources.cpu) {
    TRY(cpu_writes(*resources.cpu, writes));
    cpuset_writes(*resources.cpu, writes);
  }
  TRY(hugetlb_writes(resources.hugepage_limits, writes));
  rdma_writes(resources.rdma, writes);
  TRY(unified_writes(resources.unified, writes));
  return writes.take();
}

Status enable_controllers(const std::string& mount, const std::string& directory,
                          const std::vector<CgroupWrite>& writes) {
  std::vector<std::string> available = controllers_in(mount + "/cgroup.controllers");
  // Each ancestor from the root down: a controller can be enabled in a
  // cgroup's subtree_control only once its parent enabled it. Best effort,
  // one controller at a time, as runc: a controller no limit needs may stay
  // off (a parent with processes of its own refuses domain controllers:
  // cgroup v2's no-internal-processes rule); a needed one is checked below.
  std::vector<std::pair<std::string, Error>> refusals;
  std::string rest = directory.substr(mount.size());
  // The root, then each directory strictly above `directory`.
  std::vector<std::string> ancestors = {mount};
  for (size_t slash = rest.find('/', 1); slash != std::string::npos;
       slash = rest.find('/', slash + 1))
    ancestors.push_back(mount + rest.substr(0, slash));
  for (const std::string& ancestor : ancestors) {
    std::vector<std::string> enabled = controllers_in(ancestor + "/cgroup.subtree_control");
    for (const std::string& controller : available) {
      if (contains(enabled, controller)) continue;
      Status status = write_interface_file(ancestor + "/cgroup.subtree_control", "+" + controller);
      if (!status) refusals.emplace_back(controller, status.error());
    }
  }

  std::vector<std::string> have = controllers_in(directory + "/cgroup.controllers");
  for (const CgroupWrite& write : writes) {
    std::string controller = write.controller();
    if (controller == "cgroup" || contains(have, controller)) continue;
    if (!contains(available, controller))
      return make_error(
          "{}: needs the cgroup v2 \"{}\" controller, which the cgroup v2 "
          "hierarchy at {} does not have: {}",
          write.field, controller, mount, why_controller_missing(controller));
    for (const auto& [refused, error] : refusals)
      if (refused == controller)
        return make_error("{}: could not enable the \"{}\" controller for {}: {}", write.field,
                          controller, directory, error.message());
    return make_error("{}: the \"{}\" controller is not enabled for {}", write.field, controller,
                      directory);
  }
  return ok();
}

Status write_limits(const std::string& directory, const std::vector<CgroupWrite>& writes) {
  for (const CgroupWrite& write : writes) {
    std::string path = directory + "/" + write.file;
    if (write.fallback && ::access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
      TRY_CTX(write_interface_file(directory + "/" + write.fallback->first, write.fallback->second),
              "{}", write.field);
      continue;
    }
    Status status = write_interface_file(path, write.value);
    if (!status && write.optional && status.error().errno_value() == ENOENT) continue;
    if (!status) return status.error().add_context(write.field);
  }
  return ok();
}

Status check_memory_usage(const std::string& directory, const spec::Resources& resources) {
  if (!resources.memory || !resources.memory->check_before_update.value_or(false)) return ok();
  int64_t limit = resources.memory->limit.value_or(0);
  if (limit <= 0) return ok();
  std::string current_path = directory + "/memory.current";
  auto current = TRY_VALUE(read_file(current_path));
  long long usage = std::strtoll(current.c_str(), nullptr, 10);
  if (usage >= limit)
    return make_error(
        "linux.resources.memory.limit: {} is not above the container's current memory usage "
        "{} ({}) and checkBeforeUpdate is set",
        limit, usage, current_path);
  return ok();
}

}  // namespace berth::linux
