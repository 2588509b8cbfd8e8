// `berth pull` against a real docker-registry (tests/support/registry.h),
// with images skopeo pushed there: what it prints, what the store holds
// afterwards, and each refusal (its message, status 1, the store unchanged).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "berth_user.h"
#include "support/files.h"
#include "support/process.h"
#include "support/registry.h"
#include "support/temp_dir.h"

namespace berth::test {
namespace {

using nlohmann::json;

std::string short_id(const std::string& digest) { return digest.substr(7, 12); }

using PullTest = RegistryWithImage;

TEST_P(PullTest, PullsAnImageWithDockersLinesAndStoresItUnderItsTag) {
  ProcessResult pull = user_.berth({"pull", name("team/app:v1")});
  ASSERT_TRUE(pull.succeeded()) << pull;
  const OciImageDigests& image = layout_.images.at(0);
  EXPECT_NE(pull.out.find("v1: Pulling from team/app\n"), std::string::npos) << pull.out;
  for (const std::string& layer : image.layers) {
    EXPECT_NE(pull.out.find(short_id(layer) + ": Pull complete\n"), std::string::npos) << pull.out;
  }
  EXPECT_NE(pull.out.find("Digest: " + image.manifest + "\n"), std::string::npos) << pull.out;
  EXPECT_NE(pull.out.find("Status: Downloaded newer image for " + name("team/app:v1") + "\n"), std::string::npos);
  EXPECT_TRUE(pull.out.ends_with("\n" + name("team/app:v1") + "\n")) << pull.out;

  // The image's id is its config's digest, as skopeo pushed it.
  ProcessResult images = user_.berth({"images", "--no-trunc"});
  ASSERT_TRUE(images.succeeded()) << images;
  EXPECT_NE(images.out.find(image.config), std::string::npos) << images.out;
  EXPECT_NE(images.out.find(name("team/app")), std::string::npos) << images.out;

  ProcessResult again = user_.berth({"pull", name("team/app:v1")});
  ASSERT_TRUE(again.succeeded()) << again;
  EXPECT_NE(again.out.find("Status: Image is up to date for " + name("team/app:v1")), std::string::npos) << again;
  EXPECT_EQ(again.out.find("Pull complete"), std::string::npos) << again;
}

TEST_P(PullTest, PullsByDigestAndReusesLayersItHas) {
  const OciImageDigests& image = layout_.images.at(0);
  ProcessResult by_digest = user_.berth({"pull", name("team/app@" + image.manifest)});
  ASSERT_TRUE(by_digest.succeeded()) << by_digest;
  EXPECT_NE(by_digest.out.find(image.manifest + ": Pulling from team/app"), std::string::npos) << by_digest;

  ProcessResult tagged = user_.berth({"pull", name("team/app:v1")});
  ASSERT_TRUE(tagged.succeeded()) << tagged;
  for (const std::string& layer : image.layers) {
    EXPECT_NE(tagged.out.find(short_id(layer) + ": Already exists"), std::string::npos) << tagged.out;
  }
}

TEST_P(PullTest, AnUnknownTagFailsWithTheRegistrysWordsAndChangesNothing) {
  std::string before = user_.store_listing();
  ProcessResult pull = user_.berth({"pull", name("team/app:nope")});
  EXPECT_EQ(pull.exit_code, 1) << pull;
  EXPECT_NE(pull.err.find("manifest unknown"), std::string::npos) << pull;
  EXPECT_EQ(user_.store_listing(), before);
}

INSTANTIATE_TEST_SUITE_P(Modes, PullTest,
                         ::testing::Values(RegistryMode::kAnonymous, RegistryMode::kBasicTls, RegistryMode::kToken));

TEST(PullRefusals, WithoutCredentialsTheRegistryRefusesAndNothingIsStored) {
  for (RegistryMode mode : {RegistryMode::kBasicTls, RegistryMode::kToken}) {
    RegistryServer registry = RegistryServer::start(mode);
    TempDir layouts("berth-registry-layouts");
    OciLayout layout = make_oci_layout(layouts.path() + "/one", "v1");
    ASSERT_TRUE(skopeo_push(registry, layout.dir, layout.tag, "team/app:v1", registry.credentials()).succeeded());
    BerthUser user;
    if (registry.tls()) user.trust(registry);
    std::string before = user.store_listing();
    ProcessResult pull = user.berth({"pull", registry.host() + "/team/app:v1"});
    EXPECT_EQ(pull.exit_code, 1) << to_string(mode) << pull;
    EXPECT_NE(pull.err.find("unauthorized"), std::string::npos) << to_string(mode) << pull;
    EXPECT_EQ(user.store_listing(), before) << to_string(mode);
  }
}

TEST(PullRefusals, AnUntrustedCertificateIsRefused) {
  RegistryServer registry = RegistryServer::start(RegistryMode::kBasicTls);
  BerthUser user;
  user.log_in(registry);
  // A CA for the host that is not the registry's: verification is on, and fails.
  RegistryServer other = RegistryServer::start(RegistryMode::kBasicTls);
  std::string dir = user.registries_config().substr(0, user.registries_config().rfind('/')) + "/certs.d/" +
                    registry.host();
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(other.ca_file(), dir + "/ca.crt");
  ProcessResult pull = user.berth({"pull", registry.host() + "/team/app:v1"});
  EXPECT_EQ(pull.exit_code, 1) << pull;
  EXPECT_NE(pull.err.find("certificate"), std::string::npos) << pull;
}

TEST(PullPlatforms, AnIndexGivesThisMachinesImageOrTheOneAskedFor) {
  RegistryServer registry = RegistryServer::start(RegistryMode::kAnonymous);
  TempDir layouts("berth-registry-layouts");
  OciLayout layout = make_oci_layout(layouts.path() + "/multi", "v1", {.multi_platform = true});
  ASSERT_TRUE(skopeo_push(registry, layout.dir, layout.tag, "team/multi:v1", std::nullopt).succeeded());
  std::string ref = registry.host() + "/team/multi:v1";
  auto config_of = [&](const std::string& platform) {
    for (const OciImageDigests& image : layout.images) {
      if (image.platform == platform) return image.config;
    }
    return std::string("none for ") + platform;
  };

  BerthUser host_default;
  ProcessResult pull = host_default.berth({"pull", ref});
  ASSERT_TRUE(pull.succeeded()) << pull;
  EXPECT_NE(pull.out.find("Digest: " + layout.digest), std::string::npos) << pull.out;
  EXPECT_NE(host_default.berth({"images", "--no-trunc"}).out.find(config_of("linux/amd64")), std::string::npos);

  BerthUser arm;
  ProcessResult arm_pull = arm.berth({"pull", "--platform", "linux/arm64", ref});
  ASSERT_TRUE(arm_pull.succeeded()) << arm_pull;
  EXPECT_NE(arm.berth({"images", "--no-trunc"}).out.find(config_of("linux/arm64")), std::string::npos);

  BerthUser none;
  ProcessResult missing = none.berth({"pull", "--platform", "linux/s390x", ref});
  EXPECT_EQ(missing.exit_code, 1) << missing;
  EXPECT_NE(missing.err.find("no matching manifest for linux/s390x in the manifest list entries"), std::string::npos)
      << missing;
  EXPECT_EQ(none.store_listing(), BerthUser().store_listing());
}

TEST(PullMirrors, DockerHubNamesArePulledThroughTheConfiguredMirror) {
  RegistryServer registry = RegistryServer::start(RegistryMode::kAnonymous);
  TempDir layouts("berth-registry-layouts");
  OciLayout layout = make_oci_layout(layouts.path() + "/hello", "latest");
  ASSERT_TRUE(skopeo_push(registry, layout.dir, layout.tag, "library/hello-world:latest", std::nullopt).succeeded());
  BerthUser user;
  // The first mirror does not answer; the second is the registry.
  user.configure({{"mirrors", {{"docker.io", {"http://127.0.0.1:1", registry.url()}}}}});
  ProcessResult pull = user.berth({"pull", "hello-world"});
  ASSERT_TRUE(pull.succeeded()) << pull;
  EXPECT_TRUE(pull.out.starts_with("Using default tag: latest\nlatest: Pulling from library/hello-world\n")) << pull.out;
  EXPECT_NE(pull.out.find("Status: Downloaded newer image for hello-world:latest\n"), std::string::npos) << pull.out;
  EXPECT_TRUE(pull.out.ends_with("\ndocker.io/library/hello-world:latest\n")) << pull.out;
  ProcessResult images = user.berth({"images"});
  EXPECT_NE(images.out.find("hello-world"), std::string::npos) << images;
}

TEST(PullNames, AnInvalidNameIsRefusedWithTheReason) {
  BerthUser user;
  ProcessResult pull = user.berth({"pull", "Python"});
  EXPECT_EQ(pull.exit_code, 1) << pull;
  EXPECT_NE(pull.err.find("repository name must be lowercase"), std::string::npos) << pull;
}

}  // namespace
}  // namespace berth::test
