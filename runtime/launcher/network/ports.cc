#include "launcher/network/ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace berth::network {

namespace {

std::string host_side(const std::optional<Ipv4>& ip, uint16_t port) {
  return fmt::format("{}:{}", ip ? ip->to_string() : "0.0.0.0", port);
}

Result<ReservedPort> reserve(const PortRequest& request) {
  int type = request.protocol == Protocol::Tcp ? SOCK_STREAM : SOCK_DGRAM;
  UniqueFd socket(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!socket) return sys_error("socket for host port {}", request.host_port);
  struct sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(request.host_port);
  address.sin_addr.s_addr = request.host_ip ? request.host_ip->network_order() : INADDR_ANY;
  const std::string where = host_side(request.host_ip, request.host_port);
  if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    if (errno == EADDRINUSE)
      return Error(fmt::format("host port {}/{} is already in use (bind {}: {})", where,
                               to_string(request.protocol), where, std::strerror(EADDRINUSE)),
                   EADDRINUSE);
    if (errno == EADDRNOTAVAIL)
      return Error(fmt::format("{} is not an address of this host (bind {}: {})",
                               request.host_ip ? request.host_ip->to_string() : "0.0.0.0", where,
                               std::strerror(EADDRNOTAVAIL)),
                   EADDRNOTAVAIL);
    return sys_error("bind {}/{}", where, to_string(request.protocol));
  }
  ReservedPort reserved{request, std::move(socket)};
  if (request.host_port == 0) {
    socklen_t length = sizeof address;
    if (::getsockname(reserved.socket.get(), reinterpret_cast<sockaddr*>(&address), &length) < 0)
      return sys_error("getsockname of the port chosen for {}", where);
    reserved.request.host_port = ntohs(address.sin_port);
  }
  return reserved;
}

}  // namespace

Result<std::vector<ReservedPort>> reserve_host_ports(const std::vector<PortRequest>& requests) {
  std::vector<ReservedPort> reserved;
  for (const PortRequest& request : requests) reserved.push_back(TRY_VALUE(reserve(request)));
  return reserved;
}

std::string describe_mapping(const PortMapping& mapping) {
  return fmt::format("{}/{} -> {}", mapping.container_port, to_string(mapping.protocol),
                     host_side(mapping.host_ip, mapping.host_port));
}

}  // namespace berth::network
