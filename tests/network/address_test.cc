#include "launcher/network/address.h"

#include <gtest/gtest.h>

namespace berth::network {
namespace {

TEST(Ipv4, ParsesAndPrints) {
  auto address = Ipv4::parse("10.87.0.2");
  ASSERT_TRUE(address) << address.error().message();
  EXPECT_EQ(address->value, 0x0a570002u);
  EXPECT_EQ(address->to_string(), "10.87.0.2");
  EXPECT_FALSE(Ipv4::parse("10.87.0"));
  EXPECT_FALSE(Ipv4::parse("10.87.0.256"));
  EXPECT_FALSE(Ipv4::parse("localhost"));
}

TEST(Ipv4Subnet, ParsesAndComputes) {
  auto subnet = Ipv4Subnet::parse("10.87.0.0/16");
  ASSERT_TRUE(subnet) << subnet.error().message();
  EXPECT_EQ(subnet->gateway().to_string(), "10.87.0.1");
  EXPECT_EQ(subnet->broadcast().to_string(), "10.87.255.255");
  EXPECT_TRUE(subnet->contains(Ipv4::parse("10.87.3.4").value()));
  EXPECT_FALSE(subnet->contains(Ipv4::parse("10.88.0.1").value()));
  EXPECT_TRUE(subnet->overlaps(Ipv4Subnet::parse("10.87.5.0/24").value()));
  EXPECT_TRUE(subnet->overlaps(Ipv4Subnet::parse("10.0.0.0/8").value()));
  EXPECT_FALSE(subnet->overlaps(Ipv4Subnet::parse("10.88.0.0/16").value()));
}

TEST(Ipv4Subnet, RejectsWhatIsNotASubnet) {
  auto host_bits = Ipv4Subnet::parse("10.87.0.1/16");
  ASSERT_FALSE(host_bits);
  EXPECT_NE(host_bits.error().message().find("host bits are set (the network is 10.87.0.0/16)"),
            std::string::npos)
      << host_bits.error().message();
  EXPECT_FALSE(Ipv4Subnet::parse("10.87.0.0"));
  EXPECT_FALSE(Ipv4Subnet::parse("10.87.0.0/31"));
  EXPECT_FALSE(Ipv4Subnet::parse("10.0.0.0/4"));
  EXPECT_FALSE(Ipv4Subnet::parse("10.87.0.0/"));
  EXPECT_FALSE(Ipv4Subnet::parse("10.87.0.0/1x"));
}

}  // namespace
}  // namespace berth::network
