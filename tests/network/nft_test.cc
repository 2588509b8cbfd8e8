// The nftables table against the kernel, each test in a network namespace
// of its own. The checks look at the table with the `nft` command and, end
// to end, send TCP and UDP through it between that namespace (the "host")
// and a "container" namespace behind a bridge, all made here with `ip`.
#include "launcher/network/nft.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "launcher/network/conntrack.h"
#include "private_netns.h"
#include "support/files.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace berth::network {
namespace {

constexpr const char* kBridge = "berthnft0";

using test::ProcessResult;

// Runs a command (in this thread's netns: the child inherits it).
ProcessResult sh(const std::string& command) { return test::run_shell(command); }

#define SH(command)                                                            \
  do {                                                                         \
    ProcessResult sh_result_ = sh(command);                                    \
    ASSERT_EQ(sh_result_.exit_code, 0) << (command) << ": " << sh_result_.out; \
  } while (0)

Ipv4 ip(const char* text) { return Ipv4::parse(text).value(); }
Ipv4Subnet subnet() { return Ipv4Subnet::parse("10.88.0.0/24").value(); }

PortMapping mapping(Protocol protocol, std::optional<Ipv4> host_ip, uint16_t host_port,
                    const char* container_ip, uint16_t container_port) {
  return PortMapping{host_ip, host_port, ip(container_ip), container_port, protocol};
}

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

class NftTest : public nettest::NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (HasFatalFailure()) return;
    SH("ip link set lo up");
  }
};

TEST_F(NftTest, EnsureCreatesTheTableOnceWithItsChainsAndMaps) {
  Status made = ensure_nat_table(kBridge, subnet());
  ASSERT_TRUE(made) << made.error().message();
  ProcessResult listing = sh(std::string("nft list table ip ") + kBridge);
  ASSERT_EQ(listing.exit_code, 0) << listing.out;
  for (const char* expected :
       {"map tcp_any",
        "map udp_any",
        "map tcp_addr",
        "map udp_addr",
        "type inet_service : ipv4_addr . inet_service",
        "type ipv4_addr . inet_service : ipv4_addr . inet_service",
        "chain publish",
        "dnat ip to ip daddr . tcp dport map @tcp_addr",
        "dnat ip to udp dport map @udp_any",
        "type nat hook prerouting priority dstnat",
        "type nat hook output priority -100",
        "fib daddr type local jump publish",
        "type nat hook postrouting priority srcnat",
        "oifname \"berthnft0\" ip saddr 127.0.0.0/8 masquerade",
        "oifname \"berthnft0\" ip saddr 10.88.0.0/24 ct status dnat masquerade",
        "oifname != \"berthnft0\" ip saddr 10.88.0.0/24 masquerade",
        "type filter hook forward priority filter",
        "ct state established,related accept",
        "oifname \"berthnft0\" ct status dnat accept",
        "iifname \"berthnft0\" accept",
        "oifname \"berthnft0\" drop",
        "type filter hook prerouting priority raw",
        "iifname != \"lo\" ip daddr 127.0.0.0/8 drop"})
    EXPECT_NE(listing.out.find(expected), std::string::npos)
        << "missing \"" << expected << "\" in\n"
        << listing.out;

  ASSERT_TRUE(add_port_mappings(kBridge, {mapping(Protocol::Tcp, {}, 8080, "10.88.0.2", 80)}));
  ProcessResult before = sh(std::string("nft list table ip ") + kBridge);
  Status again = ensure_nat_table(kBridge, subnet());
  ASSERT_TRUE(again) << again.error().message();
  // Unchanged, element included: no rule added twice, nothing reset.
  EXPECT_EQ(sh(std::string("nft list table ip ") + kBridge).out, before.out);
  EXPECT_NE(before.out.find("8080 : 10.88.0.2 . 80"), std::string::npos) << before.out;
  EXPECT_EQ(sh(std::string("nft -a list table ip ") + kBridge + " | grep -c masquerade").out,
            "3\n");
}

TEST_F(NftTest, MappingsRoundTripThroughTheMaps) {
  ASSERT_TRUE(ensure_nat_table(kBridge, subnet()));
  std::vector<PortMapping> mappings = {
      mapping(Protocol::Tcp, {}, 8080, "10.88.0.2", 80),
      mapping(Protocol::Udp, {}, 5353, "10.88.0.2", 53),
      mapping(Protocol::Tcp, ip("127.0.0.1"), 8081, "10.88.0.3", 8000),
      mapping(Protocol::Udp, ip("192.0.2.1"), 5354, "10.88.0.3", 5000),
  };
  Status added = add_port_mappings(kBridge, mappings);
  ASSERT_TRUE(added) << added.error().message();
  auto listed = list_port_mappings(kBridge);
  ASSERT_TRUE(listed) << listed.error().message();
  std::vector<PortMapping> sorted = mappings;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(*listed, sorted);
  ProcessResult udp_addr = sh(std::string("nft list map ip ") + kBridge + " udp_addr");
  EXPECT_NE(udp_addr.out.find("192.0.2.1 . 5354 : 10.88.0.3 . 5000"), std::string::npos)
      << udp_addr.out;

  Status removed = remove_port_mappings(kBridge, {mappings[0], mappings[3]});
  ASSERT_TRUE(removed) << removed.error().message();
  listed = list_port_mappings(kBridge);
  ASSERT_TRUE(listed);
  std::vector<PortMapping> rest = {mappings[1], mappings[2]};
  std::sort(rest.begin(), rest.end());
  EXPECT_EQ(*listed, rest);
  ASSERT_TRUE(remove_port_mappings(kBridge, rest));
  EXPECT_TRUE(list_port_mappings(kBridge)->empty());
}

// The maps' elements are written and read in binary over netlink: what nft
// writes must read back the same, and what berth writes must print as nft
// would have written it.
TEST_F(NftTest, ElementsReadTheSameThroughNftAndThroughNetlink) {
  ASSERT_TRUE(ensure_nat_table(kBridge, subnet()));
  const std::string table = std::string(" ip ") + kBridge + " ";
  SH("nft create element" + table + "tcp_any '{ 8080 : 10.88.0.2 . 80 }'");
  SH("nft create element" + table + "udp_any '{ 65535 : 10.88.0.254 . 1 }'");
  SH("nft create element" + table + "tcp_addr '{ 127.0.0.1 . 8081 : 10.88.0.3 . 8000 }'");
  SH("nft create element" + table + "udp_addr '{ 192.0.2.1 . 5354 : 10.88.0.3 . 65534 }'");
  std::vector<PortMapping> by_nft = {
      mapping(Protocol::Tcp, {}, 8080, "10.88.0.2", 80),
      mapping(Protocol::Udp, {}, 65535, "10.88.0.254", 1),
      mapping(Protocol::Tcp, ip("127.0.0.1"), 8081, "10.88.0.3", 8000),
      mapping(Protocol::Udp, ip("192.0.2.1"), 5354, "10.88.0.3", 65534),
  };
  std::sort(by_nft.begin(), by_nft.end());
  auto listed = list_port_mappings(kBridge);
  ASSERT_TRUE(listed) << listed.error().message();
  EXPECT_EQ(*listed, by_nft);
  Status removed = remove_port_mappings(kBridge, by_nft);
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_EQ(sh("nft list table ip " + std::string(kBridge) + " | grep -c elements").out, "0\n");

  ASSERT_TRUE(add_port_mappings(kBridge, by_nft));
  ProcessResult json = sh("nft -j list table ip " + std::string(kBridge));
  for (const char* expected :
       {R"("name": "tcp_any", "table": "berthnft0", "type": "inet_service", "handle": )",
        R"("elem": [[8080, {"concat": ["10.88.0.2", 80]}]])",
        R"("elem": [[65535, {"concat": ["10.88.0.254", 1]}]])",
        R"("elem": [[{"concat": ["127.0.0.1", 8081]}, {"concat": ["10.88.0.3", 8000]}]])",
        R"("elem": [[{"concat": ["192.0.2.1", 5354]}, {"concat": ["10.88.0.3", 65534]}]])"})
    EXPECT_NE(json.out.find(expected), std::string::npos) << "missing " << expected << " in\n"
                                                          << json.out;
  // nft deletes what berth made.
  SH("nft delete element" + table + "tcp_addr '{ 127.0.0.1 . 8081 }'");
  SH("nft delete element" + table + "udp_any '{ 65535 }'");
  EXPECT_EQ(list_port_mappings(kBridge)->size(), 2u);
}

TEST_F(NftTest, AMissingMapListsAsEmptyAndRefusesElements) {
  SH(std::string("nft add table ip ") + kBridge);
  SH(std::string("nft add map ip ") + kBridge +
     " tcp_any '{ type inet_service : ipv4_addr . inet_service; }'");
  SH(std::string("nft add element ip ") + kBridge + " tcp_any '{ 80 : 10.88.0.2 . 80 }'");
  // ensure leaves an existing table alone, even an incomplete one.
  ASSERT_TRUE(ensure_nat_table(kBridge, subnet()));
  auto listed = list_port_mappings(kBridge);
  ASSERT_TRUE(listed) << listed.error().message();
  EXPECT_EQ(*listed, std::vector<PortMapping>{mapping(Protocol::Tcp, {}, 80, "10.88.0.2", 80)});
  Status added = add_port_mappings(kBridge, {mapping(Protocol::Tcp, {}, 81, "10.88.0.2", 81),
                                             mapping(Protocol::Udp, {}, 53, "10.88.0.2", 53)});
  ASSERT_FALSE(added);
  std::cout << "missing map: " << added.error().message() << "\n";
  EXPECT_NE(added.error().message().find("udp 53: No such file or directory"), std::string::npos)
      << added.error().message();
  EXPECT_EQ(list_port_mappings(kBridge)->size(), 1u);
  EXPECT_TRUE(remove_port_mappings(kBridge, {mapping(Protocol::Udp, {}, 53, "10.88.0.2", 53)}));
}

TEST_F(NftTest, DuplicateHostPortIsRefusedAndNothingIsHalfAdded) {
  ASSERT_TRUE(ensure_nat_table(kBridge, subnet()));
  PortMapping first = mapping(Protocol::Tcp, {}, 8080, "10.88.0.2", 80);
  ASSERT_TRUE(add_port_mappings(kBridge, {first}));

  Status twice = add_port_mappings(kBridge, {mapping(Protocol::Tcp, {}, 9090, "10.88.0.3", 90),
                                             mapping(Protocol::Tcp, {}, 8080, "10.88.0.3", 80)});
  ASSERT_FALSE(twice);
  std::cout << "duplicate: " << twice.error().message() << "\n";
  EXPECT_NE(twice.error().message().find("8080"), std::string::npos) << twice.error().message();
  EXPECT_EQ(list_port_mappings(kBridge).value(), std::vector<PortMapping>{first});

  // The same mapping again is a conflict too, as is one port given twice.
  EXPECT_FALSE(add_port_mappings(kBridge, {first}));
  Status in_batch = add_port_mappings(kBridge, {mapping(Protocol::Udp, {}, 7070, "10.88.0.3", 1),
                                                mapping(Protocol::Udp, {}, 7070, "10.88.0.4", 1)});
  ASSERT_FALSE(in_batch);
  EXPECT_NE(in_batch.error().message().find("7070"), std::string::npos);
  EXPECT_EQ(list_port_mappings(kBridge).value(), std::vector<PortMapping>{first});
  // Same port, other protocol or a specific address: other keys, fine.
  EXPECT_TRUE(
      add_port_mappings(kBridge, {mapping(Protocol::Udp, {}, 8080, "10.88.0.3", 80),
                                  mapping(Protocol::Tcp, ip("127.0.0.1"), 8080, "10.88.0.3", 80)}));
}

TEST_F(NftTest, RemovingMissingMappingsIsFine) {
  PortMapping kept = mapping(Protocol::Tcp, {}, 8080, "10.88.0.2", 80);
  PortMapping gone = mapping(Protocol::Udp, ip("127.0.0.1"), 5353, "10.88.0.2", 53);
  Status no_table = remove_port_mappings(kBridge, {kept});
  EXPECT_TRUE(no_table) << no_table.error().message();
  ASSERT_TRUE(ensure_nat_table(kBridge, subnet()));
  PortMapping other = mapping(Protocol::Tcp, {}, 9090, "10.88.0.2", 90);
  ASSERT_TRUE(add_port_mappings(kBridge, {kept, other}));
  Status mixed = remove_port_mappings(kBridge, {gone, other});
  EXPECT_TRUE(mixed) << mixed.error().message();
  // A key now published to another container is not the caller's to remove.
  EXPECT_TRUE(remove_port_mappings(kBridge, {mapping(Protocol::Tcp, {}, 8080, "10.88.0.9", 80)}));
  EXPECT_EQ(list_port_mappings(kBridge).value(), std::vector<PortMapping>{kept});
}

TEST_F(NftTest, DeleteTableIsIdempotent) {
  Status missing = delete_nat_table(kBridge);
  EXPECT_TRUE(missing) << missing.error().message();
  auto none = list_port_mappings(kBridge);
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(ensure_nat_table(kBridge, subnet()));
  Status deleted = delete_nat_table(kBridge);
  ASSERT_TRUE(deleted) << deleted.error().message();
  EXPECT_EQ(sh("nft list tables").out, "");
  EXPECT_TRUE(delete_nat_table(kBridge));
}

TEST_F(NftTest, ErrorsSayWhatWasAttemptedAndWhatNftSaid) {
  Status no_table = add_port_mappings(kBridge, {mapping(Protocol::Tcp, {}, 8080, "10.88.0.2", 80)});
  ASSERT_FALSE(no_table);
  std::cout << "no table: " << no_table.error().message() << "\n";
  EXPECT_NE(no_table.error().message().find("publish ports on berthnft0"), std::string::npos);
  EXPECT_NE(no_table.error().message().find("No such file or directory"), std::string::npos);
  EXPECT_FALSE(
      add_port_mappings(kBridge, {mapping(Protocol::Tcp, ip("0.0.0.0"), 80, "10.88.0.2", 80)}));
  EXPECT_FALSE(add_port_mappings(kBridge, {mapping(Protocol::Tcp, {}, 0, "10.88.0.2", 80)}));
  Status bad_name = ensure_nat_table("x; flush ruleset", subnet());
  ASSERT_FALSE(bad_name);
  EXPECT_NE(bad_name.error().message().find("bridge name"), std::string::npos);
}

// Means of 20 rounds of ensure (the table exists), add one mapping and
// remove it, per protocol: printed, not asserted (timings vary with load).
void TimePublishing(const std::string& label) {
  constexpr int kRounds = 20;
  for (Protocol protocol : {Protocol::Tcp, Protocol::Udp}) {
    double ensure = 0, add = 0, remove = 0;
    for (int i = 0; i < kRounds; ++i) {
      PortMapping one = mapping(protocol, {}, 8080, "10.88.0.2", 80);
      auto start = std::chrono::steady_clock::now();
      ASSERT_TRUE(ensure_nat_table(kBridge, subnet()));
      ensure += milliseconds_since(start);
      start = std::chrono::steady_clock::now();
      ASSERT_TRUE(add_port_mappings(kBridge, {one}));
      add += milliseconds_since(start);
      start = std::chrono::steady_clock::now();
      ASSERT_TRUE(remove_port_mappings(kBridge, {one}));
      remove += milliseconds_since(start);
    }
    std::printf(
        "%s%s, mean of %d: ensure (existing) %.2f ms, add one %.2f ms, remove one %.2f ms\n",
        label.c_str(), to_string(protocol), kRounds, ensure / kRounds, add / kRounds,
        remove / kRounds);
  }
}

TEST_F(NftTest, Timings) {
  ASSERT_TRUE(ensure_nat_table(kBridge, subnet()));
  TimePublishing("");
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(flush_udp_conntrack({8080}));
  std::printf("of which the UDP conntrack flush: %.2f ms\n", milliseconds_since(start));
}

// A host with another firewall (podman's or docker's iptables-nft rules):
// publishing must not pay for the size of other tables, and the maps must
// work the same next to them.
TEST_F(NftTest, TimingsNextToAnotherTableOf2000Rules) {
  std::string rules = "add table ip other\nadd chain ip other forward\n";
  for (int i = 0; i < 2000; ++i)
    rules += "add rule ip other forward ip saddr 10.1." + std::to_string(i / 250) + "." +
             std::to_string(i % 250) + " tcp dport " + std::to_string(1000 + i) + " accept\n";
  test::TempDir dir("berth-nft-other");
  test::write_file(dir / "rules.nft", rules);
  ProcessResult loaded = sh("nft -f " + (dir / "rules.nft"));
  ASSERT_EQ(loaded.exit_code, 0) << loaded.out;
  EXPECT_EQ(sh("nft list chain ip other forward | grep -c accept").out, "2000\n");

  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(ensure_nat_table(kBridge, subnet()));
  std::printf("next to 2000 rules: ensure (new table) %.2f ms\n", milliseconds_since(start));
  TimePublishing("next to 2000 rules, ");

  std::vector<PortMapping> mappings = {
      mapping(Protocol::Tcp, {}, 8080, "10.88.0.2", 80),
      mapping(Protocol::Udp, {}, 5353, "10.88.0.2", 53),
      mapping(Protocol::Tcp, ip("127.0.0.1"), 8081, "10.88.0.3", 8000),
      mapping(Protocol::Udp, ip("192.0.2.1"), 5354, "10.88.0.3", 5000),
  };
  start = std::chrono::steady_clock::now();
  Status added = add_port_mappings(kBridge, mappings);
  double add_four = milliseconds_since(start);
  ASSERT_TRUE(added) << added.error().message();
  start = std::chrono::steady_clock::now();
  auto listed = list_port_mappings(kBridge);
  double list = milliseconds_since(start);
  ASSERT_TRUE(listed) << listed.error().message();
  std::vector<PortMapping> sorted = mappings;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(*listed, sorted);
  EXPECT_NE(sh(std::string("nft list map ip ") + kBridge + " tcp_addr")
                .out.find("127.0.0.1 . 8081 : 10.88.0.3 . 8000"),
            std::string::npos);
  start = std::chrono::steady_clock::now();
  Status removed = remove_port_mappings(kBridge, mappings);
  double remove_four = milliseconds_since(start);
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_TRUE(list_port_mappings(kBridge)->empty());
  std::printf("next to 2000 rules: add four %.2f ms, list %.2f ms, remove four %.2f ms\n", add_four,
              list, remove_four);
  EXPECT_EQ(sh("nft list chain ip other forward | grep -c accept").out, "2000\n");
}

}  // namespace
}  // namespace berth::network
