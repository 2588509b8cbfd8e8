// The bridge network as the tests look at it: the lease file of a network
// namespace, its links, and the elements of berth's nftables maps.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace berth::test {

// The bridge network's lease file of the network namespace netns_fd (-1:
// ours), its leases, and the removal of its directory once it holds none
// (a namespace a test made goes with the test; its directory under /run
// must too).
std::string lease_file(int netns_fd);
nlohmann::json leases_in(int netns_fd);
void remove_empty_lease_dir(int netns_fd);

// The names of the links of netns_fd (-1: ours), without "@peer".
std::vector<std::string> link_names(int netns_fd);
// The nftables tables of netns_fd as "FAMILY NAME" ("ip berth0").
std::vector<std::string> nft_tables(int netns_fd);
// Every element of every map of `table ip TABLE` in netns_fd, each as
// "MAP: ELEMENT-JSON"; none without the table.
std::vector<std::string> nft_map_elements(int netns_fd, const std::string& table = "berth0");

}  // namespace berth::test
