// The links of the bridge network, made over rtnetlink with libnl-route-3
// (never by running `ip`): the host bridge, a veth pair per container whose
// peer is created directly inside the container's network namespace, and
// the peer's configuration, done over a netlink socket opened inside that
// namespace. Teardown is the namespace's: when the container's last process
// exits the kernel removes the veth pair (deleting a veth explicitly costs
// ~36 ms, letting the netns go ~2 ms; see ../shared/docs/NETWORK-NOTES.md).
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "launcher/network/address.h"

namespace berth::network {

struct BridgeSpec {
  std::string name;    // e.g. "berth0"
  Ipv4Subnet subnet;   // the bridge gets subnet.gateway()/prefix
};

// Creates the bridge if it is missing, gives it the gateway address if it
// does not have it, turns off IPv6 address generation on it (no link-local
// chatter), brings it up, and sets route_localnet on it (needed to DNAT the
// host's 127.0.0.1 to a container). An existing link of that name that is
// not a bridge, a subnet that overlaps an IPv4 address or a (non-default)
// main-table route of another link, or a bridge that already has another
// IPv4 address (its subnet was changed) is an error naming both; overlaps
// are checked before anything is created. Cheap when all is in place (one
// link lookup, an address and a route dump, a /proc read: ~50 us).
Status ensure_bridge(const BridgeSpec& bridge);

// Creates the veth pair host_name <-> container_name with the peer made
// directly in the network namespace netns_fd; the host end is enslaved to
// bridge, has hairpin mode on (a container can reach its own published
// ports through the host), no IPv6 address generation, and is up. A name
// already taken on either side is an error and leaves that link alone; a
// failure after the pair was made deletes it. netns_fd stays the caller's.
Status add_container_veth(const std::string& bridge, const std::string& host_name,
                          int netns_fd, const std::string& container_name);

// Inside netns_fd, over a netlink socket opened there from a short-lived
// thread (the calling thread never changes namespace): lo up;
// container_name gets address/prefix_length, no IPv6 address generation,
// and is brought up; default route via gateway.
Status configure_container_link(int netns_fd, const std::string& container_name, Ipv4 address,
                                int prefix_length, Ipv4 gateway);

// The names of the links enslaved to bridge (empty if there is no bridge).
Result<std::vector<std::string>> bridge_ports(const std::string& bridge);

// Deletes a link of the host's namespace; one that is gone is not an error.
Status delete_link(const std::string& name);

// Sets /proc/sys/net/ipv4/ip_forward to 1 if it is not. Returns whether it
// changed it (the caller says so: it is a host-wide setting).
Result<bool> enable_ipv4_forwarding();

}  // namespace berth::network
