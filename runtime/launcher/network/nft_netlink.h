// What nft.cc (the table, through libnftables) and nft_elements.cc (the
// map elements and the table's existence, over netlink with libnftnl) share.
// Internal to berth_network.
//
// Why two paths: libnftables fills its cache before every command, and
// that cache holds every table's rules in the netns. Next to another table
// of 2000 rules (a host with podman's or docker's iptables-nft rules) an
// existence check cost ~20 ms and publishing a port a few ms more, against
// ~0 in an empty netns. A single-object netlink request costs the same
// whatever else is in the ruleset, so the hot paths (existence, publish,
// unpublish, list) speak netlink directly; only creating and deleting the
// table, once per boot, keep nft's language.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>

#include "core/error.h"

namespace berth::network::detail {

// The table is named after the bridge and the name is pasted into nft's
// language: allow only what an interface name normally holds.
Status check_bridge_name(const std::string& bridge);

// The calling thread's netns (device and inode of /proc/thread-self/ns/net),
// the key under which per-netns sockets are kept.
Result<std::pair<dev_t, ino_t>> this_netns();

// Whether table `ip <bridge>` exists: one NFT_MSG_GETTABLE.
Result<bool> nat_table_exists(const std::string& bridge);

}  // namespace berth::network::detail
