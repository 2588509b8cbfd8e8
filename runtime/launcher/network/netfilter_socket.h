// The one owner of a NETLINK_NETFILTER socket (libmnl), shared by the two
// subsystems of that protocol berth speaks: nf_tables (nft_elements.cc's
// map elements) and ctnetlink (conntrack.cc). Internal to berth_network.
#pragma once

#include <libmnl/libmnl.h>

#include <string>

#include "core/c_handle.h"
#include "core/error.h"

namespace berth::network {

using MnlSocket = CHandle<mnl_socket, mnl_socket_close>;

// A close-on-exec NETLINK_NETFILTER socket in the calling thread's netns,
// bound with a port id the kernel picks. `name` ("a ctnetlink socket")
// says what it is for in errors: "open a ctnetlink socket: ...".
Result<MnlSocket> open_netfilter_socket(const std::string& name);

}  // namespace berth::network
