#include "rootfs/reference.h"

#include <algorithm>

namespace berth::image {

namespace {

constexpr std::string_view kLegacyDockerHubDomain = "index.docker.io";
constexpr std::string_view kOfficialImagePrefix = "library/";
constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

Error invalid_reference(std::string_view text, const std::string& reason) {
  return make_error("invalid reference format: \"{}\": {}", text, reason);
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
bool is_hex(char c) { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }

bool all_of(std::string_view text, bool (*predicate)(char)) {
  return std::all_of(text.begin(), text.end(), predicate);
}

// A DNS label as Docker allows it: alphanumerics, inner dashes.
bool is_domain_label(std::string_view label) {
  if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
  return all_of(label, [](char c) { return is_alnum(c) || c == '-'; });
}

// host[:port], host being labels joined by '.' or an IPv6 address in
// brackets (no zone: Docker refuses those too).
bool is_domain(std::string_view domain) {
  std::string_view host = domain;
  std::string_view port;
  bool has_port = false;
  if (domain.front() == '[') {
    size_t close = domain.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view address = domain.substr(1, close - 1);
    if (address.empty() || !all_of(address, [](char c) { return is_hex(c) || c == ':'; }))
      return false;
    std::string_view after = domain.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      has_port = true;
      port = after.substr(1);
    }
    host = {};
  } else if (size_t colon = domain.find(':'); colon != std::string_view::npos) {
    host = domain.substr(0, colon);
    has_port = true;
    port = domain.substr(colon + 1);
  }
  if (has_port && (port.empty() || !all_of(port, is_digit))) return false;
  while (!host.empty()) {
    size_t dot = host.find('.');
    if (!is_domain_label(host.substr(0, dot))) return false;
    host = dot == std::string_view::npos ? std::string_view{} : host.substr(dot + 1);
    if (dot != std::string_view::npos && host.empty()) return false;  // a trailing '.'
  }
  return true;
}

// [a-z0-9]+ runs joined by one separator each: '.', '_', '__' or dashes.
bool is_path_component(std::string_view component) {
  size_t i = 0;
  while (true) {
    size_t run = i;
    while (i < component.size() && is_lower_alnum(component[i])) ++i;
    if (i == run) return false;
    if (i == component.size()) return true;
    if (component[i] == '.') {
      ++i;
    } else if (component[i] == '_') {
      i += component.compare(i, 2, "__") == 0 ? 2 : 1;
    } else if (component[i] == '-') {
      while (i < component.size() && component[i] == '-') ++i;
    } else {
      return false;
    }
  }
}

bool is_tag(std::string_view tag) {
  auto word = [](char c) { return is_alnum(c) || c == '_'; };
  if (tag.empty() || tag.size() > kMaxTagLength || !word(tag.front())) return false;
  return std::all_of(tag.begin(), tag.end(),
                     [&](char c) { return word(c) || c == '.' || c == '-'; });
}

// Docker refuses a bare image id as a name: it would be taken for one.
bool is_image_id(std::string_view text) { return text.size() == 64 && all_of(text, is_lower_hex); }

Status check_path(std::string_view text, std::string_view path) {
  if (std::any_of(path.begin(), path.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
    return invalid_reference(text, "repository name must be lowercase");
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view component = path.substr(start, slash - start);
    if (!is_path_component(component))
      return invalid_reference(
          text, fmt::format("repository name component \"{}\" must be lowercase letters and "
                            "digits, separated by '.', '_', '__' or dashes",
                            component));
    if (slash == std::string_view::npos) return ok();
    start = slash + 1;
  }
}

// Docker's grammar takes any "algorithm:hex" (32+ hex digits); berth's
// store and verification are sha256 only, so anything else is refused here
// rather than after a download.
Status check_digest(std::string_view text, std::string_view digest) {
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return invalid_reference(
        text, fmt::format("digest \"{}\" is not ALGORITHM:HEX (sha256:<64 hex digits>)", digest));
  std::string_view algorithm = digest.substr(0, colon);
  std::string_view hex = digest.substr(colon + 1);
  if (algorithm != "sha256")
    return invalid_reference(
        text,
        fmt::format("unsupported digest algorithm \"{}\": only sha256 is supported", algorithm));
  if (hex.size() != 64)
    return invalid_reference(
        text, fmt::format("invalid checksum digest length: sha256 has 64 hex digits, not {}",
                          hex.size()));
  if (!all_of(hex, is_lower_hex))
    return invalid_reference(
        text, fmt::format("invalid checksum digest format: \"{}\" is not lowercase hex", hex));
  return ok();
}

std::string with_tag_and_digest(std::string name, const Reference& reference) {
  if (!reference.tag.empty()) name += ":" + reference.tag;
  if (!reference.digest.empty()) name += "@" + reference.digest;
  return name;
}

}  // namespace

std::string Reference::name() const { return domain + "/" + path; }

std::string Reference::familiar_name() const {
  if (domain != kDockerHubDomain) return name();
  if (path.starts_with(kOfficialImagePrefix)) {
    std::string_view image = std::string_view(path).substr(kOfficialImagePrefix.size());
    if (image.find('/') == std::string_view::npos) return std::string(image);
  }
  return path;
}

std::string Reference::string() const { return with_tag_and_digest(name(), *this); }

std::string Reference::familiar_string() const {
  return with_tag_and_digest(familiar_name(), *this);
}

Result<Reference> parse_reference(std::string_view text) {
  if (text.empty())
    return invalid_reference(text, "repository name must have at least one component");
  if (is_image_id(text))
    return invalid_reference(text, "cannot specify 64-byte hexadecimal strings (an image id)");

  std::string_view rest = text;
  std::string_view digest, tag;
  bool has_digest = false, has_tag = false;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    has_digest = true;
    digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
  }
  std::string_view domain;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost") {
      domain = first;
      rest = rest.substr(slash + 1);
    }
  }
  // What follows the domain has no ':' but the tag's.
  if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
    has_tag = true;
    tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }

  TRY(check_path(text, rest));
  if (!domain.empty() && !is_domain(domain))
    return invalid_reference(
        text, fmt::format("\"{}\" is not a registry host[:port] (a host name, an IPv4 address or "
                          "an IPv6 address in brackets)",
                          domain));
  if (has_tag && !is_tag(tag))
    return invalid_reference(
        text, fmt::format("tag \"{}\" must be 1 to 128 letters, digits, '_', '.' or '-', not "
                          "starting with '.' or '-'",
                          tag));
  if (has_digest) TRY(check_digest(text, digest));

  Reference reference;
  reference.domain = domain.empty() || domain == kLegacyDockerHubDomain ? kDockerHubDomain : domain;
  reference.path = rest;
  if (reference.domain == kDockerHubDomain && reference.path.find('/') == std::string::npos)
    reference.path.insert(0, kOfficialImagePrefix);
  if (reference.name().size() > kMaxNameLength)
    return invalid_reference(
        text, fmt::format("repository name must not be more than {} characters", kMaxNameLength));
  reference.tag = tag;
  reference.digest = digest;
  if (!has_tag && !has_digest) reference.tag = "latest";
  return reference;
}

}  // namespace berth::image
