#include "rootfs/reference.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth::image {
namespace {

const std::string kHex = "0e5679ebf0798b1bc6d4f1ad7cbd3bd5b8d1c1e8a0fba2e57e4c4b0e2f2a9c11";

Reference parsed(const std::string& text) {
  auto reference = parse_reference(text);
  EXPECT_TRUE(reference.has_value()) << text << ": " << reference.error().message();
  return reference.has_value() ? reference.value() : Reference{};
}

// The refusal of text, which must be one.
std::string refusal(const std::string& text) {
  auto reference = parse_reference(text);
  EXPECT_FALSE(reference.has_value()) << text << " parsed as " << reference->string();
  return reference.has_value() ? "" : reference.error().message();
}

TEST(ReferenceTest, OfficialImageGetsDockerHubLibraryAndLatest) {
  Reference python = parsed("python");
  EXPECT_EQ(python.domain, "docker.io");
  EXPECT_EQ(python.path, "library/python");
  EXPECT_EQ(python.tag, "latest");
  EXPECT_EQ(python.digest, "");
  EXPECT_EQ(python.name(), "docker.io/library/python");
  EXPECT_EQ(python.string(), "docker.io/library/python:latest");
  EXPECT_EQ(python.familiar_name(), "python");
  EXPECT_EQ(python.familiar_string(), "python:latest");
}

TEST(ReferenceTest, UserRepositoryOnDockerHubKeepsItsNamespace) {
  Reference ml = parsed("kbaafi/dockerml");
  EXPECT_EQ(ml.string(), "docker.io/kbaafi/dockerml:latest");
  EXPECT_EQ(ml.familiar_string(), "kbaafi/dockerml:latest");
  EXPECT_EQ(parsed("a/b/c:1").string(), "docker.io/a/b/c:1");
  // Only a single component under library/ is an official image's name.
  EXPECT_EQ(parsed("library/a/b").familiar_name(), "library/a/b");
}

TEST(ReferenceTest, TagIsKept) {
  Reference python = parsed("python:3.7.3-stretch");
  EXPECT_EQ(python.tag, "3.7.3-stretch");
  EXPECT_EQ(python.string(), "docker.io/library/python:3.7.3-stretch");
  EXPECT_EQ(python.familiar_string(), "python:3.7.3-stretch");
}

TEST(ReferenceTest, DockerHubSpellingsAreOneName) {
  for (const char* text :
       {"python:3", "library/python:3", "docker.io/python:3", "docker.io/library/python:3",
        "index.docker.io/library/python:3", "index.docker.io/python:3"}) {
    Reference python = parsed(text);
    EXPECT_EQ(python.string(), "docker.io/library/python:3") << text;
    EXPECT_EQ(python.familiar_string(), "python:3") << text;
  }
}

TEST(ReferenceTest, FirstComponentIsADomainWithADotAColonOrLocalhost) {
  Reference local = parsed("127.0.0.1:5000/x:1");
  EXPECT_EQ(local.domain, "127.0.0.1:5000");
  EXPECT_EQ(local.path, "x");
  EXPECT_EQ(local.tag, "1");
  EXPECT_EQ(local.familiar_name(), "127.0.0.1:5000/x");
  EXPECT_EQ(local.familiar_string(), "127.0.0.1:5000/x:1");

  EXPECT_EQ(parsed("localhost/x").string(), "localhost/x:latest");
  EXPECT_EQ(parsed("localhost:5000/a/b").string(), "localhost:5000/a/b:latest");
  EXPECT_EQ(parsed("registry.example.com/team/app:v2").domain, "registry.example.com");
  EXPECT_EQ(parsed("myregistry:5000/x").domain, "myregistry:5000");
  // Not a domain: no '.', no ':', not localhost.
  EXPECT_EQ(parsed("myregistry/x").string(), "docker.io/myregistry/x:latest");
  // A name without '/' is a Docker Hub image, even one that looks like a host.
  EXPECT_EQ(parsed("localhost:5000").string(), "docker.io/library/localhost:5000");
  EXPECT_EQ(parsed("example.com").string(), "docker.io/library/example.com:latest");
}

TEST(ReferenceTest, DomainMayBeAnIpv6AddressInBrackets) {
  EXPECT_EQ(parsed("[::1]:5000/x").domain, "[::1]:5000");
  EXPECT_EQ(parsed("[2001:db8::1]/team/x:1").familiar_string(), "[2001:db8::1]/team/x:1");
  EXPECT_NE(refusal("[::1/x").find("\"[::1\" is not a registry host[:port]"), std::string::npos);
  EXPECT_NE(refusal("[]:5000/x").find("is not a registry host"), std::string::npos);
  EXPECT_NE(refusal("[fe80::1%eth0]/x").find("is not a registry host"), std::string::npos);
  EXPECT_NE(refusal("[::1]x/y").find("is not a registry host"), std::string::npos);
}

TEST(ReferenceTest, DomainIsHostNameLabelsAndANumericPort) {
  EXPECT_EQ(parsed("My-Registry.example.com/x").domain, "My-Registry.example.com");
  EXPECT_EQ(refusal("-bad.example.com/x"),
            "invalid reference format: \"-bad.example.com/x\": \"-bad.example.com\" is not a "
            "registry host[:port] (a host name, an IPv4 address or an IPv6 address in brackets)");
  for (const char* text : {"bad-.com/x", "a..b/x", "a./x", ".a/x", "host:/x", "host:50a/x",
                           "ho_st.com/x", "host:1:2/x", "x:a/b" /* a tag cannot hold '/' */})
    EXPECT_NE(refusal(text).find("is not a registry host"), std::string::npos) << text;
}

TEST(ReferenceTest, PathComponentsFollowDockersGrammar) {
  for (const char* text : {"a", "a0", "a.b", "a_b", "a__b", "a-b", "a---b", "a.b_c__d-e", "0",
                           "a/b/c/d", "foo.bar/baz" /* a domain */})
    EXPECT_TRUE(parse_reference(text).has_value()) << text;
  for (const char* text :
       {"a..b", "a___b", "a_.b", "-a", "a-", "a.", "_a", "a/", "/a", "a//b", "a$b", "a b", "é"}) {
    std::string message = refusal(text);
    EXPECT_EQ(message.rfind(fmt::format("invalid reference format: \"{}\": ", text), 0), 0u)
        << message;
    EXPECT_NE(message.find("repository name component"), std::string::npos) << message;
  }
  EXPECT_EQ(refusal("a..b"),
            "invalid reference format: \"a..b\": repository name component \"a..b\" must be "
            "lowercase letters and digits, separated by '.', '_', '__' or dashes");
  EXPECT_NE(refusal("a//b").find("component \"\""), std::string::npos);
}

TEST(ReferenceTest, UppercaseInTheRepositoryIsRefusedAsDockerDoes) {
  EXPECT_EQ(refusal("Python"),
            "invalid reference format: \"Python\": repository name must be lowercase");
  EXPECT_EQ(refusal("kbaafi/DockerML:latest"),
            "invalid reference format: \"kbaafi/DockerML:latest\": repository name must be "
            "lowercase");
  EXPECT_NE(refusal("localhost:5000/X").find("must be lowercase"), std::string::npos);
  // Uppercase is fine in a tag and in a domain.
  EXPECT_EQ(parsed("python:Latest_3").tag, "Latest_3");
}

TEST(ReferenceTest, TagGrammar) {
  EXPECT_EQ(parsed("x:_").tag, "_");
  EXPECT_EQ(parsed("x:a.b-c_D").tag, "a.b-c_D");
  EXPECT_EQ(parsed("x:" + std::string(128, 't')).tag.size(), 128u);
  EXPECT_EQ(refusal("x:.a"),
            "invalid reference format: \"x:.a\": tag \".a\" must be 1 to 128 letters, digits, "
            "'_', '.' or '-', not starting with '.' or '-'");
  for (const std::string& text :
       std::vector<std::string>{"x:", "x:-a", "x:a+b", "x:a:b", "x:" + std::string(129, 't')})
    EXPECT_NE(refusal(text).find("tag \""), std::string::npos) << text;
}

TEST(ReferenceTest, DigestIsSha256WithSixtyFourLowercaseHexDigits) {
  Reference pinned = parsed("python@sha256:" + kHex);
  EXPECT_EQ(pinned.tag, "");  // a digest alone gets no "latest"
  EXPECT_EQ(pinned.digest, "sha256:" + kHex);
  EXPECT_EQ(pinned.string(), "docker.io/library/python@sha256:" + kHex);
  EXPECT_EQ(pinned.familiar_string(), "python@sha256:" + kHex);

  Reference both = parsed("127.0.0.1:5000/x:1@sha256:" + kHex);
  EXPECT_EQ(both.tag, "1");
  EXPECT_EQ(both.digest, "sha256:" + kHex);
  EXPECT_EQ(both.string(), "127.0.0.1:5000/x:1@sha256:" + kHex);
}

TEST(ReferenceTest, OtherDigestsAreRefusedWithTheReason) {
  EXPECT_NE(refusal("x@sha512:" + kHex + kHex)
                .find("unsupported digest algorithm \"sha512\": only sha256 is supported"),
            std::string::npos);
  EXPECT_NE(refusal("x@sha256:" + kHex.substr(1))
                .find("invalid checksum digest length: sha256 has 64 hex digits, not 63"),
            std::string::npos);
  std::string upper = kHex;
  upper[0] = 'E';
  EXPECT_NE(refusal("x@sha256:" + upper).find("invalid checksum digest format"), std::string::npos);
  for (const char* text : {"x@", "x@sha256", "x@:abc"})
    EXPECT_NE(refusal(text).find("is not ALGORITHM:HEX"), std::string::npos) << text;
  EXPECT_NE(refusal("x@sha256:" + kHex + "@sha256:" + kHex).find("digest"), std::string::npos);
}

TEST(ReferenceTest, EmptyAndImageIdsAreNotNames) {
  EXPECT_EQ(refusal(""),
            "invalid reference format: \"\": repository name must have at least one component");
  EXPECT_NE(refusal(kHex).find("cannot specify 64-byte hexadecimal strings"), std::string::npos);
  // A short id is a valid name (the store tries it as an id prefix too).
  EXPECT_EQ(parsed(kHex.substr(0, 12)).familiar_string(), kHex.substr(0, 12) + ":latest");
  EXPECT_NE(refusal(":latest").find("component \"\""), std::string::npos);
}

TEST(ReferenceTest, FullNameIsAtMost255Characters) {
  // "docker.io/library/" is 18 characters of the 255.
  std::string longest(255 - 18, 'a');
  EXPECT_EQ(parsed(longest).name().size(), 255u);
  EXPECT_EQ(refusal(longest + "a"),
            fmt::format("invalid reference format: \"{}a\": repository name must not be more "
                        "than 255 characters",
                        longest));
  std::string on_local = "localhost/" + std::string(245, 'b');
  EXPECT_TRUE(parse_reference(on_local).has_value());
  EXPECT_NE(refusal(on_local + "b").find("not be more than 255"), std::string::npos);
}

}  // namespace
}  // namespace berth::image
