#include "rootfs/registry/base64.h"

#include <gtest/gtest.h>

namespace berth::registry {
namespace {

TEST(Base64Test, EncodesWithPadding) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("user:p@ss"), "dXNlcjpwQHNz");
}

TEST(Base64Test, DecodesWhatItEncodes) {
  using namespace std::string_literals;
  for (const std::string& text : {""s, "f"s, "fo"s, "foo"s, "foob"s, "\0\xff:x"s}) {
    auto decoded = base64_decode(base64_encode(text));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
    EXPECT_EQ(*decoded, text);
  }
}

TEST(Base64Test, RefusesWhatIsNotCanonicalBase64) {
  EXPECT_NE(base64_decode("Zm9").error().message().find("multiple of 4"), std::string::npos);
  EXPECT_NE(base64_decode("Zm 9").error().message().find("' ' at offset 2"), std::string::npos);
  EXPECT_FALSE(base64_decode("Z=9v").has_value());
  EXPECT_FALSE(base64_decode("====").has_value());
  EXPECT_FALSE(base64_decode("Zm-_").has_value());
}

}  // namespace
}  // namespace berth::registry
