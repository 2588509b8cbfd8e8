// The kernel's connection tracking table, through ctnetlink (libmnl).
// Needed because conntrack remembers a UDP "connection" made before a DNAT
// rule existed and keeps sending its packets where they went before: after
// publishing or unpublishing a UDP port its entries must go.
#pragma once

#include <cstdint>
#include <vector>

#include "core/error.h"

struct mnl_socket;

namespace berth::network {

// Deletes the calling thread's netns's IPv4 UDP conntrack entries whose
// original-direction destination port is one of `ports`. Entries that
// vanish meanwhile are not an error.
Status flush_udp_conntrack(const std::vector<uint16_t>& ports);

// The same over `socket`, a bound NETLINK_NETFILTER socket with no replies
// pending (nft_elements.cc passes its kept one: closing a socket of that
// protocol right after a transaction that deleted map elements waits for
// the kernel's deferred release of it, measured ~10 ms).
Status flush_udp_conntrack(mnl_socket* socket, const std::vector<uint16_t>& ports);

}  // namespace berth::network
