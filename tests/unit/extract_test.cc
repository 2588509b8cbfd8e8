#include "rootfs/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/files.h"
#include "support/temp_dir.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;

constexpr time_t kMtime = 1600000000;

// One archive entry; the helpers below fill in the fields that matter.
struct Entry {
  std::string name;
  mode_t type = AE_IFREG;
  mode_t mode = 0644;
  std::string contents;
  std::string symlink;
  std::string hardlink;
  int64_t uid = 0;
  int64_t gid = 0;
  time_t mtime = kMtime;
  dev_t rdev = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

Entry file(std::string name, std::string contents, mode_t mode = 0644) {
  return {.name = std::move(name), .mode = mode, .contents = std::move(contents)};
}
Entry dir(std::string name, mode_t mode = 0755) {
  return {.name = std::move(name), .type = AE_IFDIR, .mode = mode};
}
Entry symlink(std::string name, std::string target) {
  return {.name = std::move(name), .type = AE_IFLNK, .mode = 0777, .symlink = std::move(target)};
}
Entry hardlink(std::string name, std::string target) {
  return {.name = std::move(name), .hardlink = std::move(target)};
}

enum class Filter { None, Gzip, Zstd, Xz };

void write_archive(const std::string& path, const std::vector<Entry>& entries,
                   Filter filter = Filter::None) {
  archive* a = archive_write_new();
  ASSERT_EQ(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  int filtered = filter == Filter::Gzip   ? archive_write_add_filter_gzip(a)
                 : filter == Filter::Zstd ? archive_write_add_filter_zstd(a)
                 : filter == Filter::Xz   ? archive_write_add_filter_xz(a)
                                          : ARCHIVE_OK;
  ASSERT_EQ(filtered, ARCHIVE_OK) << archive_error_string(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK) << archive_error_string(a);
  for (const Entry& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, e.mode);
    archive_entry_set_uid(entry, e.uid);
    archive_entry_set_gid(entry, e.gid);
    archive_entry_set_mtime(entry, e.mtime, 0);
    if (e.type == AE_IFCHR || e.type == AE_IFBLK) archive_entry_set_rdev(entry, e.rdev);
    if (!e.symlink.empty()) archive_entry_set_symlink(entry, e.symlink.c_str());
    if (!e.hardlink.empty()) archive_entry_set_hardlink(entry, e.hardlink.c_str());
    for (const auto& [name, value] : e.xattrs)
      archive_entry_xattr_add_entry(entry, name.c_str(), value.data(), value.size());
    archive_entry_set_size(entry, static_cast<la_int64_t>(e.contents.size()));
    ASSERT_EQ(archive_write_header(a, entry), ARCHIVE_OK) << archive_error_string(a);
    if (!e.contents.empty()) {
      ASSERT_EQ(archive_write_data(a, e.contents.data(), e.contents.size()),
                static_cast<la_ssize_t>(e.contents.size()));
    }
    archive_entry_free(entry);
  }
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

using test::read_file;
using test::write_file;

std::string sha256_of(const std::string& data) {
  unsigned char sum[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), sum, &size, EVP_sha256(), nullptr);
  std::string out = "sha256:";
  for (unsigned int i = 0; i < size; ++i) out += fmt::format("{:02x}", sum[i]);
  return out;
}

std::string xattr_of(const std::string& path, const char* name) {
  char value[256];
  ssize_t n = ::lgetxattr(path.c_str(), name, value, sizeof value);
  return n < 0 ? "<none>" : std::string(value, static_cast<size_t>(n));
}

// Type, mode, owner, link count, size and contents (or symlink target) of
// every path under root, for before/after comparisons.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    struct stat st;
    if (::lstat(e.path().c_str(), &st) < 0) continue;
    std::string data;
    if (S_ISREG(st.st_mode)) data = read_file(e.path());
    if (S_ISLNK(st.st_mode)) data = fs::read_symlink(e.path());
    out[e.path()] = fmt::format("{:o} {}:{} n{} {} {}", st.st_mode, st.st_uid, st.st_gid,
                                st.st_nlink, st.st_size, data);
  }
  return out;
}

// tmp/archive.tar and tmp/root/{layer,sentinel,outside}: dest is the layer;
// an escape lands somewhere in root and shows in its snapshot.
class ExtractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_ / "root";
    layer_ = root_ + "/layer";
    archive_ = tmp_ / "archive.tar";
    fs::create_directories(layer_);
    fs::create_directories(root_ + "/sentinel");
    fs::create_directories(root_ + "/outside");
    write_file(root_ + "/sentinel/file", "sentinel");
    write_file(root_ + "/outside/target", "outside");
  }

  Result<ExtractStats> extract(const std::vector<Entry>& entries, Filter filter = Filter::None) {
    write_archive(archive_, entries, filter);
    return extract_layer_file(archive_, layer_);
  }

  // Outside the layer nothing changes, and the error names the entry.
  void expect_refused(const std::vector<Entry>& entries, const std::string& entry_name) {
    auto passwd_before = snapshot_file("/etc/passwd");
    auto before = outside_layer();
    auto stats = extract(entries);
    ASSERT_FALSE(stats.has_value()) << "extraction of " << entry_name << " succeeded";
    EXPECT_NE(stats.error().message().find("\"" + entry_name + "\""), std::string::npos)
        << stats.error().message();
    EXPECT_EQ(outside_layer(), before);
    EXPECT_EQ(snapshot_file("/etc/passwd"), passwd_before);
  }

  std::map<std::string, std::string> outside_layer() const {
    auto all = snapshot(root_);
    std::erase_if(all, [&](const auto& kv) { return kv.first.starts_with(layer_); });
    return all;
  }
  static std::string snapshot_file(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0) return "<missing>";
    return fmt::format("{:o} n{} {}", st.st_mode, st.st_nlink, st.st_size);
  }

  bool root() const { return ::geteuid() == 0; }
  std::string path(const std::string& name) const { return layer_ + "/" + name; }
  struct stat lstat_of(const std::string& name) const {
    struct stat st = {};
    EXPECT_EQ(::lstat(path(name).c_str(), &st), 0) << name;
    return st;
  }

  test::TempDir tmp_{"berth-extract-test"};
  std::string root_, layer_, archive_;
};

// A v2 vfs_cap_data granting cap_net_raw (ping's file capability).
std::string net_raw_capability() {
  const uint32_t words[5] = {0x02000001, 1u << 13, 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(words), sizeof words);
}

TEST_F(ExtractTest, ExtractsTreeWithContentsOwnersModesTimesDevicesAndXattrs) {
  if (!root()) GTEST_SKIP() << "chown, mknod and security xattrs need root";
  Entry su = file("./usr/bin/su", "su binary", 04755);
  Entry shared = file("./usr/bin/groupbin", "gid bin", 02755);
  shared.uid = 5;
  shared.gid = 6;
  Entry hosts = file("./etc/hosts", "127.0.0.1 localhost\n");
  hosts.uid = 1000;
  hosts.gid = 1001;
  hosts.mtime = kMtime + 5;
  hosts.xattrs = {{"user.comment", "hosts file"}};
  Entry ping = file("./usr/bin/ping", "ping binary", 0755);
  ping.xattrs = {{"security.capability", net_raw_capability()}};
  Entry devnull = {.name = "./dev/null", .type = AE_IFCHR, .mode = 0666, .rdev = makedev(1, 3)};
  Entry fifo = {.name = "./run/fifo", .type = AE_IFIFO, .mode = 0600};
  Entry etc = dir("./etc/", 0755);
  etc.mtime = kMtime - 100;
  etc.xattrs = {{"user.dir", "etc dir"}};
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i / 4096 % 26);

  auto stats = extract(
      {dir("./"), etc, hosts, dir("./tmp/", 01777), dir("./usr/"), dir("./usr/bin/"), su, shared,
       ping, hardlink("./usr/bin/su2", "./usr/bin/su"), symlink("./usr/bin/sh", "/bin/busybox"),
       symlink("./usr/relative", "../../nowhere"), devnull, fifo, file("deep/a/b/file", big)});
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  EXPECT_EQ(stats->entries, 15u);
  EXPECT_EQ(stats->bytes, 20 + 9 + 7 + 11 + big.size());

  EXPECT_EQ(read_file(path("etc/hosts")), "127.0.0.1 localhost\n");
  EXPECT_EQ(read_file(path("deep/a/b/file")), big);
  struct stat st = lstat_of("etc/hosts");
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  EXPECT_EQ(st.st_mode, S_IFREG | 0644);
  EXPECT_EQ(st.st_mtime, kMtime + 5);
  EXPECT_EQ(xattr_of(path("etc/hosts"), "user.comment"), "hosts file");
  EXPECT_EQ(lstat_of("usr/bin/su").st_mode, S_IFREG | 04755);
  st = lstat_of("usr/bin/groupbin");
  EXPECT_EQ(st.st_mode, S_IFREG | 02755) << "setgid must be applied after chown";
  EXPECT_EQ(st.st_uid, 5u);
  EXPECT_EQ(st.st_gid, 6u);
  EXPECT_EQ(xattr_of(path("usr/bin/ping"), "security.capability"), net_raw_capability());

  st = lstat_of("etc");
  EXPECT_EQ(st.st_mtime, kMtime - 100) << "directory times are set after their children";
  EXPECT_EQ(xattr_of(path("etc"), "user.dir"), "etc dir");
  EXPECT_EQ(lstat_of("tmp").st_mode, S_IFDIR | 01777);
  EXPECT_EQ(lstat_of("deep/a").st_mode, S_IFDIR | 0755);

  EXPECT_EQ(lstat_of("usr/bin/su2").st_ino, lstat_of("usr/bin/su").st_ino);
  EXPECT_EQ(lstat_of("usr/bin/su").st_nlink, 2u);
  EXPECT_EQ(fs::read_symlink(path("usr/bin/sh")), "/bin/busybox");
  EXPECT_EQ(fs::read_symlink(path("usr/relative")), "../../nowhere");
  EXPECT_EQ(lstat_of("usr/bin/sh").st_mtime, kMtime);
  st = lstat_of("dev/null");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_TRUE(S_ISFIFO(lstat_of("run/fifo").st_mode));
}

TEST_F(ExtractTest, ExtractsGzipZstdAndXzLayers) {
  for (Filter filter : {Filter::None, Filter::Gzip, Filter::Zstd, Filter::Xz}) {
    SCOPED_TRACE(static_cast<int>(filter));
    fs::remove_all(layer_);
    fs::create_directory(layer_);
    auto stats = extract({dir("etc/"), file("etc/os-release", "ID=debian\n")}, filter);
    ASSERT_TRUE(stats.has_value()) << stats.error().message();
    EXPECT_EQ(read_file(path("etc/os-release")), "ID=debian\n");
    EXPECT_EQ(stats->entries, 2u);
    EXPECT_EQ(stats->bytes, 10u);
  }
}

TEST_F(ExtractTest, DigestIsSha256OfTheStoredBlob) {
  write_archive(archive_, {file("a", "alpha"), file("b", std::string(100000, 'b'))}, Filter::Gzip);
  auto stats = extract_layer_file(archive_, layer_);
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  EXPECT_EQ(stats->input_digest, sha256_of(read_file(archive_)));
}

// The uncompressed stream's digest is the layer's diff_id, whatever the
// compression; trailing bytes after the end-of-archive blocks count.
TEST_F(ExtractTest, ContentDigestIsSha256OfTheUncompressedTar) {
  write_archive(archive_, {file("a", "alpha"), file("b", std::string(100000, 'b'))});
  std::string tar = read_file(archive_);
  for (Filter filter : {Filter::None, Filter::Gzip, Filter::Zstd, Filter::Xz}) {
    fs::remove_all(layer_);
    fs::create_directory(layer_);
    write_archive(archive_, {file("a", "alpha"), file("b", std::string(100000, 'b'))}, filter);
    auto stats = extract_layer_file(archive_, layer_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message();
    EXPECT_EQ(stats->content_digest, sha256_of(tar));
    EXPECT_EQ(stats->input_digest, sha256_of(read_file(archive_)));
  }
}

TEST_F(ExtractTest, AnEmptyBlobIsAnEmptyLayer) {
  std::ofstream(archive_, std::ios::binary | std::ios::trunc).flush();
  auto stats = extract_layer_file(archive_, layer_);
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  EXPECT_EQ(stats->entries, 0u);
  EXPECT_EQ(stats->content_digest, sha256_of(""));
}

TEST_F(ExtractTest, DigestCoversBytesAfterTheEndOfArchive) {
  write_archive(archive_, {file("a", "alpha")});
  std::ofstream(archive_, std::ios::binary | std::ios::app) << std::string(3 << 20, '\0');
  auto stats = extract_layer_file(archive_, layer_);
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  EXPECT_EQ(stats->input_digest, sha256_of(read_file(archive_)));
}

TEST_F(ExtractTest, ReaderInSmallBlocksGivesTheSameTreeAndDigest) {
  write_archive(archive_, {file("a", "alpha"), file("b", std::string(100000, 'b'))});
  std::string blob = read_file(archive_);
  size_t offset = 0;
  LayerReader reader = [&]() -> Result<std::span<const std::byte>> {
    size_t n = std::min<size_t>(7, blob.size() - offset);
    auto block = std::as_bytes(std::span(blob.data() + offset, n));
    offset += n;
    return block;
  };
  auto stats = extract_layer(reader, layer_);
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  EXPECT_EQ(stats->input_digest, sha256_of(blob));
  EXPECT_EQ(offset, blob.size());
  EXPECT_EQ(read_file(path("b")), std::string(100000, 'b'));
}

TEST_F(ExtractTest, ReportsTheReadersError) {
  LayerReader reader = []() -> Result<std::span<const std::byte>> {
    return make_error("registry connection reset");
  };
  auto stats = extract_layer(reader, layer_);
  ASSERT_FALSE(stats.has_value());
  EXPECT_NE(stats.error().message().find("registry connection reset"), std::string::npos)
      << stats.error().message();
}

TEST_F(ExtractTest, ConvertsWhiteoutsToOverlayfsWhiteouts) {
  if (!root()) GTEST_SKIP() << "trusted.* xattrs need root";
  auto stats = extract({dir("etc/"), file("etc/.wh.passwd", ""), file("var/cache/.wh..wh..opq", ""),
                        file(".wh..wh.plnk/123", "aufs"), file("etc/.wh..wh.aufs", "")});
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  struct stat st = lstat_of("etc/passwd");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_EQ(xattr_of(path("var/cache"), "trusted.overlay.opaque"), "y");
  EXPECT_FALSE(fs::exists(fs::symlink_status(path("etc/.wh.passwd"))));
  EXPECT_FALSE(fs::exists(fs::symlink_status(path("var/cache/.wh..wh..opq"))));
  EXPECT_FALSE(fs::exists(fs::symlink_status(path(".wh..wh.plnk"))));
  EXPECT_FALSE(fs::exists(fs::symlink_status(path("etc/.wh..wh.aufs"))));
}

TEST_F(ExtractTest, DropsOverlayXattrsTheLayerCarries) {
  if (!root()) GTEST_SKIP() << "trusted.* xattrs need root";
  Entry forged = dir("forged/");
  forged.xattrs = {{"trusted.overlay.redirect", "/etc"}, {"trusted.overlay.opaque", "y"}};
  auto stats = extract({forged});
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  EXPECT_EQ(xattr_of(path("forged"), "trusted.overlay.redirect"), "<none>");
  EXPECT_EQ(xattr_of(path("forged"), "trusted.overlay.opaque"), "<none>");
}

TEST_F(ExtractTest, LaterEntryReplacesEarlierOne) {
  auto stats = extract({file("a", "one"), file("a", "two"), symlink("s", "a"), file("s", "file"),
                        file("h1", "shared"), hardlink("h2", "h1"), file("h2", "new"), dir("d/"),
                        file("d/kept", "kept"), dir("d/", 0700), file("f", "was a file"), dir("f/"),
                        dir("e/"), symlink("e", "d")});
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  EXPECT_EQ(read_file(path("a")), "two");
  EXPECT_EQ(lstat_of("s").st_mode & S_IFMT, S_IFREG);
  EXPECT_EQ(read_file(path("s")), "file");
  EXPECT_EQ(read_file(path("h1")), "shared") << "a replaced hard link must not write its twin";
  EXPECT_EQ(read_file(path("h2")), "new");
  EXPECT_EQ(read_file(path("d/kept")), "kept") << "a directory entry updates in place";
  EXPECT_EQ(lstat_of("d").st_mode, S_IFDIR | 0700);
  EXPECT_TRUE(S_ISDIR(lstat_of("f").st_mode));
  EXPECT_TRUE(S_ISLNK(lstat_of("e").st_mode));
}

TEST_F(ExtractTest, HardLinkToSymlinkLinksTheSymlinkItself) {
  auto before = snapshot_file(root_ + "/outside/target");
  auto stats = extract({symlink("s", root_ + "/outside/target"), hardlink("h", "s")});
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  EXPECT_TRUE(S_ISLNK(lstat_of("h").st_mode));
  EXPECT_EQ(snapshot_file(root_ + "/outside/target"), before);
}

TEST_F(ExtractTest, RefusesToReplaceNonEmptyDirectoryWithFile) {
  expect_refused({dir("d/"), file("d/x", "x"), file("d", "file")}, "d");
  EXPECT_EQ(read_file(path("d/x")), "x");
}

TEST_F(ExtractTest, ReplacesSymlinkOutOfTheLayerInsteadOfWritingThroughIt) {
  auto before = outside_layer();
  auto stats = extract({symlink("victim", root_ + "/outside/target"), file("victim", "pwned")});
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  EXPECT_EQ(read_file(root_ + "/outside/target"), "outside");
  EXPECT_EQ(outside_layer(), before);
  EXPECT_EQ(lstat_of("victim").st_mode & S_IFMT, S_IFREG);
  EXPECT_EQ(read_file(path("victim")), "pwned");
}

TEST_F(ExtractTest, RefusesDotDotPath) { expect_refused({file("../escape", "x")}, "../escape"); }

TEST_F(ExtractTest, RefusesDotDotInsideThePath) {
  expect_refused({dir("a/"), file("a/../../escape", "x")}, "a/../../escape");
}

TEST_F(ExtractTest, RefusesAbsolutePath) {
  bool existed = fs::exists("/abs");
  expect_refused({file("/abs/file", "x")}, "/abs/file");
  if (!existed) {
    EXPECT_FALSE(fs::exists("/abs"));
  }
}

TEST_F(ExtractTest, RefusesWritingThroughAbsoluteSymlink) {
  std::string through = "evil" + root_ + "/escape";
  expect_refused({symlink("evil", "/"), file(through, "x")}, through);
}

TEST_F(ExtractTest, RefusesWritingThroughSymlinkToParent) {
  expect_refused({symlink("up", ".."), file("up/x", "x")}, "up/x");
}

TEST_F(ExtractTest, RefusesWritingThroughSymlinkEvenInsideTheLayer) {
  expect_refused({dir("sub/"), symlink("inner", "sub"), file("inner/x", "x")}, "inner/x");
  EXPECT_FALSE(fs::exists(path("sub/x")));
}

TEST_F(ExtractTest, RefusesHardLinkEscapingTheLayer) {
  expect_refused({hardlink("stolen", "../../etc/passwd")}, "stolen");
  expect_refused({hardlink("stolen", "../outside/target")}, "stolen");
}

TEST_F(ExtractTest, RefusesHardLinkToAbsolutePath) {
  expect_refused({hardlink("stolen", "/etc/passwd")}, "stolen");
}

TEST_F(ExtractTest, RefusesHardLinkThroughSymlinkedDirectory) {
  expect_refused({symlink("lnk", root_ + "/outside"), hardlink("stolen", "lnk/target")}, "stolen");
  expect_refused({symlink("up", ".."), hardlink("stolen", "up/outside/target")}, "stolen");
}

TEST_F(ExtractTest, RefusesHardLinkToMissingTarget) {
  expect_refused({hardlink("dangling", "nowhere")}, "dangling");
}

TEST_F(ExtractTest, RefusesWhiteoutOfParentDirectory) {
  expect_refused({dir("a/"), file("a/.wh...", "")}, "a/.wh...");
}

}  // namespace
}  // namespace berth::image
