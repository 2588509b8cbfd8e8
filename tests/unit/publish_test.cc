// -p and -P parsing, host port reservation and the lease file: the pure and
// unprivileged parts of the bridge network (the rest is in tests/network
// and tests/launcher/network_test.cc).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "launcher/network/leases.h"
#include "launcher/network/ports.h"
#include "launcher/run_options.h"
#include "support/temp_dir.h"

namespace berth {
namespace {

using launcher::parse_publish;
using network::Ipv4;
using network::PortRequest;
using network::Protocol;

std::string publish_error(const std::string& flag) {
  auto parsed = parse_publish(flag);
  return parsed ? "" : parsed.error().message();
}

TEST(Publish, ParsesDockersForms) {
  auto only_container = parse_publish("8888");
  ASSERT_TRUE(only_container) << only_container.error().message();
  EXPECT_EQ(*only_container, (PortRequest{std::nullopt, 0, 8888, Protocol::Tcp}));
  EXPECT_EQ(*parse_publish("8888:80"), (PortRequest{std::nullopt, 8888, 80, Protocol::Tcp}));
  EXPECT_EQ(*parse_publish("127.0.0.1:8888:80/udp"),
            (PortRequest{*Ipv4::parse("127.0.0.1"), 8888, 80, Protocol::Udp}));
  EXPECT_EQ(*parse_publish("127.0.0.1::80"),
            (PortRequest{*Ipv4::parse("127.0.0.1"), 0, 80, Protocol::Tcp}));
  EXPECT_EQ(*parse_publish("0.0.0.0:53:53/udp"),
            (PortRequest{std::nullopt, 53, 53, Protocol::Udp}));
}

TEST(Publish, NamesWhatIsWrong) {
  const std::pair<const char*, const char*> refused[] = {
      {"80:70000", "-p 80:70000: invalid container port \"70000\" (1-65535)"},
      {"80:8x", "-p 80:8x: invalid container port \"8x\""},
      {"0:80", "-p 0:80: invalid host port \"0\" (1-65535)"},
      {"8000-8010:80", "-p 8000-8010:80: port ranges are not supported"},
      {"80/sctp", "-p 80/sctp: unknown protocol \"sctp\" (tcp or udp)"},
      {"[::1]:80:80", "-p [::1]:80:80: IPv6 host addresses are not supported"},
      {"1.2.3:80:80", "-p 1.2.3:80:80: \"1.2.3\" is not an IPv4 address"},
      {"a:b:c:d", "-p a:b:c:d: expected [IP:]HOSTPORT:CTRPORT[/tcp|udp] or CTRPORT"},
      {"", "-p : invalid container port \"\" (1-65535)"}};
  for (const auto& [flag, message] : refused) EXPECT_EQ(publish_error(flag), message);
}

TEST(Publish, AllExposedPortsButThoseAlreadyPublished) {
  nlohmann::json config = {{"ExposedPorts", {{"8888/tcp", {}}, {"53/udp", {}}, {"9000", {}}}}};
  auto requests = launcher::exposed_port_requests(config, {*parse_publish("9999:8888")});
  ASSERT_TRUE(requests) << requests.error().message();
  EXPECT_EQ(*requests, (std::vector<PortRequest>{{std::nullopt, 0, 53, Protocol::Udp},
                                                 {std::nullopt, 0, 9000, Protocol::Tcp}}));
  auto bad = launcher::exposed_port_requests({{"ExposedPorts", {{"http", {}}}}}, {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "the image's ExposedPorts \"http\" is not PORT/PROTO");
  EXPECT_TRUE(launcher::exposed_port_requests(nlohmann::json::object(), {})->empty());
}

TEST(HostPorts, ABoundPortIsRefusedAndPortZeroGetsAFreeOne) {
  auto first = network::reserve_host_ports({{*Ipv4::parse("127.0.0.1"), 0, 80, Protocol::Tcp}});
  ASSERT_TRUE(first) << first.error().message();
  uint16_t port = (*first)[0].request.host_port;
  EXPECT_NE(port, 0);
  auto again = network::reserve_host_ports({{*Ipv4::parse("127.0.0.1"), port, 80, Protocol::Tcp}});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().errno_value(), EADDRINUSE);
  EXPECT_NE(again.error().message().find(
                fmt::format("host port 127.0.0.1:{}/tcp is already in use", port)),
            std::string::npos)
      << again.error().message();
  // Every address includes 127.0.0.1: taken as well.
  EXPECT_FALSE(network::reserve_host_ports({{std::nullopt, port, 80, Protocol::Tcp}}));
  // UDP is another port space.
  EXPECT_TRUE(network::reserve_host_ports({{*Ipv4::parse("127.0.0.1"), port, 80, Protocol::Udp}}));
  auto foreign = network::reserve_host_ports({{*Ipv4::parse("192.0.2.123"), 0, 80, Protocol::Tcp}});
  ASSERT_FALSE(foreign);
  EXPECT_NE(foreign.error().message().find("192.0.2.123 is not an address of this host"),
            std::string::npos)
      << foreign.error().message();
}

TEST(HostPorts, DescribedAsDockerDoes) {
  network::PortMapping mapping{std::nullopt, 8888, *Ipv4::parse("10.87.0.2"), 8888, Protocol::Tcp};
  EXPECT_EQ(network::describe_mapping(mapping), "8888/tcp -> 0.0.0.0:8888");
  mapping.host_ip = *Ipv4::parse("127.0.0.1");
  mapping.protocol = Protocol::Udp;
  EXPECT_EQ(network::describe_mapping(mapping), "8888/udp -> 127.0.0.1:8888");
}

class LeaseFileTest : public ::testing::Test {
 protected:
  test::TempDir temp_{"berth-leases"};
  const std::string dir_ = temp_.path();
};

TEST_F(LeaseFileTest, HandsOutTheLowestFreeAddressAndRoundTrips) {
  auto subnet = *network::Ipv4Subnet::parse("10.87.0.0/30");  // .1 bridge, .2 the only host
  {
    auto file = network::LeaseFile::open(dir_, "berth0");
    ASSERT_TRUE(file) << file.error().message();
    EXPECT_TRUE(file->leases().empty());
    auto address = file->free_address(subnet);
    ASSERT_TRUE(address) << address.error().message();
    EXPECT_EQ(address->to_string(), "10.87.0.2");
    network::Lease lease{"c1", *address, ::getpid(), 1, {}};
    lease.ports.push_back({*Ipv4::parse("127.0.0.1"), 8888, *address, 80, Protocol::Udp});
    file->leases().push_back(lease);
    auto full = file->free_address(subnet);
    ASSERT_FALSE(full);
    EXPECT_NE(full.error().message().find("no free address left in 10.87.0.0/30"),
              std::string::npos);
    ASSERT_TRUE(file->save());
  }
  auto reread = network::LeaseFile::open(dir_, "berth0");
  ASSERT_TRUE(reread) << reread.error().message();
  ASSERT_EQ(reread->leases().size(), 1u);
  const network::Lease& lease = reread->leases()[0];
  EXPECT_EQ(lease.container_id, "c1");
  ASSERT_EQ(lease.ports.size(), 1u);
  EXPECT_EQ(lease.ports[0].host_ip->to_string(), "127.0.0.1");
  EXPECT_EQ(lease.ports[0].protocol, Protocol::Udp);
  // Our start time is not 1: the lease's owner is gone (pid reuse guard).
  EXPECT_FALSE(network::lease_owner_alive(lease));
}

TEST_F(LeaseFileTest, ADamagedFileIsNamed) {
  std::filesystem::create_directories(dir_);
  FILE* f = std::fopen((dir_ + "/berth0.json").c_str(), "w");
  std::fputs("{\"leases\": [{\"container_id\": 5}]}", f);
  std::fclose(f);
  auto file = network::LeaseFile::open(dir_, "berth0");
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message().find(dir_ + "/berth0.json is damaged"), std::string::npos)
      << file.error().message();
}

}  // namespace
}  // namespace berth
