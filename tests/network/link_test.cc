#include "launcher/network/link.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include "container_netns.h"
#include "core/files.h"
#include "private_netns.h"
#include "support/process.h"

namespace berth::network {
namespace {

using nettest::ContainerNetns;
using test::run_shell;

#define ASSERT_OK(expr)                                            \
  do {                                                             \
    auto result_ = (expr);                                         \
    ASSERT_TRUE(result_.has_value()) << result_.error().message(); \
  } while (0)

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

BridgeSpec test_bridge(const std::string& subnet = "10.87.0.0/16") {
  return BridgeSpec{"berth-test0", Ipv4Subnet::parse(subnet).value()};
}

Ipv4 ip(const std::string& text) { return Ipv4::parse(text).value(); }

using LinkTest = nettest::NetnsTest;

// Connects a socket of netns_fd's namespace (or the test's, with -1) to
// address:port, waiting up to two seconds. Returns "" or what went wrong.
std::string tcp_connect(int netns_fd, Ipv4 address, uint16_t port) {
  UniqueFd socket = netns_fd >= 0 ? nettest::socket_in(netns_fd, SOCK_STREAM)
                                  : UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket) return "socket failed";
  ::fcntl(socket.get(), F_SETFL, O_NONBLOCK);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = address.network_order();
  if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0 &&
      errno != EINPROGRESS)
    return std::string("connect: ") + std::strerror(errno);
  pollfd ready{socket.get(), POLLOUT, 0};
  if (::poll(&ready, 1, 2000) != 1) return "connect timed out";
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, &error, &length);
  return error == 0 ? "" : std::string("connect: ") + std::strerror(error);
}

// A TCP listener on address (any free port) in netns_fd's namespace, or the
// test's with -1.
UniqueFd tcp_listen(int netns_fd, Ipv4 address, uint16_t* port) {
  UniqueFd socket = netns_fd >= 0 ? nettest::socket_in(netns_fd, SOCK_STREAM)
                                  : UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = address.network_order();
  socklen_t length = sizeof at;
  if (!socket || ::bind(socket.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) < 0 ||
      ::listen(socket.get(), 4) < 0 ||
      ::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&at), &length) < 0)
    return UniqueFd();
  *port = ntohs(at.sin_port);
  return socket;
}

TEST_F(LinkTest, EnsureBridgeCreatesAnAddressedBridgeThatIsUp) {
  const BridgeSpec bridge = test_bridge();
  ASSERT_OK(ensure_bridge(bridge));

  auto link = run_shell("ip -d link show berth-test0");
  EXPECT_EQ(link.exit_code, 0) << link.out;
  EXPECT_TRUE(contains(link.out, "bridge")) << link.out;
  EXPECT_TRUE(contains(link.out, ",UP")) << link.out;
  auto address = run_shell("ip -4 addr show dev berth-test0");
  EXPECT_TRUE(contains(address.out, "inet 10.87.0.1/16")) << address.out;
  auto localnet = read_file("/proc/sys/net/ipv4/conf/berth-test0/route_localnet");
  ASSERT_TRUE(localnet) << localnet.error().message();
  EXPECT_EQ(*localnet, "1\n");
  // No IPv6 link-local chatter (where the kernel does IPv6 on links at all).
  auto ipv6 = run_shell("ip -6 addr show dev berth-test0");
  EXPECT_FALSE(contains(ipv6.out, "inet6")) << ipv6.out;

  // Idempotent: a second call changes nothing and fails on nothing.
  ASSERT_OK(ensure_bridge(bridge));
  auto again = run_shell("ip -4 addr show dev berth-test0");
  EXPECT_EQ(again.out, address.out);
}

TEST_F(LinkTest, EnsureBridgeFinishesAHalfSetUpBridge) {
  ASSERT_EQ(run_shell("ip link add berth-test0 type bridge").exit_code, 0);
  ASSERT_OK(ensure_bridge(test_bridge()));
  auto link = run_shell("ip -4 addr show dev berth-test0");
  EXPECT_TRUE(contains(link.out, "inet 10.87.0.1/16")) << link.out;
  EXPECT_TRUE(contains(link.out, ",UP")) << link.out;
}

TEST_F(LinkTest, EnsureBridgeRefusesALinkOfThatNameThatIsNotABridge) {
  ASSERT_EQ(run_shell("ip link add berth-test0 type veth peer name other0").exit_code, 0);
  auto status = ensure_bridge(test_bridge());
  ASSERT_FALSE(status);
  EXPECT_TRUE(contains(status.error().message(), "berth-test0 exists and is not a bridge"))
      << status.error().message();
  EXPECT_TRUE(contains(status.error().message(), "veth")) << status.error().message();
}

TEST_F(LinkTest, EnsureBridgeRefusesASubnetOverlappingAnotherLinksAddress) {
  ASSERT_EQ(run_shell("ip link add other0 type veth peer name other1").exit_code, 0);
  ASSERT_EQ(run_shell("ip addr add 10.87.5.1/24 dev other0").exit_code, 0);
  auto status = ensure_bridge(test_bridge());
  ASSERT_FALSE(status);
  EXPECT_TRUE(contains(status.error().message(),
                       "subnet 10.87.0.0/16 overlaps the address 10.87.5.1/24 of link other0"))
      << status.error().message();
  EXPECT_NE(run_shell("ip link show berth-test0").exit_code, 0) << "a refused bridge was created";
}

TEST_F(LinkTest, EnsureBridgeRefusesASubnetOverlappingARouteOnAnotherLink) {
  ASSERT_EQ(run_shell("ip link add other0 type veth peer name other1 && ip link set other0 up && "
                      "ip link set other1 up && ip route add 10.80.0.0/12 dev other0")
                .exit_code,
            0);
  auto status = ensure_bridge(test_bridge());
  ASSERT_FALSE(status);
  EXPECT_TRUE(contains(status.error().message(),
                       "subnet 10.87.0.0/16 overlaps the route 10.80.0.0/12 on link other0"))
      << status.error().message();
  // A default route is not a conflict.
  ASSERT_EQ(run_shell("ip route del 10.80.0.0/12 && ip route add default dev other0").exit_code, 0);
  ASSERT_OK(ensure_bridge(test_bridge()));
}

TEST_F(LinkTest, EnsureBridgeRefusesABridgeAddressedForAnotherSubnet) {
  ASSERT_OK(ensure_bridge(test_bridge("10.87.0.0/16")));
  auto status = ensure_bridge(test_bridge("10.86.0.0/16"));
  ASSERT_FALSE(status);
  EXPECT_TRUE(contains(status.error().message(), "already has the address 10.87.0.1/16"))
      << status.error().message();
}

TEST_F(LinkTest, ContainerVethIsBridgedConfiguredAndCarriesTraffic) {
  ASSERT_OK(ensure_bridge(test_bridge()));
  ContainerNetns container;
  ASSERT_EQ(container.error(), "");
  ASSERT_OK(add_container_veth("berth-test0", "veth-c1", container.fd(), "eth0"));
  ASSERT_OK(configure_container_link(container.fd(), "eth0", ip("10.87.0.2"), 16, ip("10.87.0.1")));

  auto host_end = run_shell("ip -d link show veth-c1");
  EXPECT_TRUE(contains(host_end.out, "master berth-test0")) << host_end.out;
  EXPECT_TRUE(contains(host_end.out, ",UP")) << host_end.out;
  auto port = run_shell("bridge -d link show dev veth-c1");
  EXPECT_TRUE(contains(port.out, "hairpin on")) << port.out;
  auto ports = bridge_ports("berth-test0");
  ASSERT_TRUE(ports) << ports.error().message();
  EXPECT_EQ(*ports, std::vector<std::string>{"veth-c1"});

  auto inside = run_shell(container.enter() + "ip -4 addr show");
  EXPECT_TRUE(contains(inside.out, "inet 10.87.0.2/16")) << inside.out;
  EXPECT_TRUE(contains(inside.out, "eth0@")) << inside.out;
  auto links = run_shell(container.enter() + "ip link show");
  EXPECT_TRUE(contains(links.out, "lo: <LOOPBACK,UP")) << links.out;
  EXPECT_TRUE(contains(links.out, "eth0@if")) << links.out;
  auto routes = run_shell(container.enter() + "ip -4 route show");
  EXPECT_TRUE(contains(routes.out, "default via 10.87.0.1 dev eth0")) << routes.out;
  auto ipv6 = run_shell(container.enter() + "ip -6 addr show dev eth0");
  EXPECT_FALSE(contains(ipv6.out, "inet6")) << ipv6.out;

  // Host -> container and container -> bridge address.
  uint16_t port_number = 0;
  UniqueFd in_container = tcp_listen(container.fd(), ip("10.87.0.2"), &port_number);
  ASSERT_TRUE(in_container);
  EXPECT_EQ(tcp_connect(-1, ip("10.87.0.2"), port_number), "");
  UniqueFd on_host = tcp_listen(-1, ip("10.87.0.1"), &port_number);
  ASSERT_TRUE(on_host);
  EXPECT_EQ(tcp_connect(container.fd(), ip("10.87.0.1"), port_number), "");
  // Container -> a host address outside the subnet: through the default route.
  ASSERT_EQ(run_shell("ip link set lo up && ip addr add 10.99.0.1/32 dev lo").exit_code, 0);
  UniqueFd beyond = tcp_listen(-1, ip("10.99.0.1"), &port_number);
  ASSERT_TRUE(beyond);
  EXPECT_EQ(tcp_connect(container.fd(), ip("10.99.0.1"), port_number), "");
}

TEST_F(LinkTest, HostEndGoesWithTheContainersNetns) {
  ASSERT_OK(ensure_bridge(test_bridge()));
  ContainerNetns container;
  ASSERT_EQ(container.error(), "");
  ASSERT_OK(add_container_veth("berth-test0", "veth-c1", container.fd(), "eth0"));
  container.release();
  // The kernel dismantles a netns asynchronously (cleanup_net).
  std::vector<std::string> ports{"?"};
  for (int i = 0; i < 250 && !ports.empty(); ++i) {
    auto listed = bridge_ports("berth-test0");
    ASSERT_TRUE(listed) << listed.error().message();
    ports = *listed;
    if (!ports.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(ports.empty()) << ports.size() << " ports left, first " << ports[0];
  EXPECT_NE(run_shell("ip link show veth-c1").exit_code, 0);
}

TEST_F(LinkTest, FailedVethCreationLeavesNothingBehind) {
  ASSERT_OK(ensure_bridge(test_bridge()));
  ContainerNetns container;
  ASSERT_EQ(container.error(), "");

  auto no_bridge = add_container_veth("berth-none", "veth-c1", container.fd(), "eth0");
  ASSERT_FALSE(no_bridge);
  EXPECT_TRUE(contains(no_bridge.error().message(), "there is no bridge berth-none"))
      << no_bridge.error().message();

  UniqueFd not_a_netns(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  auto bad_fd = add_container_veth("berth-test0", "veth-c1", not_a_netns.get(), "eth0");
  ASSERT_FALSE(bad_fd);
  EXPECT_TRUE(contains(bad_fd.error().message(), "create veth veth-c1 with peer eth0"))
      << bad_fd.error().message();
  EXPECT_NE(run_shell("ip link show veth-c1").exit_code, 0);

  // The container already has an eth0: refused, the container's link kept.
  ASSERT_EQ(run_shell(container.enter() + "ip link add eth0 type veth peer name eth1").exit_code,
            0);
  auto taken = add_container_veth("berth-test0", "veth-c1", container.fd(), "eth0");
  ASSERT_FALSE(taken);
  EXPECT_NE(run_shell("ip link show veth-c1").exit_code, 0);
  EXPECT_EQ(run_shell(container.enter() + "ip link show eth0").exit_code, 0);

  // The host name is taken: refused, and the existing link is not deleted.
  ASSERT_EQ(run_shell("ip link add veth-c1 type veth peer name veth-c1p").exit_code, 0);
  auto host_taken = add_container_veth("berth-test0", "veth-c1", container.fd(), "eth9");
  ASSERT_FALSE(host_taken);
  EXPECT_EQ(run_shell("ip link show veth-c1").exit_code, 0);

  auto bad_name = add_container_veth("berth-test0", "a/b", container.fd(), "eth9");
  ASSERT_FALSE(bad_name);
  EXPECT_TRUE(contains(bad_name.error().message(), "not a valid link name"))
      << bad_name.error().message();
}

TEST_F(LinkTest, ConfiguringAMissingContainerLinkNamesItAndTheNetns) {
  ContainerNetns container;
  ASSERT_EQ(container.error(), "");
  auto status =
      configure_container_link(container.fd(), "eth0", ip("10.87.0.2"), 16, ip("10.87.0.1"));
  ASSERT_FALSE(status);
  EXPECT_TRUE(contains(status.error().message(), "configure eth0 in netns fd"))
      << status.error().message();
  EXPECT_TRUE(contains(status.error().message(), "there is no link eth0"))
      << status.error().message();
}

TEST_F(LinkTest, DeleteLinkDeletesAndAcceptsAMissingLink) {
  ASSERT_OK(delete_link("missing0"));
  ASSERT_EQ(run_shell("ip link add gone0 type veth peer name gone1").exit_code, 0);
  ASSERT_OK(delete_link("gone0"));
  EXPECT_NE(run_shell("ip link show gone0").exit_code, 0);
  EXPECT_NE(run_shell("ip link show gone1").exit_code, 0);
}

TEST_F(LinkTest, BridgePortsOfAMissingBridgeIsEmpty) {
  auto ports = bridge_ports("berth-none");
  ASSERT_TRUE(ports) << ports.error().message();
  EXPECT_TRUE(ports->empty());
}

TEST_F(LinkTest, EnableIpv4ForwardingSaysWhetherItChangedIt) {
  ASSERT_OK(write_file("/proc/sys/net/ipv4/ip_forward", "0"));
  auto first = enable_ipv4_forwarding();
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_TRUE(*first);
  EXPECT_EQ(read_file("/proc/sys/net/ipv4/ip_forward").value(), "1\n");
  auto second = enable_ipv4_forwarding();
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_FALSE(*second);
}

// Not an assertion: prints what `berth run` pays for the network's links.
TEST_F(LinkTest, MeasuresTheCostOfTheSteps) {
  using Clock = std::chrono::steady_clock;
  auto micros = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  };
  const BridgeSpec bridge = test_bridge();
  auto start = Clock::now();
  ASSERT_OK(ensure_bridge(bridge));
  const auto create = Clock::now() - start;
  constexpr int kRepeats = 50;
  start = Clock::now();
  for (int i = 0; i < kRepeats; ++i) ASSERT_OK(ensure_bridge(bridge));
  const auto again = (Clock::now() - start) / kRepeats;

  constexpr int kContainers = 10;
  Clock::duration veth{}, configure{};
  for (int i = 0; i < kContainers; ++i) {
    ContainerNetns container;
    ASSERT_EQ(container.error(), "");
    const std::string host = "veth-m" + std::to_string(i);
    start = Clock::now();
    ASSERT_OK(add_container_veth("berth-test0", host, container.fd(), "eth0"));
    auto middle = Clock::now();
    ASSERT_OK(configure_container_link(container.fd(), "eth0",
                                       Ipv4{ip("10.87.0.10").value + static_cast<uint32_t>(i)}, 16,
                                       ip("10.87.0.1")));
    veth += middle - start;
    configure += Clock::now() - middle;
  }
  std::cout << "ensure_bridge creating: " << micros(create)
            << " us; already set up: " << micros(again) << " us (mean of " << kRepeats << ")\n"
            << "add_container_veth: " << micros(veth / kContainers)
            << " us, configure_container_link: " << micros(configure / kContainers)
            << " us (means of " << kContainers << ")\n";
}

}  // namespace
}  // namespace berth::network
