#include "linux/cgroup_stats.h"

#include <dirent.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "core/c_handle.h"
#include "core/files.h"
#include "linux/cgroup.h"

namespace berth::linux {
namespace {

using nlohmann::ordered_json;

constexpr uint64_t kMax = UINT64_MAX;

std::vector<std::string> fields_of(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> fields;
  for (std::string field; in >> field;) fields.push_back(field);
  return fields;
}

std::optional<uint64_t> to_uint(std::string_view text) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// A statistic's value. Some memory statistics can read negative through
// kernel accounting bugs; runc reads those as 0, and so do we.
std::optional<uint64_t> statistic(std::string_view text) {
  if (text.size() > 1 && text[0] == '-' && to_uint(text.substr(1))) return 0;
  return to_uint(text);
}

// A single-value file: a number, or "max" for no limit.
Result<uint64_t> parse_single_value(const std::string& path, const std::string& text) {
  std::string value = text.substr(0, text.find('\n'));
  if (value == "max") return kMax;
  if (auto number = statistic(value)) return *number;
  return make_error("{}: \"{}\" is not a number", path, value);
}

std::optional<double> to_double(const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') return std::nullopt;
  return value;
}

Result<Pressure> parse_pressure(const std::string& path, const std::string& text) {
  Pressure pressure;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields = fields_of(line);
    if (fields.empty()) continue;
    PressureData* data = fields[0] == "some"   ? &pressure.some
                         : fields[0] == "full" ? &pressure.full
                                               : nullptr;
    if (!data) continue;
    for (size_t i = 1; i < fields.size(); ++i) {
      size_t equals = fields[i].find('=');
      if (equals == std::string::npos)
        return make_error("{}: invalid psi data \"{}\"", path, fields[i]);
      std::string key = fields[i].substr(0, equals), value = fields[i].substr(equals + 1);
      auto bad_value = [&] { return make_error("{}: invalid psi value \"{}\"", path, fields[i]); };
      if (key == "total") {
        auto total = to_uint(value);
        if (!total) return bad_value();
        data->total = *total;
        continue;
      }
      double* average = key == "avg10"    ? &data->avg10
                        : key == "avg60"  ? &data->avg60
                        : key == "avg300" ? &data->avg300
                                          : nullptr;
      if (!average) continue;
      auto number = to_double(value);
      if (!number) return bad_value();
      *average = *number;
    }
  }
  return pressure;
}

// "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device. Only
// what cgroup v1's tables had is mapped (runc skips the discard counters).
Result<BlkioStats> parse_io_stat(const std::string& path, const std::string& text) {
  BlkioStats blkio;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields = fields_of(line);
    if (fields.size() < 2) continue;
    size_t colon = fields[0].find(':');
    auto major = to_uint(fields[0].substr(0, colon));
    auto minor = colon == std::string::npos ? std::nullopt : to_uint(fields[0].substr(colon + 1));
    if (!major || !minor) return make_error("{}: bad device \"{}\"", path, fields[0]);
    for (size_t i = 1; i < fields.size(); ++i) {
      size_t equals = fields[i].find('=');
      if (equals == std::string::npos) continue;
      std::string key = fields[i].substr(0, equals);
      std::vector<BlkioEntry>* table = nullptr;
      if (key == "rbytes" || key == "wbytes") table = &blkio.service_bytes;
      if (key == "rios" || key == "wios") table = &blkio.serviced;
      if (!table) continue;
      auto value = to_uint(fields[i].substr(equals + 1));
      if (!value) return make_error("{}: bad value \"{}\"", path, fields[i]);
      table->push_back({*major, *minor, key[0] == 'r' ? "Read" : "Write", *value});
    }
  }
  return blkio;
}

// The file's text, or nullopt when it is not there: its controller is not
// enabled (or, for *.pressure, PSI is off: EOPNOTSUPP).
Result<std::optional<std::string>> read_if_present(const std::string& path) {
  auto text = read_file(path);
  if (text) return std::optional<std::string>(std::move(text.value()));
  int error = text.error().errno_value();
  if (error == ENOENT || error == EOPNOTSUPP) return std::optional<std::string>();
  return text.error();
}

Result<std::map<std::string, uint64_t>> read_flat_keyed(const std::string& path,
                                                        const std::string& text) {
  auto values = parse_flat_keyed(text);
  if (!values) return values.error().add_context(path);
  return values;
}

Result<uint64_t> read_single_value(const std::string& path) {
  std::string text = TRY_VALUE(read_file(path));
  return parse_single_value(path, text);
}

Result<std::optional<Pressure>> read_pressure(const std::string& path) {
  auto text = TRY_VALUE(read_if_present(path));
  if (!text) return std::optional<Pressure>();
  return std::optional<Pressure>(TRY_VALUE(parse_pressure(path, *text)));
}

uint64_t saturating_add(uint64_t a, uint64_t b) { return a > kMax - b ? kMax : a + b; }

Status read_cpu(const std::string& dir, CpuStats& cpu) {
  std::string path = dir + "/cpu.stat";
  if (auto text = TRY_VALUE(read_if_present(path))) {
    for (const auto& [key, value] : TRY_VALUE(read_flat_keyed(path, *text))) {
      if (key == "usage_usec") cpu.total = value * 1000;
      if (key == "user_usec") cpu.user = value * 1000;
      if (key == "system_usec") cpu.kernel = value * 1000;
      if (key == "nr_periods") cpu.periods = value;
      if (key == "nr_throttled") cpu.throttled_periods = value;
      if (key == "throttled_usec") cpu.throttled = value * 1000;
    }
  }
  cpu.pressure = TRY_VALUE(read_pressure(dir + "/cpu.pressure"));
  return ok();
}

// memory.{current,max,peak} or memory.swap.{current,max,peak}; nullopt
// when the usage file is not there.
Result<std::optional<MemoryEntry>> read_memory_entry(const std::string& prefix) {
  auto current = TRY_VALUE(read_if_present(prefix + ".current"));
  if (!current) return std::optional<MemoryEntry>();
  MemoryEntry entry;
  entry.usage = TRY_VALUE(parse_single_value(prefix + ".current", *current));
  entry.limit = TRY_VALUE(read_single_value(prefix + ".max"));
  if (auto peak = TRY_VALUE(read_if_present(prefix + ".peak")))
    entry.max_usage = TRY_VALUE(parse_single_value(prefix + ".peak", *peak));
  return std::optional<MemoryEntry>(entry);
}

Status read_memory(const std::string& dir, MemoryStats& memory) {
  memory.pressure = TRY_VALUE(read_pressure(dir + "/memory.pressure"));
  std::string stat_path = dir + "/memory.stat";
  auto stat = TRY_VALUE(read_if_present(stat_path));
  if (!stat) return ok();  // no memory controller
  memory.raw = TRY_VALUE(read_flat_keyed(stat_path, *stat));
  auto file = memory.raw.find("file");
  if (file != memory.raw.end()) memory.cache = file->second;
  auto usage = TRY_VALUE(read_memory_entry(dir + "/memory"));
  if (!usage) return make_error("{}/memory.current: missing beside memory.stat", dir);
  memory.usage = *usage;
  // Without swap accounting there is no memory.swap.*: swap counts as 0.
  MemoryEntry swap_only =
      TRY_VALUE(read_memory_entry(dir + "/memory.swap")).value_or(MemoryEntry{});
  memory.swap.usage = saturating_add(swap_only.usage, memory.usage.usage);
  memory.swap.limit =
      swap_only.limit == kMax ? kMax : saturating_add(swap_only.limit, memory.usage.limit);
  // A peak of memory plus swap cannot be derived from the two peaks.
  memory.swap.max_usage = 0;
  return ok();
}

Status read_pids(const std::string& dir, PidsStats& pids) {
  if (auto current = TRY_VALUE(read_if_present(dir + "/pids.current"))) {
    pids.current = TRY_VALUE(parse_single_value(dir + "/pids.current", *current));
    uint64_t limit = TRY_VALUE(read_single_value(dir + "/pids.max"));
    pids.limit = limit == kMax ? 0 : limit;
    return ok();
  }
  // Without the pids controller: the processes in cgroup.procs, as runc
  // counts them (a threaded cgroup refuses that read, and lists threads).
  auto procs = read_file(dir + "/cgroup.procs");
  if (!procs && procs.error().errno_value() == EOPNOTSUPP)
    procs = read_file(dir + "/cgroup.threads");
  if (!procs) return procs.error();
  pids.current = static_cast<uint64_t>(std::count(procs->begin(), procs->end(), '\n'));
  pids.limit = 0;
  return ok();
}

Status read_blkio(const std::string& dir, BlkioStats& blkio) {
  std::string path = dir + "/io.stat";
  if (auto text = TRY_VALUE(read_if_present(path))) blkio = TRY_VALUE(parse_io_stat(path, *text));
  blkio.pressure = TRY_VALUE(read_pressure(dir + "/io.pressure"));
  return ok();
}

// One entry per hugetlb.<size>.current: the page sizes the kernel offers.
// hugetlb.<size>.rsvd.current (reservations, Linux 5.7) is not one.
Status read_hugetlb(const std::string& dir, std::map<std::string, HugetlbStats>& hugetlb) {
  CHandle<DIR, closedir> listing(::opendir(dir.c_str()));
  if (!listing) return sys_error("open cgroup {}", dir);
  std::vector<std::string> sizes;
  while (struct dirent* entry = ::readdir(listing.get())) {
    std::string name = entry->d_name;
    if (!name.starts_with("hugetlb.") || !name.ends_with(".current")) continue;
    std::string size = name.substr(8, name.size() - 8 - 8);
    if (size.find('.') == std::string::npos) sizes.push_back(size);
  }
  listing.reset();
  for (const std::string& size : sizes) {
    std::string prefix = dir + "/hugetlb." + size;
    HugetlbStats& stats = hugetlb[size];
    stats.usage = TRY_VALUE(read_single_value(prefix + ".current"));
    std::string events = TRY_VALUE(read_file(prefix + ".events"));
    auto counts = TRY_VALUE(read_flat_keyed(prefix + ".events", events));
    stats.failcnt = counts.count("max") ? counts["max"] : 0;
  }
  return ok();
}

// Go's encoding/json writes a float64 with no fractional part as an
// integer: 0, not 0.0.
ordered_json go_float(double value) {
  if (std::isfinite(value) && value == std::trunc(value) && std::fabs(value) < 1e15)
    return static_cast<int64_t>(value);
  return value;
}

ordered_json pressure_json(const Pressure& pressure) {
  auto data = [](const PressureData& d) {
    return ordered_json{{"avg10", go_float(d.avg10)},
                        {"avg60", go_float(d.avg60)},
                        {"avg300", go_float(d.avg300)},
                        {"total", d.total}};
  };
  return {{"some", data(pressure.some)}, {"full", data(pressure.full)}};
}

// Go's omitempty: a zero number is left out.
void put_unless_zero(ordered_json& object, const char* key, uint64_t value) {
  if (value != 0) object[key] = value;
}

ordered_json memory_entry_json(const MemoryEntry& entry) {
  ordered_json j = {{"limit", entry.limit}};
  put_unless_zero(j, "usage", entry.usage);
  put_unless_zero(j, "max", entry.max_usage);
  j["failcnt"] = 0;  // cgroup v2 has no failure counter
  return j;
}

ordered_json cpu_json(const CpuStats& cpu) {
  ordered_json usage = ordered_json::object();
  put_unless_zero(usage, "total", cpu.total);
  usage["kernel"] = cpu.kernel;
  usage["user"] = cpu.user;
  ordered_json throttling = ordered_json::object();
  put_unless_zero(throttling, "periods", cpu.periods);
  put_unless_zero(throttling, "throttledPeriods", cpu.throttled_periods);
  put_unless_zero(throttling, "throttledTime", cpu.throttled);
  ordered_json j = {{"usage", usage}, {"throttling", throttling}};
  if (cpu.pressure) j["psi"] = pressure_json(*cpu.pressure);
  return j;
}

// runc's fs2 driver reports no cpuset statistics: its zero value.
ordered_json cpuset_json() {
  ordered_json j = ordered_json::object();
  for (const char* key :
       {"cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page",
        "memory_spread_slab", "memory_pressure", "sched_load_balance", "sched_relax_domain_level"})
    j[key] = 0;
  return j;
}

ordered_json memory_json(const MemoryStats& memory) {
  ordered_json j = ordered_json::object();
  put_unless_zero(j, "cache", memory.cache);
  j["usage"] = memory_entry_json(memory.usage);
  j["swap"] = memory_entry_json(memory.swap);
  // cgroup v2 accounts kernel memory inside memory.current.
  j["kernel"] = memory_entry_json({});
  j["kernelTCP"] = memory_entry_json({});
  if (!memory.raw.empty()) j["raw"] = memory.raw;
  if (memory.pressure) j["psi"] = pressure_json(*memory.pressure);
  return j;
}

ordered_json blkio_entries_json(const std::vector<BlkioEntry>& entries) {
  ordered_json list = ordered_json::array();
  for (const BlkioEntry& entry : entries) {
    ordered_json j = ordered_json::object();
    put_unless_zero(j, "major", entry.major);
    put_unless_zero(j, "minor", entry.minor);
    if (!entry.op.empty()) j["op"] = entry.op;
    put_unless_zero(j, "value", entry.value);
    list.push_back(std::move(j));
  }
  return list;
}

ordered_json blkio_json(const BlkioStats& blkio) {
  ordered_json j = ordered_json::object();
  if (!blkio.service_bytes.empty())
    j["ioServiceBytesRecursive"] = blkio_entries_json(blkio.service_bytes);
  if (!blkio.serviced.empty()) j["ioServicedRecursive"] = blkio_entries_json(blkio.serviced);
  if (blkio.pressure) j["psi"] = pressure_json(*blkio.pressure);
  return j;
}

}  // namespace

Result<std::map<std::string, uint64_t>> parse_flat_keyed(const std::string& text) {
  std::map<std::string, uint64_t> values;
  std::istringstream lines(text);
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.empty()) continue;
    std::vector<std::string> fields = fields_of(line);
    std::optional<uint64_t> value = fields.size() == 2 ? statistic(fields[1]) : std::nullopt;
    if (!value) return make_error("line {}: expected \"key value\", got \"{}\"", number, line);
    values[fields[0]] = *value;
  }
  return values;
}

Result<CgroupStats> read_cgroup_stats(const std::string& directory) {
  CgroupStats stats;
  TRY(read_pids(directory, stats.pids));
  TRY(read_memory(directory, stats.memory));
  TRY(read_blkio(directory, stats.blkio));
  TRY(read_cpu(directory, stats.cpu));
  TRY(read_hugetlb(directory, stats.hugetlb));
  return stats;
}

nlohmann::ordered_json stats_to_json(const CgroupStats& stats) {
  ordered_json pids = ordered_json::object();
  put_unless_zero(pids, "current", stats.pids.current);
  put_unless_zero(pids, "limit", stats.pids.limit);
  ordered_json hugetlb = ordered_json::object();
  for (const auto& [size, entry] : stats.hugetlb) {
    ordered_json j = ordered_json::object();
    put_unless_zero(j, "usage", entry.usage);
    j["failcnt"] = entry.failcnt;
    hugetlb[size] = std::move(j);
  }
  return {{"cpu", cpu_json(stats.cpu)},          {"cpuset", cpuset_json()},
          {"memory", memory_json(stats.memory)}, {"pids", pids},
          {"blkio", blkio_json(stats.blkio)},    {"hugetlb", hugetlb},
          {"intel_rdt", ordered_json::object()}, {"network_interfaces", nullptr}};
}

Result<std::vector<pid_t>> cgroup_tree_pids(const std::string& directory) {
  std::vector<pid_t> pids = TRY_VALUE(cgroup_pids(directory));
  CHandle<DIR, closedir> listing(::opendir(directory.c_str()));
  if (!listing) return sys_error("open cgroup {}", directory);
  std::vector<std::string> children;
  while (struct dirent* entry = ::readdir(listing.get()))
    if (entry->d_type == DT_DIR && entry->d_name[0] != '.') children.emplace_back(entry->d_name);
  listing.reset();  // before descending: one directory open at a time
  std::sort(children.begin(), children.end());
  for (const std::string& child : children) {
    auto below = cgroup_tree_pids(directory + "/" + child);
    if (!below) {
      if (below.error().errno_value() == ENOENT) continue;
      return below.error();
    }
    pids.insert(pids.end(), below->begin(), below->end());
  }
  return pids;
}

}  // namespace berth::linux
