// berth's nftables table (never by running `nft`): made and deleted through
// libnftables, looked up and its map elements changed and listed over
// netlink with libnftnl (nft_netlink.h says why). One table per bridge,
// family ip, named after the bridge, holding
//   - the DNAT of published ports, as elements of four maps (tcp/udp, each
//     for "every local address" and for "one host address"), so that
//     publishing and unpublishing never touch rules;
//   - masquerade for the host's loopback to the bridge, for hairpin and for
//     the subnet's outbound traffic;
//   - the forward policy for the bridge (established, DNATed and
//     container-originated traffic pass; other traffic to it is dropped);
//   - the CVE-2020-8558 guard: a raw-priority prerouting drop of packets
//     to 127.0.0.0/8 that did not arrive on lo, which route_localnet on the
//     bridge would otherwise let containers send to the host's
//     127.0.0.1-only services.
// ../shared/docs/NETWORK-NOTES.md has the shape as measured here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "launcher/network/address.h"

namespace berth::network {

enum class Protocol { Tcp, Udp };
const char* to_string(Protocol protocol);  // "tcp", "udp"

// One published port: traffic to host_ip:host_port (every local address
// when host_ip is empty) goes to container_ip:container_port.
struct PortMapping {
  std::optional<Ipv4> host_ip;
  uint16_t host_port = 0;
  Ipv4 container_ip;
  uint16_t container_port = 0;
  Protocol protocol = Protocol::Tcp;
  auto operator<=>(const PortMapping&) const = default;
};

// Creates the bridge's table with its chains, maps and rules if it does
// not exist; an existing one is left as it is (its elements belong to
// running containers). Callers serialise calls (the lease file's lock).
Status ensure_nat_table(const std::string& bridge, const Ipv4Subnet& subnet);

// Adds the mappings' map elements in one transaction: all or none. UDP
// conntrack entries for the host ports are flushed, since an entry made
// before the DNAT existed would keep bypassing it.
Status add_port_mappings(const std::string& bridge, const std::vector<PortMapping>& mappings);

// Removes the mappings' map elements; ones already gone are not an error.
// UDP conntrack entries for the host ports are flushed.
Status remove_port_mappings(const std::string& bridge, const std::vector<PortMapping>& mappings);

// The table's current map elements (empty if there is no table).
Result<std::vector<PortMapping>> list_port_mappings(const std::string& bridge);

// Deletes the bridge's table; one that is missing is not an error.
Status delete_nat_table(const std::string& bridge);

}  // namespace berth::network
