// `berth push` against a real docker-registry (tests/support/registry.h):
// a pulled image goes back with its own blobs and manifest (mounted from
// the repository it came from, then "Layer already exists"), an image of
// uncompressed layers goes up as deterministic blobs that skopeo and berth
// read back to the same image, and a user who may only pull is denied.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "berth_user.h"
#include "rootfs/digest.h"
#include "rootfs/layer_tar.h"
#include "support/process.h"
#include "support/registry.h"
#include "support/temp_dir.h"

namespace berth::test {
namespace {

using nlohmann::json;

std::string short_id(const std::string& digest) { return digest.substr(7, 12); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// "sha256:..." after "<tag>: digest: " in a push's last line.
std::string pushed_digest(const std::string& out, const std::string& tag) {
  size_t at = out.find(tag + ": digest: ");
  if (at == std::string::npos) return "";
  return out.substr(at + tag.size() + 10, 71);
}

json inspect_image(const BerthUser& user, const std::string& name) {
  ProcessResult inspect = user.berth({"inspect", name});
  EXPECT_TRUE(inspect.succeeded()) << inspect;
  json out = json::parse(inspect.out, nullptr, false);
  return out.is_array() && !out.empty() ? out[0] : json();
}

using PushTest = RegistryWithImage;

TEST_P(PushTest, APulledImageGoesBackWithItsOwnBlobsMountedThenAlreadyThere) {
  const OciImageDigests& original = layout_.images.at(0);
  ASSERT_TRUE(user_.berth({"pull", "-q", name("team/app:v1")}).succeeded());
  ASSERT_TRUE(user_.berth({"tag", name("team/app:v1"), name("other/app:v2")}).succeeded());

  ProcessResult push = user_.berth({"push", name("other/app:v2")});
  ASSERT_TRUE(push.succeeded()) << push;
  EXPECT_TRUE(push.out.starts_with("The push refers to repository [" + name("other/app") + "]\n")) << push.out;
  json image = inspect_image(user_, name("other/app:v2"));
  for (const std::string diff_id : image["RootFS"]["Layers"]) {
    EXPECT_TRUE(contains(push.out, short_id(diff_id) + ": Preparing\n")) << push.out;
    EXPECT_TRUE(contains(push.out, short_id(diff_id) + ": Mounted from team/app\n")) << push.out;
  }
  // Every blob was reused, so the manifest is the one skopeo pushed.
  EXPECT_EQ(pushed_digest(push.out, "v2"), original.manifest) << push.out;
  ProcessResult manifest = skopeo_inspect_manifest(*registry_, "other/app:v2", registry_->credentials());
  ASSERT_TRUE(manifest.succeeded()) << manifest;
  EXPECT_EQ(image::sha256_digest(manifest.out), original.manifest);
  ProcessResult config = skopeo_inspect_config(*registry_, "other/app:v2", registry_->credentials());
  ASSERT_TRUE(config.succeeded()) << config;
  EXPECT_EQ(image::sha256_digest(config.out), original.config);

  ProcessResult again = user_.berth({"push", name("other/app:v2")});
  ASSERT_TRUE(again.succeeded()) << again;
  for (const std::string diff_id : image["RootFS"]["Layers"])
    EXPECT_TRUE(contains(again.out, short_id(diff_id) + ": Layer already exists\n")) << again.out;

  ProcessResult images = user_.berth({"images", "--digests"});
  ASSERT_TRUE(images.succeeded()) << images;
  EXPECT_TRUE(contains(images.out, "DIGEST")) << images.out;
  EXPECT_TRUE(contains(images.out, original.manifest)) << images.out;
  json repo_digests = inspect_image(user_, name("other/app:v2"))["RepoDigests"];
  EXPECT_TRUE(std::find(repo_digests.begin(), repo_digests.end(), name("other/app@" + original.manifest)) !=
              repo_digests.end())
      << repo_digests.dump();
}

TEST_P(PushTest, OciFormatAndQuietPrintOnlyTheReference) {
  ASSERT_TRUE(user_.berth({"pull", "-q", name("team/app:v1")}).succeeded());
  ASSERT_TRUE(user_.berth({"tag", name("team/app:v1"), name("team/app:v3")}).succeeded());
  ProcessResult push = user_.berth({"push", "-q", "--format", "oci", name("team/app:v3")});
  ASSERT_TRUE(push.succeeded()) << push;
  EXPECT_EQ(push.out, name("team/app:v3") + "\n");
}

// A layer tar of a small tree, as berth writes it (so that the store's
// layer, written again, has its diff_id).
std::string write_rootfs_tar(const std::string& dir) {
  std::string tree = dir + "/tree";
  std::filesystem::create_directories(tree + "/etc");
  std::ofstream(tree + "/etc/hello") << "hello from a layer never compressed\n";
  std::ofstream(tree + "/run.sh") << "#!/bin/sh\necho hi\n";
  ::chmod((tree + "/run.sh").c_str(), 0755);
  std::filesystem::create_symlink("etc/hello", tree + "/hello");
  std::string path = dir + "/rootfs.tar";
  std::ofstream out(path, std::ios::binary);
  auto tar = image::write_layer_tar(tree, false, [&](std::span<const std::byte> bytes) -> Status {
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return ok();
  });
  EXPECT_TRUE(tar.has_value()) << tar.error().message();
  return path;
}

TEST_P(PushTest, UncompressedLayersGoUpAsTheSameBlobsEverywhereAndComeBackTheSame) {
  TempDir work("berth-push-rootfs");
  ProcessResult import = user_.berth({"import", "--rootfs", write_rootfs_tar(work.path()), name("plain/app:v1")});
  ASSERT_TRUE(import.succeeded()) << import;
  json image = inspect_image(user_, name("plain/app:v1"));

  ProcessResult push = user_.berth({"push", name("plain/app:v1")});
  ASSERT_TRUE(push.succeeded()) << push;
  EXPECT_TRUE(contains(push.out, short_id(image["RootFS"]["Layers"][0]) + ": Pushed\n")) << push.out;
  std::string digest = pushed_digest(push.out, "v1");

  // Another registry gets the very same blobs, hence the same manifest.
  RegistryServer second = RegistryServer::start(RegistryMode::kAnonymous);
  std::string elsewhere = second.host() + "/plain/app:v1";
  ASSERT_TRUE(user_.berth({"tag", name("plain/app:v1"), elsewhere}).succeeded());
  ProcessResult push_elsewhere = user_.berth({"push", elsewhere});
  ASSERT_TRUE(push_elsewhere.succeeded()) << push_elsewhere;
  EXPECT_TRUE(contains(push_elsewhere.out, ": Pushed\n")) << push_elsewhere.out;
  EXPECT_EQ(pushed_digest(push_elsewhere.out, "v1"), digest) << push.out << push_elsewhere.out;

  // skopeo reads the Docker schema 2 manifest and the config berth made.
  ProcessResult manifest = skopeo_inspect_manifest(*registry_, "plain/app:v1", registry_->credentials());
  ASSERT_TRUE(manifest.succeeded()) << manifest;
  EXPECT_EQ(image::sha256_digest(manifest.out), digest);
  EXPECT_EQ(json::parse(manifest.out).value("mediaType", ""), "application/vnd.docker.distribution.manifest.v2+json");
  ProcessResult config = skopeo_inspect_config(*registry_, "plain/app:v1", registry_->credentials());
  ASSERT_TRUE(config.succeeded()) << config;
  EXPECT_EQ(image::sha256_digest(config.out), image["Id"]);

  // In OCI's format (the same blobs, already there), copied by skopeo
  // into an OCI layout, pushed back and pulled by berth afresh: the same
  // image. (skopeo's oci: layouts take OCI manifests only.)
  ASSERT_TRUE(user_.berth({"tag", name("plain/app:v1"), name("plain/app:oci")}).succeeded());
  ProcessResult push_oci = user_.berth({"push", "--format", "oci", name("plain/app:oci")});
  ASSERT_TRUE(push_oci.succeeded()) << push_oci;
  EXPECT_TRUE(contains(push_oci.out, ": Layer already exists\n")) << push_oci.out;
  std::string copied = work.path() + "/copied";
  ProcessResult copy = skopeo_pull(*registry_, "plain/app:oci", copied, "v1", registry_->credentials());
  ASSERT_TRUE(copy.succeeded()) << copy;
  ProcessResult back_push = skopeo_push(second, copied, "v1", "back/app:v1", std::nullopt);
  ASSERT_TRUE(back_push.succeeded()) << back_push;
  BerthUser fresh;
  ProcessResult pull = fresh.berth({"pull", second.host() + "/back/app:v1"});
  ASSERT_TRUE(pull.succeeded()) << pull;
  json back = inspect_image(fresh, second.host() + "/back/app:v1");
  EXPECT_EQ(back["Id"], image["Id"]);
  EXPECT_EQ(back["RootFS"]["Layers"], image["RootFS"]["Layers"]);
}

INSTANTIATE_TEST_SUITE_P(Modes, PushTest,
                         ::testing::Values(RegistryMode::kAnonymous, RegistryMode::kBasicTls, RegistryMode::kToken));

TEST(PushRefusals, AUserWhoMayOnlyPullIsDenied) {
  RegistryServer registry = RegistryServer::start(
      RegistryMode::kToken, {.users = {{.name = "reader", .password = "reader-password", .actions = {"pull"}},
                                       {.name = "writer", .password = "writer-password"}}});
  TempDir layouts("berth-registry-layouts");
  OciLayout layout = make_oci_layout(layouts.path() + "/one", "v1");
  RegistryCredentials writer{"writer", "writer-password"};
  ASSERT_TRUE(skopeo_push(registry, layout.dir, layout.tag, "team/app:v1", writer).succeeded());
  BerthUser user;
  user.log_in(registry);  // the first user: reader
  std::string name = registry.host() + "/team/app:v1";
  ASSERT_TRUE(user.berth({"pull", "-q", name}).succeeded());
  ASSERT_TRUE(user.berth({"tag", name, registry.host() + "/team/mine:v1"}).succeeded());
  ProcessResult push = user.berth({"push", registry.host() + "/team/mine:v1"});
  EXPECT_EQ(push.exit_code, 1) << push;
  EXPECT_TRUE(contains(push.err, "denied")) << push;
}

}  // namespace
}  // namespace berth::test
