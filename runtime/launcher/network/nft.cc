// The table itself, through libnftables: made once per boot and deleted,
// so nft's language (readable, as `nft list table` prints it) is worth its
// cache fill here. The hot paths are in nft_elements.cc.
#include "launcher/network/nft.h"

#include <nftables/libnftables.h>
#include <sys/stat.h>

#include <cctype>
#include <optional>
#include <sstream>

#include "core/c_handle.h"
#include "launcher/network/nft_netlink.h"

namespace berth::network {

const char* to_string(Protocol protocol) { return protocol == Protocol::Tcp ? "tcp" : "udp"; }

namespace {

using NftContext = CHandle<nft_ctx, nft_ctx_free>;

// A libnftables context and its netlink socket, which belongs to the
// network namespace of the thread that opened it.
class Nft {
 public:
  static Result<Nft> open() {
    NftContext context(nft_ctx_new(NFT_CTX_DEFAULT));
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
  explicit Nft(NftContext context) : context_(std::move(context)) {}

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

  NftContext context_;
};

// The calling thread's context for the netns it is in. Contexts are kept:
// measured here, nft_ctx_free after a commit that deleted elements took
// 7-15 ms (closing the socket waits for the kernel's deferred release of
// the transaction), while each command took under 0.5 ms. A kept context
// pins its netns; the key is the netns's inode, which cannot be reused
// while pinned.
Result<Nft*> nft_for_this_netns() {
  thread_local std::optional<Nft> kept;
  thread_local std::pair<dev_t, ino_t> kept_netns;
  std::pair<dev_t, ino_t> current = TRY_VALUE(detail::this_netns());
  if (!kept || kept_netns != current) {
    kept.reset();
    kept.emplace(TRY_VALUE(Nft::open()));
    kept_netns = current;
  }
  return &*kept;
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

}  // namespace

namespace detail {

Result<std::pair<dev_t, ino_t>> this_netns() {
  struct stat netns = {};
  if (::stat("/proc/thread-self/ns/net", &netns) < 0)
    return sys_error("stat /proc/thread-self/ns/net");
  return std::pair(netns.st_dev, netns.st_ino);
}

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

}  // namespace detail

Status ensure_nat_table(const std::string& bridge, const Ipv4Subnet& subnet) {
  TRY(detail::check_bridge_name(bridge));
  if (TRY_VALUE(detail::nat_table_exists(bridge))) return ok();
  Nft& nft = *TRY_VALUE(nft_for_this_netns());
  std::string commands =
      replace_all(replace_all(kTableTemplate, "@B", bridge), "@S", subnet.to_string());
  // The template's map references ("@tcp_addr") survive: only "@B"/"@S" with
  // that exact spelling are placeholders.
  TRY(nft.run(commands, fmt::format("nftables: create table ip {}", bridge), false));
  return ok();
}

Status delete_nat_table(const std::string& bridge) {
  TRY(detail::check_bridge_name(bridge));
  Nft& nft = *TRY_VALUE(nft_for_this_netns());
  // nft 1.0.6 has no `destroy table`: try, and if it fails see whether the
  // table was there at all.
  auto deleted = nft.run(fmt::format("delete table ip {}", bridge),
                         fmt::format("nftables: delete table ip {}", bridge), false);
  if (!deleted && TRY_VALUE(detail::nat_table_exists(bridge))) return deleted.error();
  return ok();
}

}  // namespace berth::network
