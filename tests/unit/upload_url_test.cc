// The URL of an upload's final PUT: the Location the registry gave, its
// query (the session's state) kept, digest= added to it.
#include <gtest/gtest.h>

#include "rootfs/registry/client.h"

namespace berth::registry {
namespace {

TEST(UploadUrl, KeepsTheRegistrysQueryAndAddsTheDigest) {
  EXPECT_EQ(with_digest("https://r:5000/v2/x/blobs/uploads/u1?_state=a%2Bb%3D", "sha256:ab"),
            "https://r:5000/v2/x/blobs/uploads/u1?_state=a%2Bb%3D&digest=sha256%3Aab");
  EXPECT_EQ(with_digest("https://r/v2/x/blobs/uploads/u1", "sha256:ab"),
            "https://r/v2/x/blobs/uploads/u1?digest=sha256%3Aab");
  EXPECT_EQ(with_digest("https://r/u?", "sha256:ab"), "https://r/u?digest=sha256%3Aab");
  EXPECT_EQ(with_digest("https://r/u?a=1&", "sha256:ab"), "https://r/u?a=1&digest=sha256%3Aab");
  EXPECT_EQ(with_digest("https://r/u?a=1#frag", "sha256:ab"), "https://r/u?a=1&digest=sha256%3Aab");
}

}  // namespace
}  // namespace berth::registry
