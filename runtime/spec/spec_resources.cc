// linux.resources: parsing (with the JSON path in every error), merging
// updates, and writing the object back out.
#include "spec/json_node.h"
#include "spec/resources.h"

namespace berth::spec {
namespace {

using detail::JsonNode;

Result<MemoryResources> parse_memory(const JsonNode& node) {
  TRY(node.expect_object());
  MemoryResources memory;
  memory.limit = TRY_VALUE(node.optional<int64_t>("limit"));
  memory.reservation = TRY_VALUE(node.optional<int64_t>("reservation"));
  memory.swap = TRY_VALUE(node.optional<int64_t>("swap"));
  memory.kernel = TRY_VALUE(node.optional<int64_t>("kernel"));
  memory.kernel_tcp = TRY_VALUE(node.optional<int64_t>("kernelTCP"));
  memory.swappiness = TRY_VALUE(node.optional<uint64_t>("swappiness"));
  memory.disable_oom_killer = TRY_VALUE(node.optional<bool>("disableOOMKiller"));
  memory.use_hierarchy = TRY_VALUE(node.optional<bool>("useHierarchy"));
  memory.check_before_update = TRY_VALUE(node.optional<bool>("checkBeforeUpdate"));
  return memory;
}

Result<CpuResources> parse_cpu(const JsonNode& node) {
  TRY(node.expect_object());
  CpuResources cpu;
  cpu.shares = TRY_VALUE(node.optional<uint64_t>("shares"));
  cpu.quota = TRY_VALUE(node.optional<int64_t>("quota"));
  cpu.burst = TRY_VALUE(node.optional<uint64_t>("burst"));
  cpu.period = TRY_VALUE(node.optional<uint64_t>("period"));
  cpu.realtime_runtime = TRY_VALUE(node.optional<int64_t>("realtimeRuntime"));
  cpu.realtime_period = TRY_VALUE(node.optional<uint64_t>("realtimePeriod"));
  cpu.cpus = TRY_VALUE(node.optional<std::string>("cpus"));
  cpu.mems = TRY_VALUE(node.optional<std::string>("mems"));
  cpu.idle = TRY_VALUE(node.optional<int64_t>("idle"));
  return cpu;
}

Result<PidsResources> parse_pids(const JsonNode& node) {
  TRY(node.expect_object());
  PidsResources pids;
  pids.limit = TRY_VALUE(node.required<int64_t>("limit"));
  return pids;
}

Result<BlockIoWeightDevice> parse_weight_device(const JsonNode& node) {
  TRY(node.expect_object());
  BlockIoWeightDevice device;
  device.major = TRY_VALUE(node.required<int64_t>("major"));
  device.minor = TRY_VALUE(node.required<int64_t>("minor"));
  device.weight = TRY_VALUE(node.optional<uint16_t>("weight"));
  device.leaf_weight = TRY_VALUE(node.optional<uint16_t>("leafWeight"));
  return device;
}

Result<BlockIoThrottleDevice> parse_throttle_device(const JsonNode& node) {
  TRY(node.expect_object());
  BlockIoThrottleDevice device;
  device.major = TRY_VALUE(node.required<int64_t>("major"));
  device.minor = TRY_VALUE(node.required<int64_t>("minor"));
  device.rate = TRY_VALUE(node.required<uint64_t>("rate"));
  return device;
}

Result<BlockIoResources> parse_block_io(const JsonNode& node) {
  TRY(node.expect_object());
  BlockIoResources io;
  io.weight = TRY_VALUE(node.optional<uint16_t>("weight"));
  io.leaf_weight = TRY_VALUE(node.optional<uint16_t>("leafWeight"));
  io.weight_devices = TRY_VALUE(node.list("weightDevice", parse_weight_device));
  io.throttle_read_bps = TRY_VALUE(node.list("throttleReadBpsDevice", parse_throttle_device));
  io.throttle_write_bps = TRY_VALUE(node.list("throttleWriteBpsDevice", parse_throttle_device));
  io.throttle_read_iops = TRY_VALUE(node.list("throttleReadIOPSDevice", parse_throttle_device));
  io.throttle_write_iops = TRY_VALUE(node.list("throttleWriteIOPSDevice", parse_throttle_device));
  return io;
}

Result<HugepageLimit> parse_hugepage_limit(const JsonNode& node) {
  TRY(node.expect_object());
  HugepageLimit limit;
  limit.page_size = TRY_VALUE(node.required<std::string>("pageSize"));
  limit.limit = TRY_VALUE(node.required<uint64_t>("limit"));
  return limit;
}

Result<RdmaLimit> parse_rdma_limit(const JsonNode& node) {
  TRY(node.expect_object());
  RdmaLimit limit;
  limit.hca_handles = TRY_VALUE(node.optional<uint32_t>("hcaHandles"));
  limit.hca_objects = TRY_VALUE(node.optional<uint32_t>("hcaObjects"));
  return limit;
}

template <typename T>
void override_with(std::optional<T>& field, const std::optional<T>& update) {
  if (update) field = update;
}

template <typename T>
void put(nlohmann::json& object, const char* key, const std::optional<T>& value) {
  if (value) object[key] = *value;
}

nlohmann::json devices_to_json(const std::vector<BlockIoThrottleDevice>& devices) {
  nlohmann::json list = nlohmann::json::array();
  for (const BlockIoThrottleDevice& device : devices)
    list.push_back({{"major", device.major}, {"minor", device.minor}, {"rate", device.rate}});
  return list;
}

}  // namespace

Result<Resources> parse_resources(const nlohmann::json& document, const std::string& path) {
  Resources resources;
  if (document.is_null()) return resources;
  JsonNode node(document, path);
  TRY(node.expect_object());
  resources.memory = TRY_VALUE(node.optional("memory", parse_memory));
  resources.cpu = TRY_VALUE(node.optional("cpu", parse_cpu));
  resources.pids = TRY_VALUE(node.optional("pids", parse_pids));
  resources.block_io = TRY_VALUE(node.optional("blockIO", parse_block_io));
  resources.hugepage_limits = TRY_VALUE(node.list("hugepageLimits", parse_hugepage_limit));
  resources.rdma = TRY_VALUE(node.dict("rdma", parse_rdma_limit));
  resources.unified = TRY_VALUE(node.value_or<detail::StringMap>("unified", {}));
  if (auto network = node.member("network")) {
    TRY(network->expect_object());
    resources.has_network = !network->json().empty();
  }
  return resources;
}

void Resources::merge(const Resources& update) {
  if (update.memory) {
    MemoryResources& m = memory ? *memory : memory.emplace();
    const MemoryResources& u = *update.memory;
    override_with(m.limit, u.limit);
    override_with(m.reservation, u.reservation);
    override_with(m.swap, u.swap);
    override_with(m.kernel, u.kernel);
    override_with(m.kernel_tcp, u.kernel_tcp);
    override_with(m.swappiness, u.swappiness);
    override_with(m.disable_oom_killer, u.disable_oom_killer);
    override_with(m.use_hierarchy, u.use_hierarchy);
    override_with(m.check_before_update, u.check_before_update);
  }
  if (update.cpu) {
    CpuResources& c = cpu ? *cpu : cpu.emplace();
    const CpuResources& u = *update.cpu;
    override_with(c.shares, u.shares);
    override_with(c.quota, u.quota);
    override_with(c.burst, u.burst);
    override_with(c.period, u.period);
    override_with(c.realtime_runtime, u.realtime_runtime);
    override_with(c.realtime_period, u.realtime_period);
    override_with(c.cpus, u.cpus);
    override_with(c.mems, u.mems);
    override_with(c.idle, u.idle);
  }
  if (update.pids) pids = update.pids;
  if (update.block_io) {
    BlockIoResources& b = block_io ? *block_io : block_io.emplace();
    const BlockIoResources& u = *update.block_io;
    override_with(b.weight, u.weight);
    override_with(b.leaf_weight, u.leaf_weight);
    // Device lists are replaced whole when given, as runc's update does.
    if (!u.weight_devices.empty()) b.weight_devices = u.weight_devices;
    if (!u.throttle_read_bps.empty()) b.throttle_read_bps = u.throttle_read_bps;
    if (!u.throttle_write_bps.empty()) b.throttle_write_bps = u.throttle_write_bps;
    if (!u.throttle_read_iops.empty()) b.throttle_read_iops = u.throttle_read_iops;
    if (!u.throttle_write_iops.empty()) b.throttle_write_iops = u.throttle_write_iops;
  }
  if (!update.hugepage_limits.empty()) hugepage_limits = update.hugepage_limits;
  for (const auto& [device, limit] : update.rdma) rdma[device] = limit;
  for (const auto& [file, value] : update.unified) unified[file] = value;
  has_network = has_network || update.has_network;
}

nlohmann::json resources_to_json(const Resources& resources) {
  nlohmann::json out = nlohmann::json::object();
  if (const auto& m = resources.memory) {
    nlohmann::json& j = out["memory"] = nlohmann::json::object();
    put(j, "limit", m->limit);
    put(j, "reservation", m->reservation);
    put(j, "swap", m->swap);
    put(j, "kernel", m->kernel);
    put(j, "kernelTCP", m->kernel_tcp);
    put(j, "swappiness", m->swappiness);
    put(j, "disableOOMKiller", m->disable_oom_killer);
    put(j, "useHierarchy", m->use_hierarchy);
    put(j, "checkBeforeUpdate", m->check_before_update);
  }
  if (const auto& c = resources.cpu) {
    nlohmann::json& j = out["cpu"] = nlohmann::json::object();
    put(j, "shares", c->shares);
    put(j, "quota", c->quota);
    put(j, "burst", c->burst);
    put(j, "period", c->period);
    put(j, "realtimeRuntime", c->realtime_runtime);
    put(j, "realtimePeriod", c->realtime_period);
    put(j, "cpus", c->cpus);
    put(j, "mems", c->mems);
    put(j, "idle", c->idle);
  }
  if (resources.pids) out["pids"] = {{"limit", resources.pids->limit}};
  if (const auto& b = resources.block_io) {
    nlohmann::json& j = out["blockIO"] = nlohmann::json::object();
    put(j, "weight", b->weight);
    put(j, "leafWeight", b->leaf_weight);
    if (!b->weight_devices.empty()) {
      nlohmann::json& list = j["weightDevice"] = nlohmann::json::array();
      for (const BlockIoWeightDevice& device : b->weight_devices) {
        nlohmann::json entry = {{"major", device.major}, {"minor", device.minor}};
        put(entry, "weight", device.weight);
        put(entry, "leafWeight", device.leaf_weight);
        list.push_back(entry);
      }
    }
    if (!b->throttle_read_bps.empty())
      j["throttleReadBpsDevice"] = devices_to_json(b->throttle_read_bps);
    if (!b->throttle_write_bps.empty())
      j["throttleWriteBpsDevice"] = devices_to_json(b->throttle_write_bps);
    if (!b->throttle_read_iops.empty())
      j["throttleReadIOPSDevice"] = devices_to_json(b->throttle_read_iops);
    if (!b->throttle_write_iops.empty())
      j["throttleWriteIOPSDevice"] = devices_to_json(b->throttle_write_iops);
  }
  if (!resources.hugepage_limits.empty()) {
    nlohmann::json& list = out["hugepageLimits"] = nlohmann::json::array();
    for (const HugepageLimit& limit : resources.hugepage_limits)
      list.push_back({{"pageSize", limit.page_size}, {"limit", limit.limit}});
  }
  if (!resources.rdma.empty()) {
    nlohmann::json& map = out["rdma"] = nlohmann::json::object();
    for (const auto& [device, limit] : resources.rdma) {
      nlohmann::json& entry = map[device] = nlohmann::json::object();
      put(entry, "hcaHandles", limit.hca_handles);
      put(entry, "hcaObjects", limit.hca_objects);
    }
  }
  if (!resources.unified.empty()) out["unified"] = resources.unified;
  return out;
}

}  // namespace berth::spec
