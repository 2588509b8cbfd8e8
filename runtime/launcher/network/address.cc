#include "launcher/network/address.h"

#include <arpa/inet.h>

namespace berth::network {

Result<Ipv4> Ipv4::parse(const std::string& text) {
  struct in_addr address = {};
  // inet_pton accepts only the four-part dotted decimal form, which is what
  // users write; inet_aton's "10.1" shorthands would surprise.
  if (::inet_pton(AF_INET, text.c_str(), &address) != 1)
    return make_error("\"{}\" is not an IPv4 address", text);
  return Ipv4{ntohl(address.s_addr)};
}

std::string Ipv4::to_string() const {
  return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                     value & 0xff);
}

uint32_t Ipv4::network_order() const { return htonl(value); }

namespace {
uint32_t mask_of(int prefix_length) {
  return prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
}
}  // namespace

Result<Ipv4Subnet> Ipv4Subnet::parse(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos)
    return make_error("subnet \"{}\": expected ADDRESS/PREFIX, e.g. 10.87.0.0/16", text);
  auto address = Ipv4::parse(text.substr(0, slash));
  if (!address) return make_error("subnet \"{}\": {}", text, address.error().message());
  const std::string prefix_text = text.substr(slash + 1);
  int prefix = 0;
  for (char c : prefix_text) {
    if (c < '0' || c > '9' || prefix > 32) {
      prefix = -1;
      break;
    }
    prefix = prefix * 10 + (c - '0');
  }
  if (prefix_text.empty() || prefix < 8 || prefix > 30)
    return make_error("subnet \"{}\": the prefix length must be between 8 and 30", text);
  if ((address->value & ~mask_of(prefix)) != 0)
    return make_error("subnet \"{}\": host bits are set (the network is {}/{})", text,
                      Ipv4{address->value & mask_of(prefix)}.to_string(), prefix);
  return Ipv4Subnet{*address, prefix};
}

std::string Ipv4Subnet::to_string() const {
  return fmt::format("{}/{}", network.to_string(), prefix_length);
}

bool Ipv4Subnet::contains(Ipv4 address) const {
  return (address.value & mask_of(prefix_length)) == network.value;
}

bool Ipv4Subnet::overlaps(const Ipv4Subnet& other) const {
  uint32_t mask = mask_of(std::min(prefix_length, other.prefix_length));
  return (network.value & mask) == (other.network.value & mask);
}

Ipv4 Ipv4Subnet::broadcast() const { return Ipv4{network.value | ~mask_of(prefix_length)}; }

}  // namespace berth::network
