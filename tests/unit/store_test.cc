// The store's names: every spelling of a reference finds the one tag, ids
// and id prefixes find images, and Docker's refusals come through.
#include "rootfs/store.h"

#include <gtest/gtest.h>

#include "core/files.h"
#include "rootfs/digest.h"
#include "support/temp_dir.h"

namespace berth::image {
namespace {

using nlohmann::json;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::open(dir_.path());
    ASSERT_TRUE(store.has_value()) << store.error().message();
    store_.emplace(std::move(store.value()));
    // An empty tar: two zero blocks.
    std::string layer(1024, '\0');
    layer_ = sha256_digest(layer);
    bool read = false;
    LayerReader reader = [&]() -> Result<std::span<const std::byte>> {
      if (read) return std::span<const std::byte>{};
      read = true;
      return std::as_bytes(std::span(layer.data(), layer.size()));
    };
    auto added = store_->add_layer(layer_, reader);
    ASSERT_TRUE(added.has_value()) << added.error().message();
  }

  // An image whose config differs by label, so each label is an id of its own.
  Image add(const std::string& label, const std::vector<std::string>& tags) {
    json config = {{"architecture", "amd64"},
                   {"os", "linux"},
                   {"config", {{"Labels", {{"test", label}}}}},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", {layer_}}}}};
    auto image = store_->add_image(config.dump(), tags);
    EXPECT_TRUE(image.has_value()) << image.error().message();
    return image.has_value() ? image.value() : Image{};
  }

  std::string found_id(const std::string& reference) {
    auto image = store_->find_image(reference);
    EXPECT_TRUE(image.has_value()) << reference << ": " << image.error().message();
    return image.has_value() ? image->id : "";
  }

  test::TempDir dir_{"berth-store-test"};
  std::optional<Store> store_;
  std::string layer_;
};

TEST_F(StoreTest, ALayerRemembersItsBlobsAndWhichRepositoriesHaveThem) {
  LayerBlob blob{"sha256:" + std::string(64, 'a'), "application/vnd.oci.image.layer.v1.tar+gzip", 42, {}};
  ASSERT_TRUE(store_->remember_layer_blob(layer_, blob, "127.0.0.1:5000/team/app").has_value());
  ASSERT_TRUE(store_->remember_layer_blob(layer_, blob, "127.0.0.1:5000/other/app").has_value());
  ASSERT_TRUE(store_->remember_layer_blob(layer_, blob, "127.0.0.1:5000/team/app").has_value());
  auto blobs = store_->layer_blobs(layer_);
  ASSERT_TRUE(blobs.has_value()) << blobs.error().message();
  ASSERT_EQ(blobs->size(), 1u);
  EXPECT_EQ(blobs->at(0).digest, blob.digest);
  EXPECT_EQ(blobs->at(0).media_type, blob.media_type);
  EXPECT_EQ(blobs->at(0).size, 42u);
  EXPECT_EQ(blobs->at(0).repositories,
            (std::vector<std::string>{"127.0.0.1:5000/team/app", "127.0.0.1:5000/other/app"}));
  // The layer's size is still read beside them.
  EXPECT_TRUE(store_->find_image(add("blobs", {"x:1"}).id).has_value());
}

TEST_F(StoreTest, AnImageKeepsItsRepoDigestsManifestAndConfigBytes) {
  Image image = add("digests", {"127.0.0.1:5000/x:1"});
  std::string manifest = "sha256:" + std::string(64, 'b');
  ASSERT_TRUE(store_->add_repo_digest(image.id, "127.0.0.1:5000/x@" + manifest).has_value());
  ASSERT_TRUE(store_->remember_manifest(image.id, {"application/vnd.oci.image.manifest.v1+json", "{}"}).has_value());
  // Recording the same image again (a second pull) keeps both.
  Image again = add("digests", {"y:1"});
  EXPECT_EQ(again.repo_digests, std::vector<std::string>{"127.0.0.1:5000/x@" + manifest});
  auto kept = store_->image_manifest(image.id);
  ASSERT_TRUE(kept.has_value() && kept->has_value());
  EXPECT_EQ((*kept)->bytes, "{}");
  auto config = store_->config_bytes(image.id);
  ASSERT_TRUE(config.has_value()) << config.error().message();
  EXPECT_EQ(sha256_digest(*config), image.id);
  EXPECT_FALSE(store_->add_repo_digest(image.id, "x:1").has_value());
}

TEST(StoreKeyTest, KeyIsTheFamiliarNameAndTag) {
  for (const char* text :
       {"python:3", "library/python:3", "docker.io/library/python:3", "index.docker.io/python:3"})
    EXPECT_EQ(normalize_reference(text).value(), "python:3") << text;
  EXPECT_EQ(normalize_reference("python").value(), "python:latest");
  EXPECT_EQ(normalize_reference("docker.io/kbaafi/dockerml").value(), "kbaafi/dockerml:latest");
  EXPECT_EQ(normalize_reference("berth-python:bookworm").value(), "berth-python:bookworm");
  EXPECT_EQ(normalize_reference("127.0.0.1:5000/x:1").value(), "127.0.0.1:5000/x:1");
  EXPECT_EQ(normalize_reference("localhost/x").value(), "localhost/x:latest");
}

TEST(StoreKeyTest, DigestDecidesAndCannotBeATag) {
  std::string digest = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(normalize_reference("python:3@" + digest).value(), "python@" + digest);
  EXPECT_EQ(normalize_tag("python@" + digest).error().message(),
            "refusing to create a tag with a digest reference: \"python@" + digest + "\"");
  EXPECT_EQ(normalize_tag("Python").error().message(),
            "invalid reference format: \"Python\": repository name must be lowercase");
}

TEST_F(StoreTest, EverySpellingOfATagFindsTheImage) {
  Image python = add("python", {"docker.io/library/python:3"});
  EXPECT_EQ(python.tags, std::vector<std::string>{"python:3"});
  for (const char* reference : {"python:3", "library/python:3", "docker.io/library/python:3",
                                "index.docker.io/library/python:3"})
    EXPECT_EQ(found_id(reference), python.id) << reference;

  Image ml = add("ml", {"kbaafi/dockerml"});
  EXPECT_EQ(ml.tags, std::vector<std::string>{"kbaafi/dockerml:latest"});
  EXPECT_EQ(found_id("docker.io/kbaafi/dockerml:latest"), ml.id);
}

TEST_F(StoreTest, IdsAndIdPrefixesFindImages) {
  Image image = add("ids", {"berth-python:bookworm"});
  std::string hex = image.id.substr(7);
  EXPECT_EQ(found_id(image.id), image.id);
  EXPECT_EQ(found_id(hex), image.id);  // 64 hex digits: an id, never a name
  EXPECT_EQ(found_id(hex.substr(0, 12)), image.id);
  EXPECT_EQ(found_id("sha256:" + hex.substr(0, 4)), image.id);
}

TEST_F(StoreTest, MissingImageIsEnoentAndABadNameSaysWhy) {
  auto missing = store_->find_image("python:2");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().errno_value(), ENOENT);
  EXPECT_EQ(missing.error().message(), "no such image: python:2");

  auto unknown_id = store_->find_image(std::string(64, 'f'));
  ASSERT_FALSE(unknown_id.has_value());
  EXPECT_EQ(unknown_id.error().errno_value(), ENOENT);

  auto bad = store_->find_image("Python");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(),
            "invalid reference format: \"Python\": repository name must be lowercase");
}

TEST_F(StoreTest, RemovingOneOfTwoTagsOnlyUntags) {
  Image image = add("two", {"python:3", "kbaafi/dockerml:latest"});
  auto removed = store_->remove_image("docker.io/library/python:3", {});
  ASSERT_TRUE(removed.has_value()) << removed.error().message();
  EXPECT_EQ(removed.value(), std::vector<std::string>{"Untagged: python:3"});
  EXPECT_EQ(found_id("kbaafi/dockerml"), image.id);
}

TEST_F(StoreTest, KeysOfAnOlderStoreReadInTheirFamiliarForm) {
  Image image = add("old", {});
  ASSERT_TRUE(write_file(dir_ / "repositories.json",
                         json{{"docker.io/library/busybox:oci", image.id}}.dump())
                  .has_value());
  EXPECT_EQ(found_id("busybox:oci"), image.id);
  auto images = store_->list_images();
  ASSERT_TRUE(images.has_value()) << images.error().message();
  ASSERT_EQ(images->size(), 1u);
  EXPECT_EQ(images->front().tags, std::vector<std::string>{"busybox:oci"});
}

}  // namespace
}  // namespace berth::image
