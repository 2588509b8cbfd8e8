#include "launcher/network/leases.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "linux/process.h"

namespace berth::network {

namespace {

using nlohmann::json;

constexpr const char* kLeaseRoot = "/run/berth-network";

Result<std::vector<Lease>> parse_leases(const std::string& path, const std::string& text) {
  std::vector<Lease> leases;
  try {
    // Named: a range-for over a member of a temporary would dangle.
    const json document = json::parse(text);
    for (const json& entry : document.at("leases")) {
      Lease lease;
      lease.container_id = entry.at("container_id").get<std::string>();
      lease.address = TRY_VALUE(Ipv4::parse(entry.at("address").get<std::string>()));
      lease.owner_pid = entry.at("owner_pid").get<pid_t>();
      lease.owner_start_time = entry.at("owner_start_time").get<unsigned long long>();
      for (const json& port : entry.value("ports", json::array()))
        lease.ports.push_back(TRY_VALUE(port_mapping_from_json(port)));
      leases.push_back(std::move(lease));
    }
  } catch (const json::exception& error) {
    return make_error("lease file {} is damaged: {} (remove it if no berth container runs)", path,
                      error.what());
  }
  return leases;
}

}  // namespace

json port_mapping_to_json(const PortMapping& mapping) {
  return {{"host_ip", mapping.host_ip ? mapping.host_ip->to_string() : ""},
          {"host_port", mapping.host_port},
          {"container_ip", mapping.container_ip.to_string()},
          {"container_port", mapping.container_port},
          {"protocol", to_string(mapping.protocol)}};
}

Result<PortMapping> port_mapping_from_json(const json& j) {
  PortMapping mapping;
  try {
    const std::string host_ip = j.at("host_ip").get<std::string>();
    if (!host_ip.empty()) mapping.host_ip = TRY_VALUE(Ipv4::parse(host_ip));
    mapping.host_port = j.at("host_port").get<uint16_t>();
    mapping.container_ip = TRY_VALUE(Ipv4::parse(j.at("container_ip").get<std::string>()));
    mapping.container_port = j.at("container_port").get<uint16_t>();
    const std::string protocol = j.at("protocol").get<std::string>();
    if (protocol != "tcp" && protocol != "udp")
      return make_error("port mapping {}: unknown protocol", j.dump());
    mapping.protocol = protocol == "udp" ? Protocol::Udp : Protocol::Tcp;
  } catch (const json::exception& error) {
    return make_error("port mapping {}: {}", j.dump(), error.what());
  }
  return mapping;
}

bool lease_owner_alive(const Lease& lease) {
  if (lease.owner_pid <= 0) return false;
  bool zombie = false;
  unsigned long long start_time = linux::process_start_time(lease.owner_pid, &zombie);
  return start_time != 0 && start_time == lease.owner_start_time && !zombie;
}

Result<std::string> default_lease_dir() {
  struct stat netns = {};
  if (::stat("/proc/self/ns/net", &netns) < 0) return sys_error("stat /proc/self/ns/net");
  return fmt::format("{}/net-{}", kLeaseRoot, static_cast<unsigned long long>(netns.st_ino));
}

Result<LeaseFile> LeaseFile::open(const std::string& dir, const std::string& bridge) {
  TRY_CTX(make_directories(dir, 0700), "lease directory");
  auto lock = TRY_VALUE(lock_file(dir + "/" + bridge + ".lock", O_RDWR | O_CREAT));
  LeaseFile file(std::move(lock), dir + "/" + bridge + ".json");
  auto text = read_file(file.path_);
  if (!text) {
    if (text.error().errno_value() == ENOENT) return file;
    return text.error();
  }
  file.leases_ = TRY_VALUE(parse_leases(file.path_, *text));
  return file;
}

Result<Ipv4> LeaseFile::free_address(const Ipv4Subnet& subnet) const {
  for (uint32_t value = subnet.gateway().value + 1; value < subnet.broadcast().value; ++value) {
    if (std::none_of(leases_.begin(), leases_.end(),
                     [&](const Lease& lease) { return lease.address.value == value; }))
      return Ipv4{value};
  }
  return make_error("no free address left in {} ({} leases in {})", subnet.to_string(),
                    leases_.size(), path_);
}

Status LeaseFile::save() const {
  json leases = json::array();
  for (const Lease& lease : leases_) {
    json ports = json::array();
    for (const PortMapping& mapping : lease.ports) ports.push_back(port_mapping_to_json(mapping));
    leases.push_back({{"container_id", lease.container_id},
                      {"address", lease.address.to_string()},
                      {"owner_pid", lease.owner_pid},
                      {"owner_start_time", lease.owner_start_time},
                      {"ports", ports}});
  }
  return write_file_atomic(path_, json{{"leases", leases}}.dump(2) + "\n", 0600);
}

}  // namespace berth::network
