// Host ports for published container ports. DNAT alone reserves nothing: a
// host process could still bind the port and have its traffic silently
// taken. So each published port is held by a bound (never listening) socket
// for the container's lifetime, by the process that supervises it: the bind
// is also the check that the port is free, and port 0 lets the kernel pick
// a free one (`-p CTRPORT`). Packets to it are DNATed before the socket
// lookup, so the placeholder never sees any.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"
#include "launcher/network/address.h"
#include "launcher/network/nft.h"

namespace berth::network {

// What -p asked for: host_port 0 is "any free port".
struct PortRequest {
  std::optional<Ipv4> host_ip;
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  Protocol protocol = Protocol::Tcp;
  auto operator<=>(const PortRequest&) const = default;
};

struct ReservedPort {
  PortRequest request;  // host_port is the one bound
  UniqueFd socket;
};

// Binds every request (close-on-exec sockets); the first that fails is an
// error naming the address and port, and none stays bound.
Result<std::vector<ReservedPort>> reserve_host_ports(const std::vector<PortRequest>& requests);

// Docker's notation: "8888/tcp -> 0.0.0.0:8888".
std::string describe_mapping(const PortMapping& mapping);

}  // namespace berth::network
