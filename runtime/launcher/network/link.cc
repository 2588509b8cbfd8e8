#include "launcher/network/link.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <unistd.h>

#include <cstring>
#include <new>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>

#include "core/c_handle.h"
#include "core/files.h"

namespace berth::network {
namespace {

// Owners for libnl's reference-counted objects (core/c_handle.h). An
// allocation failure throws std::bad_alloc, as everywhere else in C++ (fmt
// and std::string do too).
using Socket = CHandle<nl_sock, nl_socket_free>;
using Link = CHandle<rtnl_link, rtnl_link_put>;
using Address = CHandle<rtnl_addr, rtnl_addr_put>;
using Route = CHandle<rtnl_route, rtnl_route_put>;
using Nexthop = CHandle<rtnl_nexthop, rtnl_route_nh_free>;
using Cache = CHandle<nl_cache, nl_cache_free>;
using NlAddress = CHandle<nl_addr, nl_addr_put>;

template <typename T>
T* checked(T* allocated) {
  if (allocated == nullptr) throw std::bad_alloc();
  return allocated;
}

Link new_link() { return Link(checked(rtnl_link_alloc())); }

// libnl's error codes are negative NLE_* values; nl_geterror gives their text.
Error nl_error(int code, const std::string& what) {
  return make_error("{}: {}", what, nl_geterror(code));
}

bool is_missing(int code) { return code == -NLE_OBJ_NOTFOUND || code == -NLE_NODEV; }

// Interface names end up in /proc/sys paths, so refuse what the kernel
// would refuse before building a path from it.
Status check_link_name(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == ".." ||
      name.find_first_of("/: \t\n") != std::string::npos)
    return make_error("\"{}\" is not a valid link name (1-{} characters, no '/', ':' or spaces)",
                      name, IFNAMSIZ - 1);
  return ok();
}

// "netns fd 7 (net:[4026532301])": the inode tells namespaces apart in errors.
std::string describe_netns(int netns_fd) {
  char target[64];
  const std::string fd_path = fmt::format("/proc/self/fd/{}", netns_fd);
  ssize_t length = ::readlink(fd_path.c_str(), target, sizeof target);
  if (length <= 0) return fmt::format("netns fd {}", netns_fd);
  return fmt::format("netns fd {} ({})", netns_fd, std::string_view(target, length));
}

Result<Socket> connect_route_socket() {
  Socket socket(checked(nl_socket_alloc()));
  if (int err = nl_connect(socket.get(), NETLINK_ROUTE); err < 0)
    return nl_error(err, "connect a rtnetlink socket");
  return socket;
}

// A netlink socket talks to the netns its creator was in when it was made,
// for the rest of its life. Making it on a short-lived thread that setns()es
// there leaves the calling thread's namespace untouched: no way back to get
// wrong, and nothing else in the process ever runs in the container's netns.
Result<Socket> connect_route_socket_in(int netns_fd) {
  std::optional<Result<Socket>> result;
  try {
    std::thread([&] {
      if (::setns(netns_fd, CLONE_NEWNET) < 0)
        result.emplace(sys_error("setns into {}", describe_netns(netns_fd)));
      else
        result.emplace(connect_route_socket());
    }).join();
  } catch (const std::system_error& e) {
    return make_error("start a thread to enter {}: {}", describe_netns(netns_fd), e.what());
  }
  return std::move(*result);
}

// The link named name, or null if there is none.
Result<Link> find_link(nl_sock* socket, const std::string& name) {
  rtnl_link* found = nullptr;
  int err = rtnl_link_get_kernel(socket, 0, name.c_str(), &found);
  Link link(found);
  if (is_missing(err)) return Link();
  if (err < 0) return nl_error(err, fmt::format("look up link {}", name));
  return link;
}

std::string link_name_of(nl_sock* socket, int ifindex) {
  rtnl_link* found = nullptr;
  if (rtnl_link_get_kernel(socket, ifindex, nullptr, &found) < 0)
    return fmt::format("#{}", ifindex);
  Link link(found);
  return rtnl_link_get_name(link.get());
}

bool is_bridge(rtnl_link* link) {
  const char* kind = rtnl_link_get_type(link);
  return kind != nullptr && std::strcmp(kind, "bridge") == 0;
}

Error not_a_bridge(rtnl_link* link) {
  const char* kind = rtnl_link_get_type(link);
  return make_error("link {} exists and is not a bridge (it is {})", rtnl_link_get_name(link),
                    kind ? fmt::format("a {} link", kind) : std::string("a device without a kind"));
}

// Applies change to the link ifindex; returns libnl's code. The change's
// family picks the kernel's handler: AF_BRIDGE the bridge port code (which
// finds the link by index only), AF_UNSPEC do_setlink.
int change_link(nl_sock* socket, int ifindex, rtnl_link* change) {
  Link target = new_link();
  rtnl_link_set_ifindex(target.get(), ifindex);
  rtnl_link_set_family(target.get(), rtnl_link_get_family(change));
  return rtnl_link_change(socket, target.get(), change, 0);
}

Status set_link_up(nl_sock* socket, int ifindex, const std::string& name) {
  Link change = new_link();
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (int err = change_link(socket, ifindex, change.get()); err < 0)
    return nl_error(err, fmt::format("bring {} up", name));
  return ok();
}

// With address generation off a link gets no IPv6 link-local address and so
// sends no router solicitations or MLD reports when it comes up. It has to be
// set before the link goes up (the address is made on NETDEV_UP, and in one
// RTM_NEWLINK the kernel applies IFF_UP before IFLA_AF_SPEC), and it cannot
// ride on the RTM_NEWLINK that creates the link (Linux 6.x answers
// EAFNOSUPPORT to IFLA_AF_SPEC there). EAFNOSUPPORT on an existing link means
// the kernel has no IPv6 for it: nothing to turn off.
Status disable_ipv6_address_generation(nl_sock* socket, int ifindex, const std::string& name) {
  Link change = new_link();
  int err = rtnl_link_inet6_set_addr_gen_mode(change.get(), IN6_ADDR_GEN_MODE_NONE);
  if (err == 0) err = change_link(socket, ifindex, change.get());
  if (err < 0 && err != -NLE_AF_NOSUPPORT)
    return nl_error(err, fmt::format("turn off IPv6 address generation on {}", name));
  return ok();
}

// A bridge port's flags travel in an AF_BRIDGE RTM_SETLINK with a nested
// IFLA_PROTINFO (what `bridge link set ... hairpin on` sends); libnl builds
// it when both link objects are AF_BRIDGE. Hairpin lets a frame leave by the
// port it came in on: with br_netfilter loaded a container's connection to
// its own published port is DNATed back to it through that port.
Status set_hairpin(nl_sock* socket, int ifindex, const std::string& name) {
  Link change = new_link();
  rtnl_link_set_family(change.get(), AF_BRIDGE);
  int err = rtnl_link_bridge_set_flags(change.get(), RTNL_BRIDGE_HAIRPIN_MODE);
  if (err == 0) err = change_link(socket, ifindex, change.get());
  if (err < 0) return nl_error(err, fmt::format("turn on hairpin mode on bridge port {}", name));
  return ok();
}

NlAddress ipv4_address(Ipv4 address, int prefix_length) {
  const uint32_t bytes = address.network_order();
  NlAddress result(checked(nl_addr_build(AF_INET, &bytes, sizeof bytes)));
  nl_addr_set_prefixlen(result.get(), prefix_length);
  return result;
}

std::optional<Ipv4> ipv4_of(nl_addr* address) {
  if (address == nullptr || nl_addr_get_family(address) != AF_INET ||
      nl_addr_get_len(address) != sizeof(uint32_t))
    return std::nullopt;
  uint32_t bytes = 0;
  std::memcpy(&bytes, nl_addr_get_binary_addr(address), sizeof bytes);
  return Ipv4{ntohl(bytes)};
}

Ipv4Subnet subnet_of(Ipv4 address, int prefix_length) {
  const uint32_t mask = prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
  return Ipv4Subnet{Ipv4{address.value & mask}, prefix_length};
}

// NLM_F_REPLACE: an identical address already there (a concurrent caller's)
// is not an error.
Status add_ipv4_address(nl_sock* socket, int ifindex, const std::string& link_name, Ipv4 address,
                        int prefix_length) {
  Address request(checked(rtnl_addr_alloc()));
  rtnl_addr_set_ifindex(request.get(), ifindex);
  rtnl_addr_set_family(request.get(), AF_INET);
  NlAddress local = ipv4_address(address, prefix_length);
  const std::string what =
      fmt::format("add address {}/{} to {}", address.to_string(), prefix_length, link_name);
  if (int err = rtnl_addr_set_local(request.get(), local.get()); err < 0)
    return nl_error(err, what);
  rtnl_addr_set_prefixlen(request.get(), prefix_length);
  if (int err = rtnl_addr_add(socket, request.get(), NLM_F_REPLACE); err < 0)
    return nl_error(err, what);
  return ok();
}

template <typename Object, typename Visit>
void for_each_object(nl_cache* cache, Visit visit) {
  for (nl_object* object = nl_cache_get_first(cache); object; object = nl_cache_get_next(object))
    visit(reinterpret_cast<Object*>(object));
}

// Walks the IPv4 addresses of every link. Returns whether the bridge
// (bridge_index, 0 if it does not exist yet) already has the gateway
// address; an address of another link inside the subnet, or one on the
// bridge other than the gateway, is an error.
Result<bool> check_addresses(nl_sock* socket, int bridge_index, const BridgeSpec& bridge) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(socket, &raw); err < 0)
    return nl_error(err, "list the host's addresses");
  Cache cache(raw);
  const Ipv4 gateway = bridge.subnet.gateway();
  bool has_gateway = false;
  std::optional<Error> conflict;
  for_each_object<rtnl_addr>(cache.get(), [&](rtnl_addr* address) {
    std::optional<Ipv4> local = ipv4_of(rtnl_addr_get_local(address));
    if (conflict || !local) return;
    const int prefix = rtnl_addr_get_prefixlen(address);
    const int ifindex = rtnl_addr_get_ifindex(address);
    const std::string shown = fmt::format("{}/{}", local->to_string(), prefix);
    if (ifindex == bridge_index && bridge_index != 0) {
      if (*local == gateway && prefix == bridge.subnet.prefix_length)
        has_gateway = true;
      else
        conflict = make_error(
            "bridge {} already has the address {}, not {}/{}: delete the bridge or use its subnet",
            bridge.name, shown, gateway.to_string(), bridge.subnet.prefix_length);
    } else if (subnet_of(*local, prefix).overlaps(bridge.subnet)) {
      conflict = make_error("subnet {} overlaps the address {} of link {}",
                            bridge.subnet.to_string(), shown, link_name_of(socket, ifindex));
    }
  });
  if (conflict) return std::move(*conflict);
  return has_gateway;
}

// A unicast route of the main table through another link (a VPN's
// 10.0.0.0/8, a LAN) would compete with the bridge's; the default route
// overlaps everything and is not a conflict.
Status check_routes(nl_sock* socket, int bridge_index, const BridgeSpec& bridge) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_route_alloc_cache(socket, AF_INET, 0, &raw); err < 0)
    return nl_error(err, "list the host's IPv4 routes");
  Cache cache(raw);
  std::optional<Error> conflict;
  for_each_object<rtnl_route>(cache.get(), [&](rtnl_route* route) {
    nl_addr* destination = rtnl_route_get_dst(route);
    std::optional<Ipv4> network = ipv4_of(destination);
    if (conflict || !network || rtnl_route_get_table(route) != RT_TABLE_MAIN ||
        rtnl_route_get_type(route) != RTN_UNICAST)
      return;
    const int prefix = nl_addr_get_prefixlen(destination);
    if (prefix == 0 || rtnl_route_get_nnexthops(route) == 0 ||
        !subnet_of(*network, prefix).overlaps(bridge.subnet))
      return;
    const int ifindex = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(route, 0));
    if (ifindex == bridge_index && bridge_index != 0) return;  // the bridge's own
    conflict =
        make_error("subnet {} overlaps the route {}/{} on link {}", bridge.subnet.to_string(),
                   network->to_string(), prefix, link_name_of(socket, ifindex));
  });
  if (conflict) return std::move(*conflict);
  return ok();
}

// route_localnet lets the bridge route packets with 127.0.0.0/8 sources, so
// the host's 127.0.0.1 can be DNATed to a container (nft.cc closes the
// CVE-2020-8558 hole it opens). /proc/sys/net follows the caller's netns.
Status enable_route_localnet(const std::string& bridge) {
  const std::string path = fmt::format("/proc/sys/net/ipv4/conf/{}/route_localnet", bridge);
  auto current = read_file(path);
  if (!current) return current.error().add_context("read route_localnet");
  if (current->starts_with('1')) return ok();
  TRY_CTX(write_file(path, "1"), "enable route_localnet on {}", bridge);
  return ok();
}

Status set_up_bridge(const BridgeSpec& bridge) {
  TRY(check_link_name(bridge.name));
  auto socket = TRY_VALUE(connect_route_socket());
  Link link = TRY_VALUE(find_link(socket.get(), bridge.name));
  if (link && !is_bridge(link.get())) return not_a_bridge(link.get());
  int ifindex = link ? rtnl_link_get_ifindex(link.get()) : 0;
  // Checked before creating anything, so a refused subnet leaves no bridge.
  const bool has_gateway = TRY_VALUE(check_addresses(socket.get(), ifindex, bridge));
  TRY(check_routes(socket.get(), ifindex, bridge));

  bool created = false;
  if (!link) {
    Link request(checked(rtnl_link_bridge_alloc()));
    rtnl_link_set_name(request.get(), bridge.name.c_str());
    int err = rtnl_link_add(socket.get(), request.get(), NLM_F_CREATE | NLM_F_EXCL);
    // NLE_EXIST: a concurrent `berth run` made it since we looked.
    if (err < 0 && err != -NLE_EXIST) return nl_error(err, "create the bridge");
    created = err == 0;
    link = TRY_VALUE(find_link(socket.get(), bridge.name));
    if (!link) return make_error("the bridge vanished right after it was created");
    if (!is_bridge(link.get())) return not_a_bridge(link.get());
    ifindex = rtnl_link_get_ifindex(link.get());
  }
  // A failure below leaves a bridge that is not fully set up; the next call
  // finishes the job, so there is nothing to undo.
  uint8_t mode = 0;
  if (created ||
      (rtnl_link_inet6_get_addr_gen_mode(link.get(), &mode) == 0 && mode != IN6_ADDR_GEN_MODE_NONE))
    TRY(disable_ipv6_address_generation(socket.get(), ifindex, bridge.name));
  if (!has_gateway)
    TRY(add_ipv4_address(socket.get(), ifindex, bridge.name, bridge.subnet.gateway(),
                         bridge.subnet.prefix_length));
  if (!(rtnl_link_get_flags(link.get()) & IFF_UP))
    TRY(set_link_up(socket.get(), ifindex, bridge.name));
  return enable_route_localnet(bridge.name);
}

Status delete_link_in(nl_sock* socket, const std::string& name) {
  Link request = new_link();
  rtnl_link_set_name(request.get(), name.c_str());
  int err = rtnl_link_delete(socket, request.get());
  if (err < 0 && !is_missing(err)) return nl_error(err, fmt::format("delete link {}", name));
  return ok();
}

Status set_up_host_end(nl_sock* socket, const std::string& host_name) {
  Link host = TRY_VALUE(find_link(socket, host_name));
  if (!host) return make_error("{} vanished right after it was created", host_name);
  const int ifindex = rtnl_link_get_ifindex(host.get());
  TRY(disable_ipv6_address_generation(socket, ifindex, host_name));
  TRY(set_hairpin(socket, ifindex, host_name));
  return set_link_up(socket, ifindex, host_name);
}

Status create_container_veth(const std::string& bridge, const std::string& host_name, int netns_fd,
                             const std::string& container_name) {
  TRY(check_link_name(host_name));
  TRY(check_link_name(container_name));
  auto socket = TRY_VALUE(connect_route_socket());
  Link bridge_link = TRY_VALUE(find_link(socket.get(), bridge));
  if (!bridge_link) return make_error("there is no bridge {}", bridge);
  if (!is_bridge(bridge_link.get())) return not_a_bridge(bridge_link.get());

  Link veth(checked(rtnl_link_veth_alloc()));
  rtnl_link_set_name(veth.get(), host_name.c_str());
  // IFLA_MASTER in RTM_NEWLINK: enslaved as it is created, one message less.
  rtnl_link_set_master(veth.get(), rtnl_link_get_ifindex(bridge_link.get()));
  {
    Link peer(rtnl_link_veth_get_peer(veth.get()));  // a new reference
    rtnl_link_set_name(peer.get(), container_name.c_str());
    // IFLA_NET_NS_FD: the kernel creates the peer in that netns directly
    // (moving it later costs a rename and a second message). The fd must
    // stay open until rtnl_link_add returns; the caller owns it.
    rtnl_link_set_ns_fd(peer.get(), netns_fd);
  }
  if (int err = rtnl_link_add(socket.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return nl_error(err, fmt::format("create veth {} with peer {} in {}", host_name, container_name,
                                     describe_netns(netns_fd)));
  Status status = set_up_host_end(socket.get(), host_name);
  if (!status) {
    // Deleting one end removes the pair, the peer in the container too.
    if (Status undone = delete_link_in(socket.get(), host_name); !undone)
      status.error().add_context(
          fmt::format("({} is left behind: {})", host_name, undone.error().message()));
  }
  return status;
}

Status add_default_route(nl_sock* socket, int ifindex, Ipv4 gateway) {
  Route route(checked(rtnl_route_alloc()));
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  const std::string what = fmt::format("add the default route via {}", gateway.to_string());
  NlAddress any = ipv4_address(Ipv4{0}, 0);
  if (int err = rtnl_route_set_dst(route.get(), any.get()); err < 0) return nl_error(err, what);
  Nexthop nexthop(checked(rtnl_route_nh_alloc()));
  rtnl_route_nh_set_ifindex(nexthop.get(), ifindex);
  NlAddress via = ipv4_address(gateway, 32);
  rtnl_route_nh_set_gateway(nexthop.get(), via.get());
  rtnl_route_add_nexthop(route.get(), nexthop.release());  // the route owns it now
  if (int err = rtnl_route_add(socket, route.get(), NLM_F_REPLACE); err < 0)
    return nl_error(err, what);
  return ok();
}

Status set_up_container_link(int netns_fd, const std::string& name, Ipv4 address, int prefix_length,
                             Ipv4 gateway) {
  TRY(check_link_name(name));
  auto socket = TRY_VALUE(connect_route_socket_in(netns_fd));
  // lo is always ifindex 1: it is the first device registered in a netns.
  TRY(set_link_up(socket.get(), 1, "lo"));
  Link link = TRY_VALUE(find_link(socket.get(), name));
  if (!link) return make_error("there is no link {}", name);
  const int ifindex = rtnl_link_get_ifindex(link.get());
  TRY(disable_ipv6_address_generation(socket.get(), ifindex, name));
  TRY(add_ipv4_address(socket.get(), ifindex, name, address, prefix_length));
  // Up before the route: the kernel refuses a gateway on a link that is down.
  TRY(set_link_up(socket.get(), ifindex, name));
  return add_default_route(socket.get(), ifindex, gateway);
}

}  // namespace

Status ensure_bridge(const BridgeSpec& bridge) {
  Status status = set_up_bridge(bridge);
  if (!status)
    status.error().add_context(
        fmt::format("set up bridge {} for {}", bridge.name, bridge.subnet.to_string()));
  return status;
}

Status add_container_veth(const std::string& bridge, const std::string& host_name, int netns_fd,
                          const std::string& container_name) {
  Status status = create_container_veth(bridge, host_name, netns_fd, container_name);
  if (!status)
    status.error().add_context(fmt::format("connect {} to bridge {} as {} <-> {}",
                                           describe_netns(netns_fd), bridge, host_name,
                                           container_name));
  return status;
}

Status configure_container_link(int netns_fd, const std::string& container_name, Ipv4 address,
                                int prefix_length, Ipv4 gateway) {
  Status status = set_up_container_link(netns_fd, container_name, address, prefix_length, gateway);
  if (!status)
    status.error().add_context(
        fmt::format("configure {} in {}", container_name, describe_netns(netns_fd)));
  return status;
}

Result<std::vector<std::string>> bridge_ports(const std::string& bridge) {
  auto socket = TRY_VALUE(connect_route_socket());
  Link bridge_link = TRY_VALUE(find_link(socket.get(), bridge));
  if (!bridge_link) return std::vector<std::string>{};
  if (!is_bridge(bridge_link.get())) return not_a_bridge(bridge_link.get());
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(socket.get(), AF_UNSPEC, &raw); err < 0)
    return nl_error(err, fmt::format("list the ports of bridge {}", bridge));
  Cache cache(raw);
  const int bridge_index = rtnl_link_get_ifindex(bridge_link.get());
  std::vector<std::string> ports;
  for_each_object<rtnl_link>(cache.get(), [&](rtnl_link* link) {
    if (rtnl_link_get_master(link) == bridge_index) ports.emplace_back(rtnl_link_get_name(link));
  });
  return ports;
}

Status delete_link(const std::string& name) {
  auto socket = TRY_VALUE(connect_route_socket());
  return delete_link_in(socket.get(), name);
}

Result<bool> enable_ipv4_forwarding() {
  constexpr const char* kPath = "/proc/sys/net/ipv4/ip_forward";
  auto current = read_file(kPath);
  if (!current) return current.error().add_context("read the IPv4 forwarding setting");
  if (current->starts_with('1')) return false;
  TRY_CTX(write_file(kPath, "1"), "enable IPv4 forwarding");
  return true;
}

}  // namespace berth::network
