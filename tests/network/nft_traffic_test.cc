// Traffic through the nftables table: the test's private netns plays the
// host (bridge 10.88.0.1/24, a veth "NIC" with 192.0.2.1/24), a second
// netns made with `ip netns add` plays a container (eth0 10.88.0.2 behind
// the bridge). Sockets are made in the netns they belong to and then all
// driven from the test thread: the kernel completes TCP handshakes into a
// listener's backlog on its own, so no server threads are needed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "core/unique_fd.h"
#include "launcher/network/nft.h"
#include "private_netns.h"
#include "support/process.h"

namespace berth::network {
namespace {

constexpr const char* kBridge = "berthnft0";
constexpr int kTimeoutMs = 700;

// Runs a command (in this thread's netns); its exit status, a failure if not 0.
int run(const std::string& command) {
  test::ProcessResult result = test::run_shell(command);
  if (!result.succeeded()) ADD_FAILURE() << command << ": " << result;
  return result.exit_code;
}

// A named netns for the container, deleted with the object.
class ContainerNetns {
 public:
  ContainerNetns() : name_("berthnft-" + std::to_string(::getpid())) {
    run("ip netns add " + name_);
    fd_.reset(::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC));
  }
  ~ContainerNetns() {
    fd_.reset();
    run("ip netns del " + name_);
  }
  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }

 private:
  std::string name_;
  UniqueFd fd_;
};

// A socket of `netns` (-1: this thread's): a socket stays in the netns it
// was made in.
UniqueFd socket_in(int netns, int type) {
  if (netns < 0) return UniqueFd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  UniqueFd here(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (::setns(netns, CLONE_NEWNET) < 0) return UniqueFd();
  UniqueFd socket(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (::setns(here.get(), CLONE_NEWNET) < 0) ADD_FAILURE() << "setns back";
  return socket;
}

sockaddr_in address(const char* ip, uint16_t port) {
  sockaddr_in result = {};
  result.sin_family = AF_INET;
  result.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &result.sin_addr);
  return result;
}

UniqueFd server(int netns, int type, const char* ip, uint16_t port) {
  UniqueFd socket = socket_in(netns, type);
  int one = 1;
  ::setsockopt(socket.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in where = address(ip, port);
  if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&where), sizeof where) < 0 ||
      (type == SOCK_STREAM && ::listen(socket.get(), 16) < 0))
    ADD_FAILURE() << "bind " << ip << ":" << port << ": " << std::strerror(errno);
  return socket;
}

bool readable(int fd) {
  pollfd entry = {fd, POLLIN, 0};
  return ::poll(&entry, 1, kTimeoutMs) == 1;
}

std::string peer_of(const sockaddr_in& peer) {
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
  return text;
}

// Connects from `netns` to ip:port; the address the listener saw the
// connection come from, or nothing if it did not arrive.
std::optional<std::string> tcp_reaches(int netns, const char* ip, uint16_t port, int listener) {
  UniqueFd client = socket_in(netns, SOCK_STREAM | SOCK_NONBLOCK);
  sockaddr_in where = address(ip, port);
  ::connect(client.get(), reinterpret_cast<sockaddr*>(&where), sizeof where);
  if (!readable(listener)) return std::nullopt;
  sockaddr_in peer = {};
  socklen_t length = sizeof peer;
  UniqueFd accepted(::accept(listener, reinterpret_cast<sockaddr*>(&peer), &length));
  if (!accepted) return std::nullopt;
  return peer_of(peer);
}

// Sends a datagram from `netns` (from `source_port` if given) to ip:port;
// the address the server saw, or nothing. The server answers and the
// answer must come back.
std::optional<std::string> udp_reaches(int netns, const char* ip, uint16_t port, int server,
                                       uint16_t source_port = 0) {
  UniqueFd client = socket_in(netns, SOCK_DGRAM);
  if (source_port) {
    sockaddr_in from = address("0.0.0.0", source_port);
    int one = 1;
    ::setsockopt(client.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::bind(client.get(), reinterpret_cast<sockaddr*>(&from), sizeof from);
  }
  sockaddr_in where = address(ip, port);
  ::sendto(client.get(), "ping", 4, 0, reinterpret_cast<sockaddr*>(&where), sizeof where);
  if (!readable(server)) return std::nullopt;
  char buffer[16];
  sockaddr_in peer = {};
  socklen_t length = sizeof peer;
  if (::recvfrom(server, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&peer), &length) < 0)
    return std::nullopt;
  ::sendto(server, "pong", 4, 0, reinterpret_cast<sockaddr*>(&peer), length);
  if (!readable(client.get())) return std::nullopt;
  return peer_of(peer);
}

class NftTrafficTest : public nettest::NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (HasFatalFailure()) return;
    const std::string& ctr = container_.name();
    for (const std::string& command :
         {std::string("ip link set lo up"),
          // Forwarding is per incoming interface; set it for this netns.
          std::string("echo 1 > /proc/sys/net/ipv4/ip_forward"),
          std::string("ip link add berthnft0 type bridge"),
          std::string("ip addr add 10.88.0.1/24 dev berthnft0"),
          std::string("ip link set berthnft0 up"),
          // Loopback publishing needs route_localnet on the bridge.
          std::string("echo 1 > /proc/sys/net/ipv4/conf/berthnft0/route_localnet"),
          // The host's "NIC" (no dummy driver here): one veth end.
          std::string("ip link add nic0 type veth peer name nic1"),
          std::string("ip addr add 192.0.2.1/24 dev nic0"), std::string("ip link set nic0 up"),
          std::string("ip link set nic1 up"),
          "ip link add vnft0 type veth peer name eth0 netns " + ctr,
          std::string("ip link set vnft0 master berthnft0 up"),
          std::string("ip link set vnft0 type bridge_slave hairpin on"),
          "ip -n " + ctr + " addr add 10.88.0.2/24 dev eth0", "ip -n " + ctr + " link set eth0 up",
          "ip -n " + ctr + " link set lo up", "ip -n " + ctr + " route add default via 10.88.0.1"})
      ASSERT_EQ(run(command), 0);
    Status made = ensure_nat_table(kBridge, Ipv4Subnet::parse("10.88.0.0/24").value());
    ASSERT_TRUE(made) << made.error().message();
  }

  Status publish(Protocol protocol, const char* host_ip, uint16_t host_port,
                 uint16_t container_port) {
    std::optional<Ipv4> host;
    if (host_ip) host = Ipv4::parse(host_ip).value();
    return add_port_mappings(
        kBridge,
        {PortMapping{host, host_port, Ipv4::parse("10.88.0.2").value(), container_port, protocol}});
  }

  ContainerNetns container_;
};

TEST_F(NftTrafficTest, PublishedPortsReachTheContainerOverLoopbackAndOtherAddresses) {
  UniqueFd tcp = server(container_.fd(), SOCK_STREAM, "0.0.0.0", 80);
  UniqueFd udp = server(container_.fd(), SOCK_DGRAM, "0.0.0.0", 53);
  EXPECT_FALSE(tcp_reaches(-1, "127.0.0.1", 8080, tcp.get())) << "before publishing";
  ASSERT_TRUE(publish(Protocol::Tcp, nullptr, 8080, 80));
  ASSERT_TRUE(publish(Protocol::Udp, nullptr, 5353, 53));
  ASSERT_TRUE(publish(Protocol::Tcp, "192.0.2.1", 8081, 80));

  // From loopback the source is masqueraded to the bridge's address.
  EXPECT_EQ(tcp_reaches(-1, "127.0.0.1", 8080, tcp.get()), "10.88.0.1");
  EXPECT_EQ(tcp_reaches(-1, "192.0.2.1", 8080, tcp.get()), "192.0.2.1");
  EXPECT_EQ(udp_reaches(-1, "127.0.0.1", 5353, udp.get()), "10.88.0.1");
  EXPECT_EQ(udp_reaches(-1, "192.0.2.1", 5353, udp.get()), "192.0.2.1");
  // The address-specific map: only on its address. 8080 on 192.0.2.1 found
  // no element in tcp_addr and fell through to tcp_any above.
  EXPECT_EQ(tcp_reaches(-1, "192.0.2.1", 8081, tcp.get()), "192.0.2.1");
  EXPECT_FALSE(tcp_reaches(-1, "127.0.0.1", 8081, tcp.get()));
  // Both maps holding the port: the host address's element wins there.
  UniqueFd tcp81 = server(container_.fd(), SOCK_STREAM, "0.0.0.0", 81);
  ASSERT_TRUE(publish(Protocol::Tcp, nullptr, 8082, 80));
  ASSERT_TRUE(publish(Protocol::Tcp, "192.0.2.1", 8082, 81));
  EXPECT_EQ(tcp_reaches(-1, "192.0.2.1", 8082, tcp81.get()), "192.0.2.1");
  EXPECT_EQ(tcp_reaches(-1, "127.0.0.1", 8082, tcp.get()), "10.88.0.1");
  // Hairpin: the container through its own published port.
  EXPECT_EQ(tcp_reaches(container_.fd(), "10.88.0.1", 8080, tcp.get()), "10.88.0.1");
  // Sanity of the set-up: the host reaches the container directly.
  EXPECT_EQ(tcp_reaches(-1, "10.88.0.2", 80, tcp.get()), "10.88.0.1");

  ASSERT_TRUE(remove_port_mappings(
      kBridge, {PortMapping{{}, 8080, Ipv4::parse("10.88.0.2").value(), 80, Protocol::Tcp}}));
  EXPECT_FALSE(tcp_reaches(-1, "127.0.0.1", 8080, tcp.get())) << "after unpublishing";
}

TEST_F(NftTrafficTest, GuardKeepsContainersOffTheHostsLoopbackServices) {
  UniqueFd host_tcp = server(-1, SOCK_STREAM, "127.0.0.1", 9999);
  UniqueFd host_udp = server(-1, SOCK_DGRAM, "127.0.0.1", 9998);
  UniqueFd tcp = server(container_.fd(), SOCK_STREAM, "0.0.0.0", 80);
  ASSERT_TRUE(publish(Protocol::Tcp, nullptr, 8080, 80));
  // The attack: the container (root in its netns) routes 127.0.0.0/8 to
  // the host, ahead of its own local table, and accepts loopback-sourced
  // answers on eth0.
  const std::string in_ctr = "ip -n " + container_.name() + " ";
  for (const std::string& command :
       {in_ctr + "rule add to 127.0.0.0/8 lookup 100 pref 10",
        in_ctr + "rule add pref 100 lookup local", in_ctr + "rule del pref 0",
        in_ctr + "route add 127.0.0.0/8 via 10.88.0.1 dev eth0 table 100",
        "ip netns exec " + container_.name() + " sysctl -qw net.ipv4.conf.eth0.route_localnet=1"})
    ASSERT_EQ(run(command), 0);

  EXPECT_FALSE(tcp_reaches(container_.fd(), "127.0.0.1", 9999, host_tcp.get()));
  EXPECT_FALSE(udp_reaches(container_.fd(), "127.0.0.1", 9998, host_udp.get()));
  // Publishing over loopback still works with the guard in place.
  EXPECT_EQ(tcp_reaches(-1, "127.0.0.1", 8080, tcp.get()), "10.88.0.1");

  // Without the guard the same packets get through: the attack is real.
  ASSERT_EQ(run("nft flush chain ip berthnft0 guard"), 0);
  EXPECT_EQ(tcp_reaches(container_.fd(), "127.0.0.1", 9999, host_tcp.get()), "10.88.0.2");
  EXPECT_EQ(udp_reaches(container_.fd(), "127.0.0.1", 9998, host_udp.get()), "10.88.0.2");
}

TEST_F(NftTrafficTest, PublishingUdpFlushesFlowsThatPredateIt) {
  UniqueFd udp = server(container_.fd(), SOCK_DGRAM, "0.0.0.0", 53);
  // A flow from a fixed source port to 5353 before anything is published:
  // conntrack remembers it un-NATed.
  EXPECT_FALSE(udp_reaches(-1, "127.0.0.1", 5353, udp.get(), 40000));
  // Published behind berth's back (no flush), the old flow keeps bypassing
  // the DNAT...
  ASSERT_EQ(run("nft add element ip berthnft0 udp_any '{ 5353 : 10.88.0.2 . 53 }'"), 0);
  EXPECT_FALSE(udp_reaches(-1, "127.0.0.1", 5353, udp.get(), 40000)) << "conntrack not in play?";
  ASSERT_EQ(run("nft delete element ip berthnft0 udp_any '{ 5353 }'"), 0);
  // ...while add_port_mappings flushes it.
  Status published = publish(Protocol::Udp, nullptr, 5353, 53);
  ASSERT_TRUE(published) << published.error().message();
  EXPECT_EQ(udp_reaches(-1, "127.0.0.1", 5353, udp.get(), 40000), "10.88.0.1");
}

}  // namespace
}  // namespace berth::network
