#include "launcher/network/bridge.h"

#include <algorithm>

#include "core/defer.h"
#include "linux/process.h"
#include "launcher/network/link.h"

namespace berth::network {

namespace {

bool same_host_port(const PortRequest& request, const PortMapping& mapping) {
  // 0.0.0.0:P and A:P both take P on A.
  return request.protocol == mapping.protocol && request.host_port == mapping.host_port &&
         (!request.host_ip || !mapping.host_ip || *request.host_ip == *mapping.host_ip);
}

// Under the lock: the stale leases' DNAT elements and the leases go, then
// host-side veths no live lease names (a veth is normally gone with its
// netns; one can stay if its container's namespace outlived a crash of the
// connect step, e.g. held open by a process that joined it).
Result<std::vector<std::string>> reap_locked(const BridgeNetwork& network, LeaseFile& file) {
  std::vector<std::string> reaped;
  auto& leases = file.leases();
  for (auto it = leases.begin(); it != leases.end();) {
    if (lease_owner_alive(*it)) {
      ++it;
      continue;
    }
    TRY_CTX(remove_port_mappings(network.bridge, it->ports), "reap the stale lease of {}",
            it->container_id);
    reaped.push_back(it->container_id);
    it = leases.erase(it);
  }
  if (!reaped.empty()) TRY(file.save());
  auto ports = TRY_VALUE(bridge_ports(network.bridge));
  for (const std::string& port : ports) {
    if (port.rfind("vb-", 0) != 0) continue;  // not one of ours
    bool named = std::any_of(leases.begin(), leases.end(), [&](const Lease& lease) {
      return host_interface_name(lease.container_id) == port;
    });
    if (!named) TRY_CTX(delete_link(port), "reap the stale veth {}", port);
  }
  return reaped;
}

}  // namespace

Result<BridgeNetwork> bridge_network(const std::string& bridge, const std::string& subnet) {
  BridgeNetwork network;
  network.bridge = bridge.empty() ? kDefaultBridge : bridge;
  // IFNAMSIZ is 16 with the NUL; nftables table names have no such limit.
  if (network.bridge.size() > 15 || network.bridge.find_first_of("/ \t\n:") != std::string::npos)
    return make_error(
        "bridge name \"{}\": must be at most 15 characters, without '/', ':' or spaces",
        network.bridge);
  network.subnet = TRY_VALUE(Ipv4Subnet::parse(subnet.empty() ? kDefaultSubnet : subnet));
  network.lease_dir = TRY_VALUE(default_lease_dir());
  return network;
}

std::string host_interface_name(const std::string& container_id) {
  return "vb-" + container_id.substr(0, 12);
}

Result<Connection> connect_container(const BridgeNetwork& network, const std::string& container_id,
                                     int netns_fd, pid_t owner_pid,
                                     const std::vector<PortRequest>& ports) {
  auto file = TRY_VALUE(LeaseFile::open(network.lease_dir, network.bridge));
  TRY(reap_locked(network, file));
  // A live container whose supervisor died holds its DNAT but no longer its
  // placeholder socket: the bind succeeded, the lease still says no.
  for (const PortRequest& request : ports)
    for (const Lease& lease : file.leases())
      for (const PortMapping& mapping : lease.ports)
        if (same_host_port(request, mapping))
          return make_error("host port {} is already published by container {}",
                            describe_mapping(mapping), lease.container_id.substr(0, 12));

  Connection connection;
  TRY(ensure_bridge({network.bridge, network.subnet}));
  TRY(ensure_nat_table(network.bridge, network.subnet));
  connection.address = TRY_VALUE(file.free_address(network.subnet));
  connection.gateway = network.subnet.gateway();
  connection.prefix_length = network.subnet.prefix_length;
  connection.host_interface = host_interface_name(container_id);

  TRY(add_container_veth(network.bridge, connection.host_interface, netns_fd, kContainerInterface));
  Defer remove_veth([&] { (void)delete_link(connection.host_interface); });
  TRY(configure_container_link(netns_fd, kContainerInterface, connection.address,
                               connection.prefix_length, connection.gateway));
  for (const PortRequest& request : ports)
    connection.ports.push_back({request.host_ip, request.host_port, connection.address,
                                request.container_port, request.protocol});
  TRY(add_port_mappings(network.bridge, connection.ports));
  Defer remove_ports([&] { (void)remove_port_mappings(network.bridge, connection.ports); });

  Lease lease;
  lease.container_id = container_id;
  lease.address = connection.address;
  lease.owner_pid = owner_pid;
  lease.owner_start_time = linux::process_start_time(owner_pid);
  if (lease.owner_start_time == 0)
    return make_error("the container's init (pid {}) exited before its network was set up",
                      owner_pid);
  lease.ports = connection.ports;
  file.leases().push_back(lease);
  TRY_CTX(file.save(), "save the lease of {}", connection.address.to_string());
  remove_ports.release();
  remove_veth.release();
  return connection;
}

Status disconnect_container(const BridgeNetwork& network, const std::string& container_id) {
  auto file = TRY_VALUE(LeaseFile::open(network.lease_dir, network.bridge));
  auto& leases = file.leases();
  auto it = std::find_if(leases.begin(), leases.end(),
                         [&](const Lease& lease) { return lease.container_id == container_id; });
  if (it == leases.end()) return ok();
  TRY_CTX(remove_port_mappings(network.bridge, it->ports), "unpublish the ports of {}",
          container_id);
  leases.erase(it);
  return file.save();
}

Result<std::vector<std::string>> reap_stale_leases(const BridgeNetwork& network) {
  auto file = TRY_VALUE(LeaseFile::open(network.lease_dir, network.bridge));
  return reap_locked(network, file);
}

Result<std::vector<Lease>> list_leases(const BridgeNetwork& network) {
  auto file = TRY_VALUE(LeaseFile::open(network.lease_dir, network.bridge));
  return file.leases();
}

}  // namespace berth::network
