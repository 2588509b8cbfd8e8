#include "support/network.h"

#include <sys/stat.h>
#include <unistd.h>

#include "support/files.h"
#include "support/process.h"

namespace berth::test {

std::string lease_file(int netns_fd) {
  struct stat netns = {};
  if (netns_fd >= 0 ? ::fstat(netns_fd, &netns) : ::stat("/proc/self/ns/net", &netns)) return "";
  return "/run/berth-network/net-" + std::to_string(netns.st_ino) + "/berth0.json";
}

nlohmann::json leases_in(int netns_fd) {
  using nlohmann::json;
  std::string path = lease_file(netns_fd);
  if (path.empty() || !path_exists(path)) return json::array();
  json leases = json::parse(read_file(path), nullptr, false);
  return leases.is_object() ? leases.value("leases", json::array()) : json::array();
}

void remove_empty_lease_dir(int netns_fd) {
  std::string file = lease_file(netns_fd);
  if (file.empty() || !leases_in(netns_fd).empty()) return;
  std::string dir = file.substr(0, file.rfind('/'));
  for (const std::string& name : list_dir(dir)) ::unlink((dir + "/" + name).c_str());
  ::rmdir(dir.c_str());
}

std::vector<std::string> link_names(int netns_fd) {
  std::vector<std::string> names;
  ProcessResult links = run_process({"/usr/sbin/ip", "-o", "link", "show"}, {.netns_fd = netns_fd});
  for (const std::string& line : split_lines(links.out)) {
    // "5: vb-0123456789ab@if4: <BROADCAST,..."
    size_t start = line.find(": ");
    if (start == std::string::npos) continue;
    start += 2;
    size_t end = line.find_first_of("@:", start);
    names.push_back(line.substr(start, end - start));
  }
  return names;
}

std::vector<std::string> nft_tables(int netns_fd) {
  std::vector<std::string> tables;
  ProcessResult listed = run_process({"/usr/sbin/nft", "list", "tables"}, {.netns_fd = netns_fd});
  for (const std::string& line : split_lines(listed.out))
    if (line.rfind("table ", 0) == 0) tables.push_back(line.substr(6));
  return tables;
}

std::vector<std::string> nft_map_elements(int netns_fd, const std::string& table) {
  using nlohmann::json;
  std::vector<std::string> elements;
  ProcessResult listed =
      run_process({"/usr/sbin/nft", "-j", "list", "table", "ip", table}, {.netns_fd = netns_fd});
  if (!listed.succeeded()) return elements;  // no table: nothing published
  json ruleset = json::parse(listed.out, nullptr, false);
  if (!ruleset.is_object()) return elements;
  for (const json& item : ruleset.value("nftables", json::array())) {
    if (!item.contains("map")) continue;
    for (const json& element : item["map"].value("elem", json::array()))
      elements.push_back(item["map"].value("name", "") + ": " + element.dump());
  }
  return elements;
}

}  // namespace berth::test
