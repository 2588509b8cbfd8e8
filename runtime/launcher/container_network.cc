#include "launcher/container_network.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "core/files.h"
#include "core/strings.h"
#include "launcher/network/leases.h"
#include "launcher/network/link.h"

namespace berth::launcher {

namespace {

// Docker's /etc/hosts for a container of its own network namespace.
std::string hosts_file(const std::string& address, const std::string& hostname) {
  std::string text =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\n"
      "ff02::1\tip6-allnodes\n"
      "ff02::2\tip6-allrouters\n";
  if (!address.empty()) text += address + "\t" + hostname + "\n";
  return text;
}

bool loopback_nameserver(const std::string& line) {
  std::istringstream words(line);
  std::string keyword, address;
  words >> keyword >> address;
  return keyword == "nameserver" &&
         (address.rfind("127.", 0) == 0 || address == "::1" || address == "0.0.0.0");
}

// The host's resolv.conf, as Docker gives it to a bridge container: a
// loopback nameserver (a local stub resolver such as systemd-resolved's
// 127.0.0.53) cannot be reached from the container's namespace, so it is
// left out; where that leaves none, systemd-resolved's upstream list is
// used if there is one. Docker would then add public resolvers; berth adds
// none and says so in the file.
std::string container_resolv_conf() {
  auto host = read_file("/etc/resolv.conf");
  std::string text;
  bool has_nameserver = false;
  for (const std::string& line : split(host ? *host : std::string(), '\n')) {
    if (line.empty()) continue;
    if (loopback_nameserver(line)) continue;
    has_nameserver |= line.rfind("nameserver", 0) == 0;
    text += line + "\n";
  }
  if (has_nameserver) return text;
  if (auto upstream = read_file("/run/systemd/resolve/resolv.conf")) return *upstream;
  return text + "# berth: the host's resolv.conf names no nameserver a container can reach\n";
}

network::BridgeNetwork record_bridge(const ContainerRecord& record) {
  network::BridgeNetwork bridge;
  bridge.bridge = record.bridge;
  bridge.lease_dir = record.lease_dir;
  return bridge;
}

}  // namespace

Result<NetworkPlan> plan_network(const RunOptions& options, const nlohmann::json& image_config) {
  NetworkPlan plan;
  plan.mode = options.network;
  if (plan.mode != "bridge" && plan.mode != "none" && plan.mode != "host")
    return make_error("--network {}: not supported (bridge, none or host)", options.network);
  std::vector<network::PortRequest> requests;
  for (const std::string& flag : options.publish)
    requests.push_back(TRY_VALUE(parse_publish(flag)));
  if (options.publish_all)
    for (auto& request : TRY_VALUE(exposed_port_requests(image_config, requests)))
      requests.push_back(request);
  if (plan.mode != "bridge") {
    // Docker refuses -p with none; with host it discards the ports with a
    // warning, which hides a mistake: berth refuses both.
    if (!options.publish.empty())
      return make_error("-p {}: ports can be published only with --network bridge, not {}",
                        options.publish.front(), plan.mode);
    return plan;
  }
  plan.bridge = TRY_VALUE(network::bridge_network(options.bridge, options.subnet));
  // Published ports reached from other machines and the containers' own
  // traffic out are forwarded; the setting is host-wide, so say so. Here,
  // on the caller's stderr: a -d monitor's stderr is the container's log.
  if (TRY_VALUE(network::enable_ipv4_forwarding()))
    fmt::print(stderr, "berth: turned on IPv4 forwarding (net.ipv4.ip_forward=1) for {}\n",
               plan.bridge.bridge);
  for (size_t i = 0; i < requests.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (requests[i].host_port != 0 && requests[i].host_port == requests[j].host_port &&
          requests[i].protocol == requests[j].protocol &&
          (!requests[i].host_ip || !requests[j].host_ip ||
           *requests[i].host_ip == *requests[j].host_ip))
        return make_error("-p: host port {}/{} is published twice", requests[i].host_port,
                          network::to_string(requests[i].protocol));
  auto reserved = network::reserve_host_ports(requests);
  if (!reserved) return reserved.error().add_context("-p");
  plan.reserved = std::move(reserved.value());
  return plan;
}

Result<std::vector<std::pair<std::string, std::string>>> write_network_files(
    const std::string& dir, const std::string& mode, const std::string& hostname) {
  std::vector<std::pair<std::string, std::string>> files = {
      {dir + "/hostname", "/etc/hostname"},
      {dir + "/hosts", "/etc/hosts"},
      {dir + "/resolv.conf", "/etc/resolv.conf"}};
  TRY(write_file(files[0].first, hostname + "\n"));
  if (mode == "host") {
    // The host's own, as Docker gives a --network host container.
    auto hosts = read_file("/etc/hosts");
    auto resolv = read_file("/etc/resolv.conf");
    TRY(write_file(files[1].first, hosts ? *hosts : hosts_file("", hostname)));
    TRY(write_file(files[2].first, resolv ? *resolv : std::string()));
  } else {
    TRY(write_file(files[1].first, hosts_file("", hostname)));
    TRY(write_file(files[2].first, mode == "bridge" ? container_resolv_conf() : std::string()));
  }
  return files;
}

Status connect_network(const NetworkPlan& plan, const std::string& dir, pid_t init_pid,
                       const std::string& hostname, ContainerRecord& record) {
  record.network = plan.mode;
  if (plan.mode != "bridge") return ok();
  auto netns = TRY_VALUE(open_file(fmt::format("/proc/{}/ns/net", init_pid), O_RDONLY));
  std::vector<network::PortRequest> requests;
  for (const network::ReservedPort& reserved : plan.reserved) requests.push_back(reserved.request);
  auto connection =
      network::connect_container(plan.bridge, record.id, netns.get(), init_pid, requests);
  if (!connection) return connection.error().add_context("connect to bridge " + plan.bridge.bridge);
  record.bridge = plan.bridge.bridge;
  record.lease_dir = plan.bridge.lease_dir;
  record.ip_address = connection->address.to_string();
  record.gateway = connection->gateway.to_string();
  record.prefix_length = connection->prefix_length;
  record.ports = connection->ports;
  // In place, not renamed: create has already bind-mounted it, by inode.
  return write_file(dir + "/hosts", hosts_file(record.ip_address, hostname));
}

Status disconnect_network(const ContainerRecord& record) {
  if (record.network != "bridge" || record.bridge.empty()) return ok();
  return network::disconnect_container(record_bridge(record), record.id);
}

Result<std::vector<std::string>> reap_network(const std::string& bridge,
                                              const std::string& subnet) {
  auto network = TRY_VALUE(network::bridge_network(bridge, subnet));
  return network::reap_stale_leases(network);
}

}  // namespace berth::launcher
