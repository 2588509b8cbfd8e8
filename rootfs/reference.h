// Image references as Docker resolves them (the grammar of Docker's
// distribution/reference package):
//
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [ domain "/" ] component ( "/" component )*
//   domain    := host [ ":" port ]   host: DNS labels joined by '.', or an
//                                    IPv6 address in brackets
//   component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//   digest    := "sha256:" 64 lowercase hex digits
//
// The first component is the domain only if it contains '.' or ':' or is
// "localhost": "kbaafi/dockerml" is a repository on Docker Hub, while
// "127.0.0.1:5000/x" is one on a local registry.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace berth::image {

// A parsed, normalized reference: domain is never empty (Docker Hub is
// "docker.io", its official images under "library/"), and a reference
// without a digest has a tag ("latest" when none was given).
struct Reference {
  std::string domain;  // "docker.io", "127.0.0.1:5000", "[::1]:5000"
  std::string path;    // "library/python", "kbaafi/dockerml"
  std::string tag;     // "3.7.3-stretch"; empty only when digest is set
  std::string digest;  // "sha256:<64 hex>" or empty

  // "docker.io/library/python"
  std::string name() const;
  // The name as Docker prints it: "python", "kbaafi/dockerml",
  // "127.0.0.1:5000/x" (docker.io and an official image's "library/" left out).
  std::string familiar_name() const;
  // name() or familiar_name() with ":tag" and "@digest" when present.
  std::string string() const;
  std::string familiar_string() const;
};

constexpr std::string_view kDockerHubDomain = "docker.io";

// Parses and normalizes a reference as `docker pull` takes it. A refusal
// names the reference and the rule it breaks:
//   invalid reference format: "Python": repository name must be lowercase
Result<Reference> parse_reference(std::string_view text);

}  // namespace berth::image
