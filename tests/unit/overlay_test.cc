#include "rootfs/overlay.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/files.h"
#include "support/temp_dir.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) { return test::read_file(path); }
void write_text(const fs::path& path, const std::string& text) { test::write_file(path, text); }

// Many layers with long paths: more than one page if their paths were
// joined into a "lowerdir=" string as they are.
class OverlayTest : public ::testing::TestWithParam<OverlayLayers::Lowerdir> {
 protected:
  static constexpr int kLayers = 150;

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting overlayfs needs root";
    dir_ = test::TempDir("berth-overlay-test");
    root_ = dir_.path();
    std::string long_name(60, 'l');
    for (int i = 0; i < kLayers; ++i) {
      fs::path layer = root_ / (long_name + std::to_string(i));
      fs::create_directories(layer);
      write_text(layer / ("only-in-" + std::to_string(i)), "");
      write_text(layer / "shared", std::to_string(i));  // the topmost must win
      layers_.lower_top_first.insert(layers_.lower_top_first.begin(), layer.string());
    }
    fs::create_directories(root_ / "upper");
    fs::create_directories(root_ / "work");
    fs::create_directories(root_ / "merged");
    layers_.upper = (root_ / "upper").string();
    layers_.work = (root_ / "work").string();
  }

  // dir_ goes with the fixture, but not through the overlay, were it
  // still mounted on merged/.
  void TearDown() override {
    if (root_.empty()) return;
    (void)unmount_overlay((root_ / "merged").string());
  }

  test::TempDir dir_;
  fs::path root_;
  OverlayLayers layers_;
};

TEST_P(OverlayTest, ManyLayersMountWithTheTopmostWinning) {
  size_t joined = 0;
  for (const std::string& layer : layers_.lower_top_first) joined += layer.size() + 1;
  ASSERT_GT(joined, static_cast<size_t>(::sysconf(_SC_PAGESIZE)));
  layers_.lowerdir = GetParam();
  fs::path merged = root_ / "merged";
  auto mounted = mount_overlay(layers_, merged.string());
  if (!mounted && GetParam() == OverlayLayers::Lowerdir::OneByOne &&
      mounted.error().errno_value() == EINVAL)
    GTEST_SKIP() << "this kernel has no lowerdir+ (Linux 6.8): " << mounted.error().message();
  ASSERT_TRUE(mounted) << mounted.error().message();
  EXPECT_EQ(read_text(merged / "shared"), std::to_string(kLayers - 1));
  for (int i = 0; i < kLayers; ++i)
    EXPECT_TRUE(fs::exists(merged / ("only-in-" + std::to_string(i)))) << "layer " << i;
  write_text(merged / "new", "x");
  EXPECT_TRUE(fs::exists(root_ / "upper" / "new"));
  ASSERT_TRUE(unmount_overlay(merged.string()));
  EXPECT_FALSE(fs::exists(merged / "shared"));
}

INSTANTIATE_TEST_SUITE_P(Lowerdir, OverlayTest,
                         ::testing::Values(OverlayLayers::Lowerdir::Automatic,
                                           OverlayLayers::Lowerdir::OneByOne,
                                           OverlayLayers::Lowerdir::SingleString));

TEST(OverlayPathTest, LayerPathWithAColonIsRefused) {
  OverlayLayers layers{{"/tmp/a:b"}, "/tmp/upper", "/tmp/work"};
  auto mounted = mount_overlay(layers, "/tmp/nowhere");
  ASSERT_FALSE(mounted);
  EXPECT_NE(mounted.error().message().find("contains ':'"), std::string::npos)
      << mounted.error().message();
}

}  // namespace
}  // namespace berth::image
