// `berth pull` against registries that misbehave (tests/registry/
// fake_registry.py): tampered blobs, an oversize manifest, 429s and 5xx,
// connections dropped mid-blob, a redirect to another host, wrong diff_ids,
// TLS against plain HTTP, Ctrl-C. Each refusal is checked for its message,
// exit status 1 and a store with nothing half-done in it; each recovery
// for the image it stored and what berth sent the registry.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "berth_user.h"
#include "fake_registry.h"
#include "support/files.h"
#include "support/process.h"
#include "support/registry.h"
#include "support/temp_dir.h"

namespace berth::test {
namespace {

using nlohmann::json;

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override { layout_ = make_oci_layout(layouts_.path() + "/one", "v1"); }

  const OciImageDigests& image() const { return layout_.images.at(0); }
  std::string name(const FakeRegistry& fake) const { return fake.host() + "/team/app:v1"; }
  ProcessResult pull(const FakeRegistry& fake) const { return user_.berth({"pull", name(fake)}); }

  // The layers' diff_ids, from the layout's config.
  std::vector<std::string> diff_ids() const {
    json config = json::parse(read_file(oci_blob_path(layout_.dir, image().config)));
    return config["rootfs"]["diff_ids"].get<std::vector<std::string>>();
  }
  uint64_t blob_size(const std::string& digest) const {
    return std::filesystem::file_size(oci_blob_path(layout_.dir, digest));
  }

  // The names in the store's layers/ (temp dirs of an extraction included).
  std::vector<std::string> layer_entries() const {
    std::vector<std::string> names;
    if (!std::filesystem::exists(user_.root() + "/layers")) return names;
    for (const auto& entry : std::filesystem::directory_iterator(user_.root() + "/layers")) {
      names.push_back(entry.path().filename());
    }
    return names;
  }
  bool has_extract_temp_dir() const {
    for (const std::string& entry : layer_entries()) {
      if (entry.starts_with(".extract-")) return true;
    }
    return false;
  }

  // The store's listing, less a layer that may have completed (verified)
  // while another failed: those stay, for the next pull to reuse.
  std::string listing_without_layer(const std::string& diff_id) const {
    std::string listing = user_.store_listing();
    std::string hex = diff_id.substr(7);
    std::string kept;
    for (size_t at = 0; at < listing.size();) {
      size_t end = listing.find('\n', at);
      std::string line = listing.substr(at, end == std::string::npos ? std::string::npos : end - at + 1);
      if (line.find("/layers/" + hex) == std::string::npos) kept += line;
      at = end == std::string::npos ? listing.size() : end + 1;
    }
    // layers/ itself is listed while it holds something.
    if (kept.find("/layers/") == std::string::npos) {
      if (size_t at = kept.find("/layers\n"); at != std::string::npos) kept.erase(at, 8);
    }
    return kept;
  }

  void expect_pulled(const ProcessResult& pull) const {
    ASSERT_TRUE(pull.succeeded()) << pull;
    EXPECT_NE(pull.out.find("Digest: " + image().manifest), std::string::npos) << pull.out;
    ProcessResult images = user_.berth({"images", "--no-trunc"});
    EXPECT_NE(images.out.find(image().config), std::string::npos) << images;
    for (const std::string& diff_id : diff_ids()) {
      EXPECT_TRUE(std::filesystem::is_directory(user_.root() + "/layers/" + diff_id.substr(7))) << diff_id;
    }
  }

  // Requests for a path that ends with suffix, in order.
  static std::vector<FakeRequest> requests_for(const FakeRegistry& fake, const std::string& suffix) {
    std::vector<FakeRequest> found;
    for (const FakeRequest& request : fake.requests()) {
      if (request.path.ends_with(suffix)) found.push_back(request);
    }
    return found;
  }

  TempDir layouts_{"berth-registry-layouts"};
  OciLayout layout_;
  BerthUser user_;
};

TEST_F(FaultTest, ATamperedLayerFailsWithItsDigestAndNoneOfItIsStored) {
  FakeRegistry fake(layout_.dir, "team/app", "v1", {.fault = "tamper-blob"});
  std::string before = user_.store_listing();
  ProcessResult pull = this->pull(fake);
  EXPECT_EQ(pull.exit_code, 1) << pull;
  EXPECT_NE(pull.err.find("layer " + image().layers[0]), std::string::npos) << pull;
  EXPECT_NE(pull.err.find("its content has digest"), std::string::npos) << pull;
  EXPECT_NE(pull.err.find("not " + image().layers[0]), std::string::npos) << pull;
  // The untampered layer may have been completed and kept; nothing else.
  EXPECT_EQ(listing_without_layer(diff_ids()[1]), before);
  EXPECT_FALSE(has_extract_temp_dir());
}

// Changed inside its deflate stream, the layer fails as it is decompressed,
// before its digest can be known.
TEST_F(FaultTest, ACorruptLayerFailsAndNoneOfItIsStored) {
  FakeRegistry fake(layout_.dir, "team/app", "v1", {.fault = "corrupt-blob"});
  std::string before = user_.store_listing();
  ProcessResult pull = this->pull(fake);
  EXPECT_EQ(pull.exit_code, 1) << pull;
  EXPECT_NE(pull.err.find("layer " + image().layers[0] + ": "), std::string::npos) << pull;
  EXPECT_NE(pull.err.find("gzip decompression failed"), std::string::npos) << pull;
  EXPECT_EQ(listing_without_layer(diff_ids()[1]), before);
  EXPECT_FALSE(has_extract_temp_dir());
}

TEST_F(FaultTest, ATamperedConfigFailsWithItsDigestBeforeAnyLayer) {
  FakeRegistry fake(layout_.dir, "team/app", "v1", {.fault = "tamper-config"});
  std::string before = user_.store_listing();
  ProcessResult pull = this->pull(fake);
  EXPECT_EQ(pull.exit_code, 1) << pull;
  EXPECT_NE(pull.err.find("blob " + fake.host() + "/team/app@" + image().config +
                          ": the registry sent content with digest sha256:"),
            std::string::npos)
      << pull;
  EXPECT_EQ(user_.store_listing(), before);
}

TEST_F(FaultTest, AManifestOverTheBoundIsRefused) {
  FakeRegistry fake(layout_.dir, "team/app", "v1", {.fault = "oversize-manifest"});
  std::string before = user_.store_listing();
  ProcessResult pull = this->pull(fake);
  EXPECT_EQ(pull.exit_code, 1) << pull;
  EXPECT_NE(pull.err.find("manifests/v1: the answer is longer than 4194304 bytes"), std::string::npos) << pull;
  EXPECT_EQ(user_.store_listing(), before);
}

TEST_F(FaultTest, TooManyRequestsWaitsForRetryAfterThenPulls) {
  FakeRegistry fake(layout_.dir, "team/app", "v1", {.fault = "retry-after", .count = 2});
  expect_pulled(pull(fake));
  std::vector<FakeRequest> manifests = requests_for(fake, "/manifests/v1");
  ASSERT_EQ(manifests.size(), 3u);
  EXPECT_EQ(manifests[0].status, 429);
  EXPECT_EQ(manifests[1].status, 429);
  EXPECT_EQ(manifests[2].status, 200);
  // Retry-After: 1, not the first back-off of 0.25 s.
  EXPECT_GE(manifests[1].time - manifests[0].time, 0.95);
  EXPECT_GE(manifests[2].time - manifests[1].time, 0.95);
}

TEST_F(FaultTest, ServerErrorsAreRetriedOnEveryRequest) {
  FakeRegistry fake(layout_.dir, "team/app", "v1", {.fault = "server-error-then-ok", .count = 2});
  expect_pulled(pull(fake));
  for (const std::string& suffix : {std::string("/manifests/v1"), "/blobs/" + image().config,
                                    "/blobs/" + image().layers[0], "/blobs/" + image().layers[1]}) {
    std::vector<FakeRequest> tries = requests_for(fake, suffix);
    ASSERT_EQ(tries.size(), 3u) << suffix;
    EXPECT_EQ(tries[0].status, 503) << suffix;
    EXPECT_EQ(tries[1].status, 503) << suffix;
    EXPECT_EQ(tries[2].status, 200) << suffix;
  }
}

TEST_F(FaultTest, ADroppedLayerResumesFromWhereItStopped) {
  FakeRegistry fake(layout_.dir, "team/app", "v1", {.fault = "drop-mid-blob"});
  expect_pulled(pull(fake));
  for (const std::string& layer : image().layers) {
    std::vector<FakeRequest> tries = requests_for(fake, "/blobs/" + layer);
    ASSERT_EQ(tries.size(), 2u) << layer;
    EXPECT_EQ(tries[0].range, "");
    EXPECT_EQ(tries[1].range, "bytes=" + std::to_string(blob_size(layer) / 2) + "-");
    EXPECT_EQ(tries[1].status, 206);
  }
}

TEST_F(FaultTest, ADroppedLayerFromARegistryWithoutRangeSkipsWhatItHas) {
  FakeRegistry fake(layout_.dir, "team/app", "v1", {.fault = "drop-no-range"});
  expect_pulled(pull(fake));
  for (const std::string& layer : image().layers) {
    std::vector<FakeRequest> tries = requests_for(fake, "/blobs/" + layer);
    ASSERT_EQ(tries.size(), 2u) << layer;
    EXPECT_NE(tries[1].range, "");
    EXPECT_EQ(tries[1].status, 200);
  }
}

// A 206 that starts before the byte asked for (its Content-Range says
// where): what berth already has is dropped, not spliced in twice.
TEST_F(FaultTest, AResumedLayerThatStartsEarlierThanAskedSkipsWhatItHas) {
  FakeRegistry fake(layout_.dir, "team/app", "v1", {.fault = "drop-wrong-range"});
  expect_pulled(pull(fake));
  for (const std::string& layer : image().layers) {
    std::vector<FakeRequest> tries = requests_for(fake, "/blobs/" + layer);
    ASSERT_EQ(tries.size(), 2u) << layer;
    EXPECT_EQ(tries[1].range, "bytes=" + std::to_string(blob_size(layer) / 2) + "-");
    EXPECT_EQ(tries[1].status, 206);
  }
}

TEST_F(FaultTest, ABlobRedirectedToAnotherHostGetsNoCredentials) {
  FakeRegistry fake(layout_.dir, "team/app", "v1",
                    {.fault = "redirect-blob", .username = "berth-test", .password = "s3cret"});
  write_file(user_.docker_config(),
             json{{"auths", {{fake.host(), {{"auth", base64("berth-test:s3cret")}}}}}}.dump(), 0600);
  expect_pulled(pull(fake));
  int redirected = 0, authorized = 0;
  for (const FakeRequest& request : fake.requests()) {
    if (request.port == fake.redirect_port()) {
      ++redirected;
      EXPECT_EQ(request.authorization, "") << request.path;
    } else if (request.status == 200 || request.status == 307) {
      ++authorized;
      EXPECT_EQ(request.authorization, "Basic " + base64("berth-test:s3cret")) << request.path;
    }
  }
  EXPECT_EQ(redirected, 3);  // the config and the two layers
  EXPECT_GE(authorized, 4);  // the manifest and the three redirects
}

TEST_F(FaultTest, ARegistryThatAlwaysFailsIsGivenUpAfterTheRetries) {
  FakeRegistry fake(layout_.dir, "team/app", "v1", {.fault = "always-500"});
  std::string before = user_.store_listing();
  ProcessResult pull = this->pull(fake);
  EXPECT_EQ(pull.exit_code, 1) << pull;
  EXPECT_NE(pull.err.find("manifest for " + name(fake)), std::string::npos) << pull;
  EXPECT_NE(pull.err.find("unknown: the fake registry always fails (HTTP 500, gave up after 5 tries)"),
            std::string::npos)
      << pull;
  EXPECT_EQ(requests_for(fake, "/manifests/v1").size(), 5u);
  EXPECT_EQ(user_.store_listing(), before);
}

TEST_F(FaultTest, LayersThatAreNotTheirDiffIdsAreRefusedAndNotStored) {
  FakeRegistry fake(layout_.dir, "team/app", "v1", {.fault = "wrong-diff-id"});
  std::string before = user_.store_listing();
  ProcessResult pull = this->pull(fake);
  EXPECT_EQ(pull.exit_code, 1) << pull;
  EXPECT_NE(pull.err.find("not the diff_id its image names"), std::string::npos) << pull;
  EXPECT_EQ(layer_entries(), std::vector<std::string>());
  EXPECT_EQ(user_.store_listing(), before);
}

TEST_F(FaultTest, TlsToAPlainHttpRegistryFailsWithTheReason) {
  // A CA in certs.d for the registry: berth must speak verified TLS to it,
  // and it speaks only plain HTTP.
  FakeRegistry fake(layout_.dir, "team/app", "v1");
  std::string certs = user_.registries_config().substr(0, user_.registries_config().rfind('/')) + "/certs.d/" +
                      fake.host();
  std::filesystem::create_directories(certs);
  ProcessResult ca = run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                  "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=berth-test-ca", "-days",
                                  "1", "-keyout", certs + "/ca.key", "-out", certs + "/ca.crt"});
  ASSERT_TRUE(ca.succeeded()) << ca;
  std::filesystem::remove(certs + "/ca.key");
  std::string before = user_.store_listing();
  ProcessResult pull = this->pull(fake);
  EXPECT_EQ(pull.exit_code, 1) << pull;
  EXPECT_NE(pull.err.find("https://" + fake.host() + "/v2/team/app/manifests/v1"), std::string::npos) << pull;
  EXPECT_NE(pull.err.find("(is " + fake.host() + " a plain-HTTP registry? berth speaks TLS to it because of " +
                          certs + "/ca.crt)\n"),
            std::string::npos)
      << pull;
  EXPECT_EQ(user_.store_listing(), before);
}

TEST_F(FaultTest, CtrlCStopsAPullCleanlyAndTheNextPullFinishesIt) {
  FakeRegistry fake(layout_.dir, "team/app", "v1", {.fault = "slow-blob"});
  BackgroundProcess pull = user_.berth_in_background({"pull", name(fake)});
  // Interrupt it mid-layer: a layer is trickling in and being extracted.
  ASSERT_TRUE(eventually([&] { return has_extract_temp_dir(); }, 15s));
  ASSERT_EQ(::kill(pull.pid(), SIGINT), 0);
  ProcessResult stopped = pull.wait(15s);
  EXPECT_TRUE(stopped.exited()) << stopped;
  EXPECT_EQ(stopped.exit_code, 130) << stopped;
  EXPECT_NE(stopped.err.find("interrupted"), std::string::npos) << stopped;
  // The store cleaned up after itself: no temp dir, no image.
  EXPECT_FALSE(has_extract_temp_dir());
  EXPECT_FALSE(std::filesystem::exists(user_.root() + "/repositories.json"));

  expect_pulled(this->pull(fake));
  EXPECT_FALSE(has_extract_temp_dir());
}

}  // namespace
}  // namespace berth::test
