// The bridge network, end to end through `berth run`: addresses, container
// to container and to the bridge, published TCP and UDP ports reached on
// the host's loopback and on its own NIC address, --network none and host,
// the CVE-2020-8558 guard, port conflicts, and teardown on every path.
//
// Each test runs every berth command in a network namespace of its own (a
// stand-in for the host: lo, and a NIC with 198.51.100.1), so its
// bridge, nftables table, leases and traffic never touch the real host, and
// the namespace goes with the test. Traffic goes only to addresses inside it.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

#include "harness.h"

namespace berth::test::ltest {
namespace {

constexpr const char* kNicAddress = "198.51.100.1";

class NetworkTest : public LauncherTest {
 protected:
  void SetUp() override {
    UniqueFd original(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(original) << std::strerror(errno);
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET): " << std::strerror(errno);
    netns_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    ASSERT_EQ(::setns(original.get(), CLONE_NEWNET), 0) << std::strerror(errno);
    ASSERT_TRUE(netns_);
    netns_fd_ = netns_.get();
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"link", "set", "lo", "up"},
             // A veth pair as the NIC: this kernel may have no dummy driver.
             {"link", "add", "nic0", "type", "veth", "peer", "name", "nic0-peer"},
             {"addr", "add", std::string(kNicAddress) + "/24", "dev", "nic0"},
             {"link", "set", "nic0-peer", "up"},
             {"link", "set", "nic0", "up"}}) {
      args.insert(args.begin(), "/usr/sbin/ip");
      ProcessResult ip = InNetns(args);
      ASSERT_TRUE(ip.succeeded()) << ip;
    }
    LauncherTest::SetUp();
  }
  void TearDown() override {
    servers_.clear();
    LauncherTest::TearDown();
    remove_empty_lease_dir(netns_fd_);
  }

  ProcessResult InNetns(const std::vector<std::string>& argv,
                        std::chrono::milliseconds timeout = 10s) {
    return run_process(argv, {.timeout = timeout, .netns_fd = netns_fd_});
  }
  // curl on the test's host, retried while the server in the container starts.
  ProcessResult Fetch(const std::string& url) {
    ProcessResult result;
    eventually([&] {
      result = InNetns({"/usr/bin/curl", "-sS", "--max-time", "3", url});
      return result.succeeded();
    });
    return result;
  }
  // A net-probe server on the test's host.
  void StartHostServer(const std::string& verb, const std::string& ip, const std::string& port) {
    servers_.push_back(
        BackgroundProcess::start({NET_PROBE_BINARY, verb, ip, port}, {.netns_fd = netns_fd_}));
    BackgroundProcess& server = servers_.back();
    ASSERT_TRUE(eventually([&] { return server.out().find("ready") != std::string::npos; }))
        << server.err();
  }
  // -v of net-probe into a container, and the httpd command of one that serves text.
  std::vector<std::string> ProbeVolume() {
    return {"-v", std::string(NET_PROBE_BINARY) + ":/net-probe:ro"};
  }
  std::string Address(const std::string& id) {
    return Inspect(id)["NetworkSettings"].value("IPAddress", "");
  }
  std::string Nft() { return InNetns({"/usr/sbin/nft", "list", "table", "ip", "berth0"}).out; }
  // The names of the links (not their state or MAC, which a bridge changes
  // as ports come and go).
  std::string Links() {
    std::string names;
    for (const std::string& name : link_names(netns_fd_)) names += name + "\n";
    return names;
  }

  UniqueFd netns_;
  std::vector<BackgroundProcess> servers_;
};

const std::vector<std::string> kWebServer = {"sh", "-c",
                                             "mkdir -p /www && echo hello-from-$HOSTNAME > "
                                             "/www/index.html && exec httpd -f -p 8080 -h /www"};

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST_F(NetworkTest, ContainersGetDistinctAddressesAndReachEachOtherAndTheBridge) {
  std::string web = RunDetached(concat(concat(ProbeVolume(), {"--hostname", "web", "busybox:test"}),
                                       {"/net-probe", "tcp-serve", "0.0.0.0", "8080"}));
  std::string client =
      RunDetached(concat(ProbeVolume(), {"--hostname", "client", "busybox:test", "sleep", "60"}));
  ASSERT_FALSE(web.empty());
  ASSERT_FALSE(client.empty());
  json settings = Inspect(web)["NetworkSettings"];
  std::string web_ip = settings.value("IPAddress", "");
  std::string client_ip = Address(client);
  EXPECT_EQ(settings.value("Gateway", ""), "10.87.0.1");
  EXPECT_EQ(settings.value("IPPrefixLen", 0), 16);
  EXPECT_EQ(web_ip.rfind("10.87.", 0), 0u) << web_ip;
  EXPECT_EQ(client_ip.rfind("10.87.", 0), 0u) << client_ip;
  EXPECT_NE(web_ip, client_ip);

  ProcessResult fetched;
  ASSERT_TRUE(eventually([&] {
    fetched = Berth({"exec", client, "/net-probe", "tcp-ask", web_ip, "8080"});
    return fetched.succeeded();
  })) << fetched;
  EXPECT_EQ(fetched.out, "net-probe\n");
  ProcessResult ping = Berth({"exec", client, "ping", "-c", "1", "-W", "2", "10.87.0.1"});
  EXPECT_TRUE(ping.succeeded()) << ping;
  // Docker's /etc/hosts, /etc/hostname and resolv.conf, generated per container.
  ProcessResult hosts = Berth({"exec", web, "cat", "/etc/hosts", "/etc/hostname"});
  ASSERT_TRUE(hosts.succeeded()) << hosts;
  EXPECT_NE(hosts.out.find("127.0.0.1\tlocalhost"), std::string::npos) << hosts.out;
  EXPECT_NE(hosts.out.find(web_ip + "\tweb\n"), std::string::npos) << hosts.out;
  EXPECT_NE(hosts.out.find("\nweb\n"), std::string::npos) << hosts.out;
  ProcessResult links = Berth({"exec", web, "ls", "/sys/class/net"});
  EXPECT_EQ(links.out, "eth0\nlo\n") << links;
  EXPECT_EQ(Leases().size(), 2u);
}

TEST_F(NetworkTest, PublishedPortIsReachedOnLoopbackAndOnTheHostsOwnAddress) {
  std::string id = RunDetached(
      concat({"--hostname", "pub", "-p", "18080:8080", "-p", "8080", "busybox:test"}, kWebServer));
  ASSERT_FALSE(id.empty());
  ProcessResult loopback = Fetch("http://127.0.0.1:18080/");
  EXPECT_EQ(loopback.out, "hello-from-pub\n") << loopback;
  ProcessResult nic = Fetch(std::string("http://") + kNicAddress + ":18080/");
  EXPECT_EQ(nic.out, "hello-from-pub\n") << nic;

  // -p 8080: a free host port, shown by `berth port` and `berth ps`.
  ProcessResult port = Berth({"port", id, "8080/tcp"});
  ASSERT_TRUE(port.succeeded()) << port;
  std::vector<std::string> lines = split_lines(port.out);
  ASSERT_EQ(lines.size(), 2u) << port.out;
  EXPECT_EQ(lines[0], "0.0.0.0:18080");
  std::string chosen = lines[1].substr(lines[1].find(':') + 1);
  EXPECT_GT(std::stoi(chosen), 0);
  EXPECT_EQ(Fetch("http://127.0.0.1:" + chosen + "/").out, "hello-from-pub\n");
  ProcessResult all = Berth({"port", id});
  EXPECT_NE(all.out.find("8080/tcp -> 0.0.0.0:18080\n"), std::string::npos) << all.out;
  ProcessResult ps = Berth({"ps"});
  EXPECT_NE(ps.out.find("0.0.0.0:18080->8080/tcp, 0.0.0.0:" + chosen + "->8080/tcp"),
            std::string::npos)
      << ps.out;
  json ports = Inspect(id)["NetworkSettings"]["Ports"];
  EXPECT_EQ(ports["8080/tcp"].size(), 2u) << ports.dump();

  // Gone with the container: `berth stop` unpublishes and frees the address.
  ProcessResult stopped = Berth({"stop", "-t", "1", id});
  ASSERT_TRUE(stopped.succeeded()) << stopped;
  EXPECT_TRUE(Leases().empty()) << Leases().dump();
  EXPECT_EQ(Nft().find("18080"), std::string::npos) << Nft();
  EXPECT_TRUE(
      eventually([&] { return Links().find("vb-" + id.substr(0, 12)) == std::string::npos; }, 5s))
      << Links();
  EXPECT_FALSE(
      InNetns({"/usr/bin/curl", "-sS", "--max-time", "2", "http://127.0.0.1:18080/"}).succeeded());
}

// -P: every port of the image's ExposedPorts (8080/tcp and 5353/udp in
// busybox:oci) on a free host port.
TEST_F(NetworkTest, PublishAllPublishesTheImagesExposedPorts) {
  Import({busybox_images().oci_dir});
  std::string id =
      RunDetached(concat(ProbeVolume(), {"-P", "--entrypoint", "/net-probe", "busybox:oci",
                                         "tcp-serve", "0.0.0.0", "8080"}));
  ASSERT_FALSE(id.empty());
  ProcessResult port = Berth({"port", id});
  ASSERT_TRUE(port.succeeded()) << port;
  std::vector<std::string> lines = split_lines(port.out);
  ASSERT_EQ(lines.size(), 2u) << port.out;
  EXPECT_EQ(lines[0].rfind("5353/udp -> 0.0.0.0:", 0), 0u) << port.out;
  EXPECT_EQ(lines[1].rfind("8080/tcp -> 0.0.0.0:", 0), 0u) << port.out;
  std::string host_port = lines[1].substr(lines[1].rfind(':') + 1);
  ProcessResult answer;
  EXPECT_TRUE(eventually([&] {
    answer = InNetns({NET_PROBE_BINARY, "tcp-ask", "127.0.0.1", host_port});
    return answer.succeeded();
  })) << answer;
  EXPECT_EQ(answer.out, "net-probe\n");
}

TEST_F(NetworkTest, PublishedUdpPortAnswers) {
  std::string id =
      RunDetached(concat(concat(ProbeVolume(), {"-p", "127.0.0.1:15353:5353/udp", "busybox:test"}),
                         {"/net-probe", "udp-serve", "0.0.0.0", "5353"}));
  ASSERT_FALSE(id.empty());
  ProcessResult answer;
  ASSERT_TRUE(eventually([&] {
    answer = InNetns({NET_PROBE_BINARY, "udp-ask", "127.0.0.1", "15353", "hello-udp"});
    return answer.succeeded();
  })) << answer;
  EXPECT_EQ(answer.out, "net-probe:hello-udp\n");
  // Bound to 127.0.0.1 only: the NIC address is not published.
  EXPECT_FALSE(InNetns({NET_PROBE_BINARY, "udp-ask", kNicAddress, "15353", "x"}).succeeded());
  EXPECT_EQ(Berth({"port", id}).out, "5353/udp -> 127.0.0.1:15353\n");
}

// IPv4 forwarding is host-wide: berth turns it on for the bridge and says
// so, once, on the caller's stderr (not in a -d container's log).
TEST_F(NetworkTest, TurningOnForwardingIsSaidOnce) {
  ASSERT_EQ(InNetns({"/bin/cat", "/proc/sys/net/ipv4/ip_forward"}).out, "0\n");
  ProcessResult first =
      Berth({"run", "-d", "busybox:test", "sh", "-c", "echo from-the-container; sleep 60"});
  ASSERT_TRUE(first.succeeded()) << first;
  EXPECT_EQ(first.err, "berth: turned on IPv4 forwarding (net.ipv4.ip_forward=1) for berth0\n");
  std::string id = first.out.substr(0, first.out.find('\n'));
  ASSERT_TRUE(WaitForLog(id, "from-the-container"));
  EXPECT_EQ(Berth({"logs", id}).out, "from-the-container\n");
  EXPECT_EQ(InNetns({"/bin/cat", "/proc/sys/net/ipv4/ip_forward"}).out, "1\n");
  ProcessResult second = RunRm({"busybox:test", "true"});
  ASSERT_TRUE(second.succeeded()) << second;
  EXPECT_EQ(second.err, "");
}

TEST_F(NetworkTest, NetworkNoneHasOnlyLoopback) {
  ProcessResult links = RunRm({"--network", "none", "busybox:test", "cat", "/proc/net/dev"});
  ASSERT_TRUE(links.succeeded()) << links;
  EXPECT_NE(links.out.find("lo:"), std::string::npos) << links.out;
  EXPECT_EQ(links.out.find("eth0"), std::string::npos) << links.out;
  EXPECT_EQ(links.out.find("nic0"), std::string::npos) << links.out;
  ProcessResult refused = RunRm({"--network", "none", "-p", "8080:80", "busybox:test", "true"});
  EXPECT_EQ(refused.exit_code, 125);
  EXPECT_NE(refused.err.find("only with --network bridge"), std::string::npos) << refused;
}

TEST_F(NetworkTest, NetworkHostSeesTheHostsLinks) {
  ProcessResult links = RunRm({"--network", "host", "busybox:test", "cat", "/proc/net/dev"});
  ASSERT_TRUE(links.succeeded()) << links;
  EXPECT_NE(links.out.find("nic0:"), std::string::npos) << links.out;
  EXPECT_EQ(links.out.find("eth0"), std::string::npos) << links.out;
  EXPECT_TRUE(Leases().empty());
}

// CVE-2020-8558: route_localnet on the bridge (needed to publish on
// 127.0.0.1) would let a container that routes 127.0.0.0/8 to the bridge
// reach the host's 127.0.0.1-only services. The container here is given
// the routes and route_localnet from outside (its /proc/sys is read-only),
// as an attacker with NET_ADMIN in its own namespace could set them.
TEST_F(NetworkTest, ContainerCannotReachTheHostsLoopbackOnlyServices) {
  StartHostServer("tcp-serve", "127.0.0.1", "19090");
  StartHostServer("udp-serve", "127.0.0.1", "19091");
  ASSERT_TRUE(InNetns({NET_PROBE_BINARY, "tcp-ask", "127.0.0.1", "19090"}).succeeded());
  std::string id =
      RunDetached(concat(concat(ProbeVolume(), {"-p", "18081:8080", "busybox:test"}), kWebServer));
  ASSERT_FALSE(id.empty());
  int pid = Inspect(id)["State"].value("Pid", 0);
  ASSERT_GT(pid, 0);
  std::string ns = "--net=/proc/" + std::to_string(pid) + "/ns/net";
  for (const char* step : {"ip route del local 127.0.0.0/8 dev lo table local",
                           "ip route del local 127.0.0.1 dev lo table local",
                           "ip route add 127.0.0.0/8 via 10.87.0.1 dev eth0",
                           "echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet",
                           "echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet"}) {
    ProcessResult done = run_process({"/usr/bin/nsenter", ns, "/bin/sh", "-c", step});
    EXPECT_TRUE(done.succeeded()) << step << ": " << done;
  }
  ProcessResult route =
      run_process({"/usr/bin/nsenter", ns, "/usr/sbin/ip", "route", "get", "127.0.0.1"});
  EXPECT_NE(route.out.find("via 10.87.0.1"), std::string::npos) << route;
  ProcessResult tcp = Berth({"exec", id, "/net-probe", "tcp-ask", "127.0.0.1", "19090"});
  EXPECT_FALSE(tcp.succeeded()) << "the container reached the host's 127.0.0.1:19090: " << tcp;
  ProcessResult udp = Berth({"exec", id, "/net-probe", "udp-ask", "127.0.0.1", "19091", "leak"});
  EXPECT_FALSE(udp.succeeded()) << "the container reached the host's 127.0.0.1:19091/udp: " << udp;
  // Publishing on the host's loopback still works.
  EXPECT_EQ(Fetch("http://127.0.0.1:18081/").out.find("hello-from-"), 0u);
}

TEST_F(NetworkTest, PortInUseOrPublishedIsAnErrorBeforeTheContainerStarts) {
  StartHostServer("tcp-serve", "0.0.0.0", "18082");
  ProcessResult taken = RunRm({"-p", "18082:8080", "busybox:test", "touch", "/started"});
  EXPECT_EQ(taken.exit_code, 125) << taken;
  EXPECT_NE(taken.err.find("host port 0.0.0.0:18082/tcp is already in use"), std::string::npos)
      << taken;
  std::string first = RunDetached({"-p", "127.0.0.1:18083:8080", "busybox:test", "sleep", "60"});
  ASSERT_FALSE(first.empty());
  ProcessResult twice = RunRm({"-p", "18083:80", "busybox:test", "true"});
  EXPECT_EQ(twice.exit_code, 125) << twice;
  EXPECT_NE(twice.err.find("18083"), std::string::npos) << twice;
  ProcessResult bad = RunRm({"-p", "80:70000", "busybox:test", "true"});
  EXPECT_NE(bad.err.find("-p 80:70000: invalid container port \"70000\""), std::string::npos)
      << bad;
  EXPECT_EQ(Leases().size(), 1u) << Leases().dump();
}

// The monitor of a -d container is killed and the container ends on its
// own: nobody finishes it, so its lease and DNAT stay until the next berth
// command that reaps (`berth run`, `berth system prune`).
TEST_F(NetworkTest, WhatAKilledMonitorLeftIsReapedByTheNextCommand) {
  std::string id = RunDetached({"-p", "18084:8080", "busybox:test", "sleep", "60"});
  ASSERT_FALSE(id.empty());
  json record = Record(id);
  pid_t monitor = record.value("supervisor_pid", 0);
  ASSERT_GT(monitor, 0);
  ASSERT_EQ(::kill(monitor, SIGKILL), 0);
  ASSERT_TRUE(wait_for_pid_exit(monitor, 10s));
  int pid = Inspect(id)["State"].value("Pid", 0);
  ASSERT_GT(pid, 0);
  ::kill(pid, SIGKILL);
  ASSERT_TRUE(wait_for_pid_exit(pid, 10s));
  EXPECT_EQ(Leases().size(), 1u);
  EXPECT_NE(Nft().find("18084"), std::string::npos);
  ProcessResult pruned = Berth({"system", "prune", "-f"});
  ASSERT_TRUE(pruned.succeeded()) << pruned;
  EXPECT_NE(pruned.out.find(id), std::string::npos) << pruned.out;
  EXPECT_TRUE(Leases().empty()) << Leases().dump();
  EXPECT_EQ(Nft().find("18084"), std::string::npos) << Nft();
}

// `rm -f` of a running published container, and 50 `run --rm -p` in a row,
// leave the table and the links as they were.
TEST_F(NetworkTest, ManyRunsLeaveTheTableAndLinksAsTheyWere) {
  ASSERT_TRUE(RunRm({"busybox:test", "true"}).succeeded());  // makes the bridge and the table
  // The first container's veth goes shortly after it (a kernel workqueue).
  ASSERT_TRUE(eventually([&] { return Links().find("vb-") == std::string::npos; }, 5s)) << Links();
  std::string table = Nft(), links = Links();
  std::string id = RunDetached({"-p", "18085:8080", "busybox:test", "sleep", "60"});
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(Berth({"rm", "-f", id}).succeeded());
  for (int i = 0; i < 50; ++i) {
    ProcessResult run = RunRm({"-p", "18086:8080", "busybox:test", "true"});
    ASSERT_TRUE(run.succeeded()) << "run " << i << ": " << run;
  }
  EXPECT_EQ(Nft(), table);
  // The last veth goes shortly after its namespace (a kernel workqueue).
  EXPECT_TRUE(eventually([&] { return Links() == links; }, 5s)) << Links() << "\nwas\n" << links;
  EXPECT_TRUE(Leases().empty()) << Leases().dump();
}

}  // namespace
}  // namespace berth::test::ltest
