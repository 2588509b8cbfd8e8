#include "launcher/network/netfilter_socket.h"

#include <sys/socket.h>

namespace berth::network {

Result<MnlSocket> open_netfilter_socket(const std::string& name) {
  MnlSocket socket(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
  if (!socket) return sys_error("open {}", name);
  if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0) return sys_error("bind {}", name);
  return socket;
}

}  // namespace berth::network
