// The deterministic layer tar a push makes of a layer directory: the same
// tree gives the same bytes, overlay whiteouts become OCI ones, and a tar
// extracted by the store and written again is the same tar (so its digest
// is the layer's diff_id).
#include "rootfs/layer_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "core/c_handle.h"
#include "rootfs/digest.h"
#include "rootfs/extract.h"
#include "support/temp_dir.h"

namespace berth::image {
namespace {

void write(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

void set_mtime(const std::string& path, time_t seconds) {
  struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// A layer directory as the store holds one: files, a symlink, a hard link,
// an xattr, a whiteout (0:0 char device) and an opaque directory.
void make_tree(const std::string& root) {
  ASSERT_EQ(::mkdir((root + "/etc").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root + "/opaque").c_str(), 0700), 0);
  write(root + "/etc/b.conf", "b\n", 0644);
  write(root + "/etc/a.conf", "a\n", 0600);
  write(root + "/run.sh", "#!/bin/sh\n", 04755);
  ASSERT_EQ(::chown((root + "/run.sh").c_str(), 1000, 1001), 0);
  ASSERT_EQ(::link((root + "/etc/a.conf").c_str(), (root + "/etc/z.conf").c_str()), 0);
  ASSERT_EQ(::symlink("etc/a.conf", (root + "/link").c_str()), 0);
  ASSERT_EQ(::setxattr((root + "/run.sh").c_str(), "user.note", "hi", 2, 0), 0);
  ASSERT_EQ(::mknod((root + "/gone").c_str(), S_IFCHR | 0600, makedev(0, 0)), 0);
  ASSERT_EQ(::setxattr((root + "/opaque").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  write(root + "/opaque/kept", "k", 0644);
  for (const char* path : {"/etc/b.conf", "/etc/a.conf", "/run.sh", "/link", "/opaque/kept", "/gone", "/etc",
                           "/opaque"})
    set_mtime(root + path, 1700000000);
}

std::string tar_of(const std::string& dir, bool gzip, LayerTar* digests = nullptr) {
  std::string bytes;
  ByteSink sink = [&](std::span<const std::byte> block) -> Status {
    bytes.append(reinterpret_cast<const char*>(block.data()), block.size());
    return ok();
  };
  auto tar = write_layer_tar(dir, gzip, sink);
  EXPECT_TRUE(tar.has_value()) << tar.error().message();
  if (digests && tar) *digests = *tar;
  return bytes;
}

struct Entry {
  std::string path;
  unsigned type;
  int64_t size;
  std::string xattrs;
};

std::vector<Entry> entries_of(const std::string& bytes) {
  CHandle<archive, archive_read_free> reader(archive_read_new());
  archive_read_support_format_tar(reader.get());
  archive_read_support_filter_all(reader.get());
  EXPECT_EQ(archive_read_open_memory(reader.get(), bytes.data(), bytes.size()), ARCHIVE_OK);
  std::vector<Entry> out;
  archive_entry* entry;
  while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
    Entry e{archive_entry_pathname(entry), archive_entry_filetype(entry), archive_entry_size(entry), ""};
    archive_entry_xattr_reset(entry);
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK)
      e.xattrs += std::string(name) + "=" + std::string(static_cast<const char*>(value), size) + ";";
    out.push_back(e);
  }
  return out;
}

class LayerTarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "whiteouts (mknod) and trusted.* xattrs need root";
    make_tree(tree_.path());
  }
  test::TempDir tree_{"berth-layer-tar"};
};

TEST_F(LayerTarTest, TheSameTreeGivesTheSameBytesAndDigests) {
  LayerTar first_digests, second_digests;
  std::string first = tar_of(tree_.path(), true, &first_digests);
  std::string second = tar_of(tree_.path(), true, &second_digests);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first, second);
  EXPECT_EQ(first_digests.digest, sha256_digest(first));
  EXPECT_EQ(first_digests.size, first.size());
  std::string plain = tar_of(tree_.path(), false);
  EXPECT_EQ(first_digests.diff_id, sha256_digest(plain));
  EXPECT_EQ(first_digests.tar_size, plain.size());
  // The time of the writing is in neither the gzip header nor the tar.
  ::sleep(1);
  EXPECT_EQ(tar_of(tree_.path(), true), first);
}

TEST_F(LayerTarTest, EntriesAreSortedAndWhiteoutsAreOciOnes) {
  std::vector<Entry> entries = entries_of(tar_of(tree_.path(), false));
  std::vector<std::string> paths;
  for (const Entry& e : entries) paths.push_back(e.path);
  std::vector<std::string> expected = {".wh.gone",   "etc/",        "etc/a.conf",  "etc/b.conf", "etc/z.conf",
                                       "link",       "opaque/",     "opaque/.wh..wh..opq", "opaque/kept", "run.sh"};
  EXPECT_EQ(paths, expected);
  for (const Entry& e : entries) {
    if (e.path == ".wh.gone" || e.path == "opaque/.wh..wh..opq") {
      EXPECT_EQ(e.type, AE_IFREG) << e.path;
      EXPECT_EQ(e.size, 0) << e.path;
    }
    EXPECT_EQ(e.xattrs.find("trusted.overlay"), std::string::npos) << e.path << ": " << e.xattrs;
    // (libarchive writes an xattr both as LIBARCHIVE.xattr and SCHILY.xattr
    // and reads back each.)
    if (e.path == "run.sh") {
      EXPECT_NE(e.xattrs.find("user.note=hi;"), std::string::npos) << e.xattrs;
    }
  }
}

TEST_F(LayerTarTest, AnExtractedTarWrittenAgainIsTheSameTar) {
  LayerTar digests;
  std::string plain = tar_of(tree_.path(), false, &digests);
  test::TempDir extracted("berth-layer-tar-extracted");
  bool read = false;
  LayerReader reader = [&]() -> Result<std::span<const std::byte>> {
    if (read) return std::span<const std::byte>{};
    read = true;
    return std::as_bytes(std::span(plain.data(), plain.size()));
  };
  auto stats = extract_layer(reader, extracted.path());
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  EXPECT_EQ(stats->content_digest, digests.diff_id);
  struct stat st;
  ASSERT_EQ(::lstat((extracted.path() + "/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  LayerTar again;
  EXPECT_EQ(tar_of(extracted.path(), false, &again), plain);
  EXPECT_EQ(again.diff_id, digests.diff_id);
}

}  // namespace
}  // namespace berth::image
