// `berth login`, `logout` and `tag` against a real docker-registry: the
// credentials are checked before they are kept, kept where and as Docker
// keeps them, and used by the next pull; tags name images by name or id.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <string>

#include "berth_user.h"
#include "support/files.h"
#include "support/process.h"
#include "support/registry.h"
#include "support/temp_dir.h"

namespace berth::test {
namespace {

using nlohmann::json;

class LoginTest : public ::testing::TestWithParam<RegistryMode> {
 protected:
  void SetUp() override {
    registry_.emplace(RegistryServer::start(GetParam()));
    if (registry_->tls()) user_.trust(*registry_);
  }

  std::optional<RegistryServer> registry_;
  BerthUser user_;
};

TEST_P(LoginTest, KeepsCheckedCredentialsInDockersConfigAndPullsWithThem) {
  TempDir layouts("berth-registry-layouts");
  OciLayout layout = make_oci_layout(layouts.path() + "/one", "v1");
  ASSERT_TRUE(skopeo_push(*registry_, layout.dir, layout.tag, "team/app:v1", registry_->credentials()).succeeded());

  ProcessResult login = user_.berth({"login", "-u", registry_->username(), "--password-stdin", registry_->host()},
                                    registry_->password() + "\n");
  ASSERT_TRUE(login.succeeded()) << login;
  EXPECT_EQ(login.out, "Login Succeeded\n");
  json config = json::parse(read_file(user_.docker_config()));
  EXPECT_EQ(config["auths"][registry_->host()]["auth"], base64(registry_->username() + ":" + registry_->password()));
  struct stat st;
  ASSERT_EQ(::stat(user_.docker_config().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ProcessResult pull = user_.berth({"pull", registry_->host() + "/team/app:v1"});
  EXPECT_TRUE(pull.succeeded()) << pull;

  ProcessResult logout = user_.berth({"logout", registry_->host()});
  ASSERT_TRUE(logout.succeeded()) << logout;
  EXPECT_EQ(logout.out, "Removing login credentials for " + registry_->host() + "\n");
  EXPECT_FALSE(json::parse(read_file(user_.docker_config()))["auths"].contains(registry_->host()));
  EXPECT_EQ(user_.berth({"logout", registry_->host()}).out, "Not logged in to " + registry_->host() + "\n");
}

TEST_P(LoginTest, AWrongPasswordIsRefusedAndNothingIsKept) {
  ProcessResult login = user_.berth({"login", "-u", registry_->username(), "-p", "wrong", registry_->host()});
  EXPECT_EQ(login.exit_code, 1) << login;
  EXPECT_NE(login.err.find("unauthorized"), std::string::npos) << login;
  EXPECT_NE(login.err.find("Use --password-stdin"), std::string::npos) << login;
  EXPECT_FALSE(std::filesystem::exists(user_.docker_config()));
}

INSTANTIATE_TEST_SUITE_P(Modes, LoginTest, ::testing::Values(RegistryMode::kBasicTls, RegistryMode::kToken));

TEST(Login, WithoutATerminalThereIsNoPrompt) {
  BerthUser user;
  ProcessResult login = user.berth({"login", "127.0.0.1:9"});
  EXPECT_EQ(login.exit_code, 1) << login;
  EXPECT_NE(login.err.find("cannot perform an interactive login from a non TTY device"), std::string::npos) << login;
}

TEST(Tag, NamesAnImageByTagOrIdAndRmiOfOneTagOnlyUntags) {
  RegistryServer registry = RegistryServer::start(RegistryMode::kAnonymous);
  TempDir layouts("berth-registry-layouts");
  OciLayout layout = make_oci_layout(layouts.path() + "/one", "v1");
  ASSERT_TRUE(skopeo_push(registry, layout.dir, layout.tag, "team/app:v1", std::nullopt).succeeded());
  BerthUser user;
  ASSERT_TRUE(user.berth({"pull", "-q", registry.host() + "/team/app:v1"}).succeeded());
  std::string id = layout.images.at(0).config;

  // As the tutorial: `docker tag 0e5679ebf079 kbaafi/dockerml:latest`.
  ProcessResult by_id = user.berth({"tag", id.substr(7, 12), "kbaafi/dockerml:latest"});
  ASSERT_TRUE(by_id.succeeded()) << by_id;
  ProcessResult by_name = user.berth({"tag", registry.host() + "/team/app:v1", "dockerml"});
  ASSERT_TRUE(by_name.succeeded()) << by_name;
  ProcessResult images = user.berth({"images"});
  EXPECT_NE(images.out.find("kbaafi/dockerml"), std::string::npos) << images.out;
  EXPECT_NE(images.out.find("dockerml "), std::string::npos) << images.out;

  ProcessResult rmi = user.berth({"rmi", "kbaafi/dockerml"});
  ASSERT_TRUE(rmi.succeeded()) << rmi;
  EXPECT_EQ(rmi.out, "Untagged: kbaafi/dockerml:latest\n");
  EXPECT_NE(user.berth({"images", "-q", "--no-trunc"}).out.find(id), std::string::npos);

  ProcessResult missing = user.berth({"tag", "nothing:here", "x:y"});
  EXPECT_NE(missing.exit_code, 0) << missing;
  EXPECT_NE(missing.err.find("no such image"), std::string::npos) << missing;
}

TEST(PullQuiet, PrintsOnlyTheReference) {
  RegistryServer registry = RegistryServer::start(RegistryMode::kAnonymous);
  TempDir layouts("berth-registry-layouts");
  OciLayout layout = make_oci_layout(layouts.path() + "/one", "v1");
  ASSERT_TRUE(skopeo_push(registry, layout.dir, layout.tag, "team/app:v1", std::nullopt).succeeded());
  BerthUser user;
  ProcessResult pull = user.berth({"pull", "-q", registry.host() + "/team/app:v1"});
  ASSERT_TRUE(pull.succeeded()) << pull;
  EXPECT_EQ(pull.out, registry.host() + "/team/app:v1\n");
}

}  // namespace
}  // namespace berth::test
