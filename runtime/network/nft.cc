#include "network/nft.h"

#include <nftables/libnftables.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "network/conntrack.h"

namespace berth::network {

const char* to_string(Protocol protocol) { return protocol == Protocol::Tcp ? "tcp" : "udp"; }

namespace {

using nlohmann::json;

struct ContextFreer {
  void operator()(nft_ctx* context) const { nft_ctx_free(context); }
};

// A libnftables context and its netlink socket, which belongs to the
// network namespace of the thread that opened it.
class Nft {
 public:
  static Result<Nft> open() {
    std::unique_ptr<nft_ctx, ContextFreer> context(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!context) return make_error("nftables: nft_ctx_new failed");
    if (nft_ctx_buffer_output(context.get()) != 0 || nft_ctx_buffer_error(context.get()) != 0)
      return make_error("nftables: cannot buffer libnftables' output");
    return Nft(std::move(context));
  }

  // Runs `commands` (one netlink batch, so one transaction: all or none)
  // and returns what nft printed. `what` names the step for the error.
  Result<std::string> run(const std::string& commands, const std::string& what, bool json_output) {
    nft_ctx_output_set_flags(context_.get(), json_output ? NFT_CTX_OUTPUT_JSON : 0);
    int result = nft_run_cmd_from_buffer(context_.get(), commands.c_str());
    std::string output = nft_ctx_get_output_buffer(context_.get());
    std::string errors = nft_ctx_get_error_buffer(context_.get());
    if (result != 0) return make_error("{}: {}", what, error_lines(errors));
    return output;
  }

 private:
  explicit Nft(std::unique_ptr<nft_ctx, ContextFreer> context) : context_(std::move(context)) {}

  // nft's errors are its "Error: ..." lines followed by the command and a
  // caret line under the culprit; keep the error lines and the commands,
  // one message on one line.
  static std::string error_lines(const std::string& errors) {
    std::istringstream in(errors);
    std::string line, joined;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \t^~") == std::string::npos) continue;
      if (line.rfind("Error: ", 0) == 0) line = line.substr(7);
      if (!joined.empty()) joined += "; ";
      joined += line;
    }
    return joined.empty() ? "libnftables failed without saying why" : joined;
  }

  std::unique_ptr<nft_ctx, ContextFreer> context_;
};

// The calling thread's context for the netns it is in. Contexts are kept:
// measured here, nft_ctx_free after a commit that deleted elements took
// 7-15 ms (closing the socket waits for the kernel's deferred release of
// the transaction), while each command took under 0.5 ms. A kept context
// pins its netns; the key is the netns's inode, which cannot be reused
// while pinned.
Result<Nft*> nft_for_this_netns() {
  struct stat netns = {};
  if (::stat("/proc/thread-self/ns/net", &netns) < 0)
    return sys_error("stat /proc/thread-self/ns/net");
  thread_local std::optional<Nft> kept;
  thread_local std::pair<dev_t, ino_t> kept_netns;
  std::pair<dev_t, ino_t> current(netns.st_dev, netns.st_ino);
  if (!kept || kept_netns != current) {
    kept.reset();
    kept.emplace(TRY_VALUE(Nft::open()));
    kept_netns = current;
  }
  return &*kept;
}

// The table is named after the bridge and the name is pasted into nft's
// language, so allow only what an interface name normally holds.
Status check_bridge_name(const std::string& bridge) {
  bool fits =
      !bridge.empty() && bridge.size() < 16 && std::isalpha(static_cast<unsigned char>(bridge[0]));
  for (char c : bridge)
    fits =
        fits && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (!fits)
    return make_error(
        "bridge name \"{}\": expected up to 15 letters, digits, '_', '-' or '.', starting with a "
        "letter",
        bridge);
  return ok();
}

// Map names: "tcp_any" (key: port) and "tcp_addr" (key: host address . port).
std::string map_name(const PortMapping& mapping) {
  return fmt::format("{}_{}", to_string(mapping.protocol), mapping.host_ip ? "addr" : "any");
}

std::string element_key(const PortMapping& mapping) {
  if (mapping.host_ip)
    return fmt::format("{} . {}", mapping.host_ip->to_string(), mapping.host_port);
  return std::to_string(mapping.host_port);
}

std::string element(const PortMapping& mapping) {
  return fmt::format("{} : {} . {}", element_key(mapping), mapping.container_ip.to_string(),
                     mapping.container_port);
}

std::string describe(const PortMapping& mapping) {
  return fmt::format("{} {}{}", to_string(mapping.protocol),
                     mapping.host_ip ? mapping.host_ip->to_string() + ":" : "", mapping.host_port);
}

// What makes two mappings collide: the map and its key.
auto key_of(const PortMapping& mapping) {
  return std::tuple(mapping.protocol, mapping.host_ip, mapping.host_port);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// The whole table, as one transaction. Notes on the rules:
// - publish: the address-specific maps come first; a lookup that finds no
//   element does not match, so evaluation falls through to the any-address
//   maps. `tcp dport` brings its own `meta l4proto tcp` dependency.
// - output is priority -100 (dstnat) too, for the host's own connections,
//   including to 127.0.0.1 (with route_localnet on the bridge).
// - postrouting: masquerade the host's loopback source towards the bridge
//   (a container cannot answer 127.0.0.1), hairpin (a container reaching a
//   published port of its own bridge must see the reply come back from the
//   host) and the subnet's outbound traffic.
// - guard: route_localnet on the bridge lets packets to 127.0.0.0/8 arriving
//   from containers reach the host's 127.0.0.1-only services
//   (CVE-2020-8558); drop those before routing, at raw priority. Loopback
//   publishing is unaffected: it never leaves lo.
// `fwd` is a keyword in nft's language, hence "forward".
constexpr const char* kTableTemplate = R"(add table ip @B
add map ip @B tcp_any { type inet_service : ipv4_addr . inet_service; }
add map ip @B udp_any { type inet_service : ipv4_addr . inet_service; }
add map ip @B tcp_addr { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
add map ip @B udp_addr { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
add chain ip @B publish
add rule ip @B publish meta l4proto tcp dnat ip to ip daddr . tcp dport map @tcp_addr
add rule ip @B publish meta l4proto udp dnat ip to ip daddr . udp dport map @udp_addr
add rule ip @B publish meta l4proto tcp dnat ip to tcp dport map @tcp_any
add rule ip @B publish meta l4proto udp dnat ip to udp dport map @udp_any
add chain ip @B prerouting { type nat hook prerouting priority dstnat; policy accept; }
add rule ip @B prerouting fib daddr type local jump publish
add chain ip @B output { type nat hook output priority -100; policy accept; }
add rule ip @B output fib daddr type local jump publish
add chain ip @B postrouting { type nat hook postrouting priority srcnat; policy accept; }
add rule ip @B postrouting oifname "@B" ip saddr 127.0.0.0/8 masquerade
add rule ip @B postrouting oifname "@B" ip saddr @S ct status dnat masquerade
add rule ip @B postrouting oifname != "@B" ip saddr @S masquerade
add chain ip @B forward { type filter hook forward priority filter; policy accept; }
add rule ip @B forward oifname "@B" ct state established,related accept
add rule ip @B forward oifname "@B" ct status dnat accept
add rule ip @B forward iifname "@B" accept
add rule ip @B forward oifname "@B" drop
add chain ip @B guard { type filter hook prerouting priority raw; policy accept; }
add rule ip @B guard iifname != "lo" ip daddr 127.0.0.0/8 drop
)";

// `list` gets a call of its own: nft 1.0.6 crashes on a buffer that
// changes the ruleset and lists it.
Result<bool> table_exists(Nft& nft, const std::string& bridge) {
  std::string output = TRY_VALUE(nft.run("list tables ip", "nftables: list tables", true));
  json listing = json::parse(output, nullptr, false);
  if (listing.is_discarded() || !listing.contains("nftables"))
    return make_error("nftables: list tables: unexpected JSON output");
  for (const json& item : listing["nftables"])
    if (item.contains("table") && item["table"].value("name", "") == bridge &&
        item["table"].value("family", "") == "ip")
      return true;
  return false;
}

// {"concat": ["10.88.0.2", 80]} -> address and port.
Result<std::pair<Ipv4, uint16_t>> parse_address_port(const json& value) {
  if (!value.is_object() || !value.contains("concat") || !value["concat"].is_array() ||
      value["concat"].size() != 2 || !value["concat"][0].is_string() ||
      !value["concat"][1].is_number_unsigned() || value["concat"][1].get<uint32_t>() > 65535)
    return make_error("expected address . port, found {}", value.dump());
  Ipv4 address = TRY_VALUE(Ipv4::parse(value["concat"][0].get<std::string>()));
  return std::pair(address, value["concat"][1].get<uint16_t>());
}

Result<std::vector<PortMapping>> parse_mappings(const std::string& output,
                                                const std::string& bridge) {
  json listing = json::parse(output, nullptr, false);
  if (listing.is_discarded() || !listing.contains("nftables"))
    return make_error("unexpected JSON output");
  std::vector<PortMapping> mappings;
  for (const json& item : listing["nftables"]) {
    if (!item.contains("map") || item["map"].value("table", "") != bridge) continue;
    const json& map = item["map"];
    const std::string name = map.value("name", "");
    if (name != "tcp_any" && name != "udp_any" && name != "tcp_addr" && name != "udp_addr")
      continue;
    if (!map.contains("elem")) continue;
    for (json pair : map["elem"]) {
      if (!pair.is_array() || pair.size() != 2)
        return make_error("map {}: unexpected element {}", name, pair.dump());
      // An element with a timeout or comment comes as {"elem": {"val": ...}}.
      json key = pair[0];
      if (key.is_object() && key.contains("elem")) key = key["elem"].value("val", json());
      PortMapping mapping;
      mapping.protocol = name.starts_with("tcp") ? Protocol::Tcp : Protocol::Udp;
      if (name.ends_with("_addr")) {
        auto [host_ip, host_port] = TRY_VALUE(parse_address_port(key));
        mapping.host_ip = host_ip;
        mapping.host_port = host_port;
      } else {
        if (!key.is_number_unsigned() || key.get<uint32_t>() > 65535)
          return make_error("map {}: expected a port, found {}", name, key.dump());
        mapping.host_port = key.get<uint16_t>();
      }
      auto [container_ip, container_port] = TRY_VALUE(parse_address_port(pair[1]));
      mapping.container_ip = container_ip;
      mapping.container_port = container_port;
      mappings.push_back(mapping);
    }
  }
  std::sort(mappings.begin(), mappings.end());
  return mappings;
}

Result<std::vector<PortMapping>> list_mappings(Nft& nft, const std::string& bridge) {
  auto output = nft.run(fmt::format("list table ip {}", bridge),
                        fmt::format("nftables: list table ip {}", bridge), true);
  if (!output) {
    // A missing table has no mappings; any other failure is an error.
    if (!TRY_VALUE(table_exists(nft, bridge))) return std::vector<PortMapping>{};
    return output.error();
  }
  auto mappings = parse_mappings(*output, bridge);
  if (!mappings) mappings.error().add_context(fmt::format("nftables: list table ip {}", bridge));
  return mappings;
}

std::vector<uint16_t> udp_host_ports(const std::vector<PortMapping>& mappings) {
  std::vector<uint16_t> ports;
  for (const PortMapping& mapping : mappings)
    if (mapping.protocol == Protocol::Udp) ports.push_back(mapping.host_port);
  return ports;
}

std::string delete_commands(const std::string& bridge, const std::vector<PortMapping>& mappings) {
  std::string commands;
  for (const PortMapping& mapping : mappings)
    commands += fmt::format("delete element ip {} {} {{ {} }}\n", bridge, map_name(mapping),
                            element_key(mapping));
  return commands;
}

}  // namespace

Status ensure_nat_table(const std::string& bridge, const Ipv4Subnet& subnet) {
  TRY(check_bridge_name(bridge));
  Nft& nft = *TRY_VALUE(nft_for_this_netns());
  if (TRY_VALUE(table_exists(nft, bridge))) return ok();
  std::string commands =
      replace_all(replace_all(kTableTemplate, "@B", bridge), "@S", subnet.to_string());
  // The template's map references ("@tcp_addr") survive: only "@B"/"@S" with
  // that exact spelling are placeholders.
  TRY(nft.run(commands, fmt::format("nftables: create table ip {}", bridge), false));
  return ok();
}

Status add_port_mappings(const std::string& bridge, const std::vector<PortMapping>& mappings) {
  TRY(check_bridge_name(bridge));
  if (mappings.empty()) return ok();
  std::set<decltype(key_of(mappings[0]))> keys;
  std::string commands;
  for (const PortMapping& mapping : mappings) {
    if (mapping.host_port == 0 || mapping.container_port == 0)
      return make_error("publish {}: port 0 cannot be published", describe(mapping));
    // 0.0.0.0 as a key would never match a destination; "every address"
    // is the any-address map, asked for by giving no host address.
    if (mapping.host_ip && mapping.host_ip->value == 0)
      return make_error("publish {}: give no host address, not 0.0.0.0, for every address",
                        describe(mapping));
    if (!keys.insert(key_of(mapping)).second)
      return make_error("publish {}: the port is given twice", describe(mapping));
    // `create`, not `add`: add accepts an element that exists with the same
    // value, and a port published twice is a conflict either way.
    commands += fmt::format("create element ip {} {} {{ {} }}\n", bridge, map_name(mapping),
                            element(mapping));
  }
  Nft& nft = *TRY_VALUE(nft_for_this_netns());
  auto added = nft.run(commands, fmt::format("nftables: publish ports on {}", bridge), false);
  if (!added) {
    // Name the port that is taken: nft only points at it in its echo of the
    // command. The batch was refused as a whole, so nothing was added.
    auto existing = list_mappings(nft, bridge);
    if (existing) {
      for (const PortMapping& mapping : mappings)
        for (const PortMapping& other : *existing)
          if (key_of(mapping) == key_of(other))
            return make_error("publish {}: the port is already published (to {}:{})",
                              describe(mapping), other.container_ip.to_string(),
                              other.container_port);
    }
    return added.error();
  }
  Status flushed = flush_udp_conntrack(udp_host_ports(mappings));
  if (!flushed) {
    // All or none: a published UDP port whose old flows bypass it is not
    // published, so take the elements out again.
    (void)nft.run(delete_commands(bridge, mappings), "", false);
    return flushed.error().add_context(fmt::format("publish ports on {}", bridge));
  }
  return ok();
}

Status remove_port_mappings(const std::string& bridge, const std::vector<PortMapping>& mappings) {
  TRY(check_bridge_name(bridge));
  if (mappings.empty()) return ok();
  Nft& nft = *TRY_VALUE(nft_for_this_netns());
  // Deleting a missing element fails the whole batch, and nft 1.0.6 has no
  // `destroy`; so delete what is there. Only elements with the same value:
  // the kernel deletes by key alone, and a key now pointing at another
  // container is that container's mapping.
  std::vector<PortMapping> existing = TRY_VALUE(list_mappings(nft, bridge));
  std::vector<PortMapping> present;
  for (const PortMapping& mapping : mappings)
    if (std::find(existing.begin(), existing.end(), mapping) != existing.end() &&
        std::find(present.begin(), present.end(), mapping) == present.end())
      present.push_back(mapping);
  if (!present.empty())
    TRY(nft.run(delete_commands(bridge, present),
                fmt::format("nftables: unpublish ports on {}", bridge), false));
  TRY_CTX(flush_udp_conntrack(udp_host_ports(mappings)), "unpublish ports on {}", bridge);
  return ok();
}

Result<std::vector<PortMapping>> list_port_mappings(const std::string& bridge) {
  TRY(check_bridge_name(bridge));
  Nft& nft = *TRY_VALUE(nft_for_this_netns());
  return list_mappings(nft, bridge);
}

Status delete_nat_table(const std::string& bridge) {
  TRY(check_bridge_name(bridge));
  Nft& nft = *TRY_VALUE(nft_for_this_netns());
  // nft 1.0.6 has no `destroy table`: try, and if it fails see whether the
  // table was there at all.
  auto deleted = nft.run(fmt::format("delete table ip {}", bridge),
                         fmt::format("nftables: delete table ip {}", bridge), false);
  if (!deleted && TRY_VALUE(table_exists(nft, bridge))) return deleted.error();
  return ok();
}

}  // namespace berth::network
