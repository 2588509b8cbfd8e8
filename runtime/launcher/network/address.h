// IPv4 addresses and subnets as the bridge network uses them: parsed from
// and printed as dotted quads, with the arithmetic the address allocator
// needs. IPv4 only: the bridge network has no IPv6 (see docs/network.md).
#pragma once

#include <compare>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace berth::network {

struct Ipv4 {
  uint32_t value = 0;  // host byte order

  static Result<Ipv4> parse(const std::string& text);  // "10.87.0.1"
  std::string to_string() const;
  uint32_t network_order() const;
  auto operator<=>(const Ipv4&) const = default;
};

struct Ipv4Subnet {
  Ipv4 network;
  int prefix_length = 0;

  // "10.87.0.0/16"; host bits must be zero; prefixes 8..30 only, so there
  // is room for the bridge and at least one container.
  static Result<Ipv4Subnet> parse(const std::string& text);
  std::string to_string() const;
  bool contains(Ipv4 address) const;
  bool overlaps(const Ipv4Subnet& other) const;
  // The first host address: the bridge's, the containers' gateway.
  Ipv4 gateway() const { return Ipv4{network.value + 1}; }
  Ipv4 broadcast() const;
  auto operator<=>(const Ipv4Subnet&) const = default;
};

}  // namespace berth::network
