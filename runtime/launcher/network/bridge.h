// The bridge network's verbs, as the launcher uses them: connect a created
// container (its init waiting for start) to the bridge with its published
// ports, disconnect it when it is finished, and reap what containers that
// ended without being finished left (a killed monitor, a crash). Every step
// runs under the bridge's lease file lock, so concurrent `berth` commands
// see one consistent set of addresses, links and DNAT elements.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "launcher/network/address.h"
#include "launcher/network/leases.h"
#include "launcher/network/nft.h"
#include "launcher/network/ports.h"

namespace berth::network {

constexpr const char* kDefaultBridge = "berth0";
// Not 10.88.0.0/16: podman's default network, which may run on the same host.
constexpr const char* kDefaultSubnet = "10.87.0.0/16";
constexpr const char* kContainerInterface = "eth0";

struct BridgeNetwork {
  std::string bridge = kDefaultBridge;
  Ipv4Subnet subnet;
  std::string lease_dir;  // default_lease_dir()
};
// The default bridge, subnet and lease directory, or the given ones.
Result<BridgeNetwork> bridge_network(const std::string& bridge, const std::string& subnet);

struct Connection {
  Ipv4 address;
  Ipv4 gateway;
  int prefix_length = 0;
  std::vector<PortMapping> ports;
  std::string host_interface;  // the veth's host end
};

// Gives the container whose network namespace is netns_fd an address, a
// veth pair to the bridge (eth0 inside) and the DNAT of ports; the lease
// belongs to owner_pid (the container's init). On failure nothing of it is
// left: no lease, no DNAT element, no host-side veth.
Result<Connection> connect_container(const BridgeNetwork& network, const std::string& container_id,
                                     int netns_fd, pid_t owner_pid,
                                     const std::vector<PortRequest>& ports);

// Removes the container's DNAT elements and lease; its veth went with its
// network namespace. A container without a lease is fine.
Status disconnect_container(const BridgeNetwork& network, const std::string& container_id);

// Disconnects every lease whose owner is gone, and deletes host-side veths
// on the bridge that no lease names; returns the container ids reaped.
Result<std::vector<std::string>> reap_stale_leases(const BridgeNetwork& network);

// The current leases (a snapshot, read under the lock).
Result<std::vector<Lease>> list_leases(const BridgeNetwork& network);

// The host end of a container's veth: "vb-" and the id's first 12 characters.
std::string host_interface_name(const std::string& container_id);

}  // namespace berth::network
