// berth import of every format (docker save, OCI layout as a directory and
// as a tar, rootfs tarballs plain and gzip), images / inspect / rmi, layers
// shared between images stored once, and hostile layers refused without
// writing anything outside the store.
#include <sys/stat.h>

#include <sstream>

#include "harness.h"

namespace berth::test::ltest {
namespace {

using ImportTest = LauncherTest;

// The `images` line of a repository:tag ("" if not listed).
std::string images_line(const std::string& images_output, const std::string& repository,
                        const std::string& tag) {
  for (const std::string& line : split_lines(images_output)) {
    std::istringstream fields(line);
    std::string repo, t;
    fields >> repo >> t;
    if (repo == repository && t == tag) return line;
  }
  return "";
}

class ImportFormatTest : public ImportTest {
 protected:
  // Imported image `reference` is listed, inspectable, and runs with the
  // config of make_images.py (Entrypoint echo, Cmd cmd-default).
  void ExpectUsableImage(const std::string& repository, const std::string& tag,
                         const std::string& label) {
    ProcessResult images = Berth({"images"});
    ASSERT_TRUE(images.succeeded()) << images;
    EXPECT_NE(images_line(images.out, repository, tag), "") << images;
    std::string reference = repository + ":" + tag;
    json inspected = Inspect(reference);
    EXPECT_EQ(inspected["RepoTags"], json::array({reference})) << inspected.dump(2);
    EXPECT_EQ(inspected["Config"]["Labels"]["org.berth.test.format"], label) << inspected.dump(2);
    EXPECT_EQ(inspected["RootFS"]["Layers"].size(), 1u) << inspected.dump(2);
    ProcessResult run = RunRm({reference});
    EXPECT_TRUE(run.succeeded()) << run;
    EXPECT_EQ(run.out, "entrypoint-says cmd-default\n") << run;
  }
};

TEST_F(ImportFormatTest, ImportsADockerSaveArchive) {
  ProcessResult imported = Berth({"import", busybox_images().docker_save});
  ASSERT_TRUE(imported.succeeded()) << imported;
  EXPECT_NE(imported.out.find("Loaded image: busybox:docker"), std::string::npos) << imported;
  ExpectUsableImage("busybox", "docker", "docker-save");
}

TEST_F(ImportFormatTest, ImportsAnOciLayoutDirectory) {
  ProcessResult imported = Berth({"import", busybox_images().oci_dir});
  ASSERT_TRUE(imported.succeeded()) << imported;
  EXPECT_NE(imported.out.find("Loaded image: busybox:oci"), std::string::npos) << imported;
  ExpectUsableImage("busybox", "oci", "oci");
}

TEST_F(ImportFormatTest, ImportsAnOciLayoutTarUnderTheGivenName) {
  ProcessResult imported = Berth({"import", busybox_images().oci_tar, "busybox:oci-tar"});
  ASSERT_TRUE(imported.succeeded()) << imported;
  EXPECT_NE(imported.out.find("Loaded image: busybox:oci-tar"), std::string::npos) << imported;
  ExpectUsableImage("busybox", "oci-tar", "oci");
}

TEST_F(ImportTest, ImportsAGzipRootfsTarball) {
  ProcessResult imported =
      Berth({"import", "--rootfs", busybox_images().rootfs_tar_gz, "busybox:gz"});
  ASSERT_TRUE(imported.succeeded()) << imported;
  ProcessResult images = Berth({"images"});
  EXPECT_NE(images_line(images.out, "busybox", "gz"), "") << images;
  ProcessResult run = RunRm({"busybox:gz", "cat", "/etc/group"});
  ASSERT_TRUE(run.succeeded()) << run;
  EXPECT_EQ(run.out, "root:x:0:\napp:x:1000:\nnobody:x:65534:\n") << run;
}

TEST_F(ImportTest, HalfExtractedLayerOfAKilledImportIsRemovedByTheNextImport) {
  // What an import killed during extraction leaves: its temp dir.
  std::string stale = root_ + "/layers/.extract-killed";
  ASSERT_EQ(::mkdir(stale.c_str(), 0755), 0);
  write_file(stale + "/half-written", "x");
  ProcessResult imported =
      Berth({"import", "--rootfs", busybox_images().rootfs_tar_gz, "busybox:after-crash"});
  ASSERT_TRUE(imported.succeeded()) << imported;
  EXPECT_FALSE(path_exists(stale)) << "the stale extraction dir is still there";
}

TEST_F(ImportTest, RootfsImportNeedsAName) {
  ProcessResult imported = Berth({"import", "--rootfs", busybox_images().rootfs_tar});
  EXPECT_EQ(imported.exit_code, 125) << imported;
  EXPECT_NE(imported.err.find("NAME"), std::string::npos) << imported;
}

TEST_F(ImportTest, ImportOfAMissingFileFails) {
  ProcessResult imported = Berth({"import", dir_ + "/no-such-archive.tar"});
  EXPECT_EQ(imported.exit_code, 125) << imported;
  EXPECT_NE(imported.err.find("no-such-archive.tar"), std::string::npos) << imported;
}

TEST_F(ImportTest, ImagesListsEveryImportedImage) {
  const BusyboxImages& images = busybox_images();
  Import({images.docker_save});
  Import({images.oci_dir});
  Import({images.oci_tar, "busybox:oci-tar"});
  Import({"--rootfs", images.rootfs_tar_gz, "busybox:gz"});
  ProcessResult listed = Berth({"images"});
  ASSERT_TRUE(listed.succeeded()) << listed;
  for (const char* tag : {"test", "docker", "oci", "oci-tar", "gz"})
    EXPECT_NE(images_line(listed.out, "busybox", tag), "") << tag << ": " << listed;
  EXPECT_EQ(split_lines(listed.out).size(), 6u) << "a header and five images; " << listed;
  // The OCI layout and its tar hold the same image (one config, one id)
  // under two names.
  ProcessResult quiet = Berth({"images", "-q"});
  EXPECT_EQ(split_lines(quiet.out).size(), 4u) << quiet;
  EXPECT_EQ(Inspect("busybox:oci").value("Id", "x"), Inspect("busybox:oci-tar").value("Id", "y"));
}

TEST_F(ImportTest, LayerSharedByImagesIsStoredOnce) {
  const BusyboxImages& images = busybox_images();
  ASSERT_EQ(LayerDirs().size(), 1u);
  std::string layer = LayerDirs()[0];
  Import({images.docker_save});
  Import({images.oci_dir});
  Import({images.oci_tar, "busybox:oci-tar"});
  Import({"--rootfs", images.rootfs_tar_gz, "busybox:gz"});
  EXPECT_EQ(LayerDirs(), std::vector<std::string>{layer})
      << "five images of one layer, in four formats";
  for (const char* reference : {"busybox:test", "busybox:docker", "busybox:oci", "busybox:gz"}) {
    json inspected = Inspect(reference);
    EXPECT_EQ(inspected["RootFS"]["Layers"], json::array({"sha256:" + layer}))
        << reference << ": " << inspected.dump(2);
  }
  // A second import of the same archive adds nothing either.
  ProcessResult again = Berth({"import", images.docker_save});
  ASSERT_TRUE(again.succeeded()) << again;
  EXPECT_NE(again.err.find("0 new layers"), std::string::npos) << again;
  EXPECT_EQ(LayerDirs().size(), 1u);
}

TEST_F(ImportTest, InspectOfAnImageShowsItsConfigAndLayers) {
  Import({busybox_images().docker_save});
  json inspected = Inspect("busybox:docker");
  ASSERT_TRUE(inspected.is_object());
  EXPECT_EQ(inspected.value("Id", "").rfind("sha256:", 0), 0u) << inspected.dump(2);
  EXPECT_EQ(inspected["Os"], "linux") << inspected.dump(2);
  EXPECT_EQ(inspected["Architecture"], "amd64") << inspected.dump(2);
  EXPECT_EQ(inspected["Config"]["Entrypoint"], json::array({"echo", "entrypoint-says"}))
      << inspected.dump(2);
  EXPECT_EQ(inspected["Config"]["Cmd"], json::array({"cmd-default"})) << inspected.dump(2);
  json lower = inspected["GraphDriver"]["Data"]["LowerDirs"];
  ASSERT_EQ(lower.size(), 1u) << inspected.dump(2);
  EXPECT_EQ(lower[0], root_ + "/layers/" + LayerDirs()[0]) << inspected.dump(2);
  // By id prefix too, as images -q shows it.
  std::string short_id = inspected.value("Id", "").substr(7, 12);
  EXPECT_EQ(Inspect(short_id).value("Id", ""), inspected.value("Id", ""));
}

TEST_F(ImportTest, RmiIsRefusedWhileAContainerUsesTheImageAndAllowedAfterRm) {
  ProcessResult run = Berth({"run", "--name", "user", "busybox:test", "true"});
  ASSERT_TRUE(run.succeeded()) << run;
  ProcessResult refused = Berth({"rmi", "busybox:test"});
  EXPECT_NE(refused.exit_code, 0) << "the stopped container still uses it; " << refused;
  EXPECT_NE(images_line(Berth({"images"}).out, "busybox", "test"), "");
  EXPECT_EQ(LayerDirs().size(), 1u);
  ProcessResult still_runs = RunRm({"busybox:test", "true"});
  EXPECT_TRUE(still_runs.succeeded()) << still_runs;

  ASSERT_TRUE(Berth({"rm", "user"}).succeeded());
  ProcessResult removed = Berth({"rmi", "busybox:test"});
  ASSERT_TRUE(removed.succeeded()) << removed;
  EXPECT_EQ(images_line(Berth({"images"}).out, "busybox", "test"), "");
  EXPECT_TRUE(LayerDirs().empty())
      << "the unused layer goes with its last image; " << testing::PrintToString(LayerDirs());
  ProcessResult gone = RunRm({"busybox:test", "true"});
  EXPECT_EQ(gone.exit_code, 125) << gone;
}

TEST_F(ImportTest, RmiOfOneTagKeepsTheLayerOtherImagesUse) {
  Import({busybox_images().docker_save});
  ProcessResult removed = Berth({"rmi", "busybox:test"});
  ASSERT_TRUE(removed.succeeded()) << removed;
  EXPECT_EQ(LayerDirs().size(), 1u) << "busybox:docker still needs the layer";
  ProcessResult run = RunRm({"busybox:docker"});
  EXPECT_EQ(run.out, "entrypoint-says cmd-default\n") << run;
}

// --- hostile layers ---------------------------------------------------------------

class HostileLayerTest : public ImportTest {
 protected:
  void SetUp() override {
    ImportTest::SetUp();
    if (HasFatalFailure()) return;
    // Beside the store: what an escaping entry would reach.
    sentinel_ = dir_ + "/sentinel";
    make_dirs(sentinel_);
    write_file(sentinel_ + "/keep", "untouched\n");
    host_target_ = "/tmp/berth-hostile-" + random_hex(12);
  }

  // Imports hostile:KIND aimed at target and checks that it failed naming
  // the entry, and that nothing changed outside the store, nor inside it.
  void ExpectRefused(const std::string& kind, const std::string& target, const std::string& entry) {
    std::string layout = dir_ + "/hostile-" + kind;
    make_hostile_layout(kind, target, layout);
    struct stat passwd_before = {};
    ::stat("/etc/passwd", &passwd_before);
    std::string passwd_content = read_file("/etc/passwd");
    std::set<std::string> sentinel_before = snapshot_tree(sentinel_);
    std::set<std::string> store_before = snapshot_tree(root_);
    std::vector<std::string> layers_before = LayerDirs();

    ProcessResult imported = Berth({"import", layout});
    EXPECT_EQ(imported.exit_code, 125) << imported;
    EXPECT_NE(imported.err.find(entry), std::string::npos)
        << "the error should name the entry " << entry << "; " << imported;

    EXPECT_EQ(snapshot_tree(sentinel_), sentinel_before) << "the sentinel dir changed";
    EXPECT_EQ(read_file(sentinel_ + "/keep"), "untouched\n");
    EXPECT_FALSE(path_exists(host_target_)) << host_target_ << " appeared";
    EXPECT_FALSE(path_exists(sentinel_ + "/written-through-symlink"));
    struct stat passwd_after = {};
    ::stat("/etc/passwd", &passwd_after);
    EXPECT_EQ(passwd_after.st_nlink, passwd_before.st_nlink)
        << "a hard link to the host's /etc/passwd was made";
    EXPECT_EQ(read_file("/etc/passwd"), passwd_content);
    EXPECT_EQ(LayerDirs(), layers_before);
    std::vector<std::string> half_done;
    for (const std::string& name : list_dir(root_ + "/layers"))
      if (name[0] == '.') half_done.push_back(name);
    EXPECT_TRUE(half_done.empty())
        << "half-extracted layers left: " << testing::PrintToString(half_done);
    EXPECT_EQ(snapshot_tree(root_), store_before) << "the failed import changed the store";
    EXPECT_EQ(images_line(Berth({"images"}).out, "hostile", kind), "");
  }

  std::string sentinel_;
  std::string host_target_;
};

TEST_F(HostileLayerTest, DotDotPathIsRefused) {
  ExpectRefused("dotdot", sentinel_ + "/escaped", "../");
}

TEST_F(HostileLayerTest, DotDotPathToHostTmpIsRefused) {
  ExpectRefused("dotdot", host_target_, host_target_.substr(1));
}

TEST_F(HostileLayerTest, AbsolutePathIsRefused) {
  ExpectRefused("absolute", host_target_, host_target_.substr(1));
}

TEST_F(HostileLayerTest, WriteThroughAnAbsoluteSymlinkIsRefused) {
  ExpectRefused("symlink", sentinel_, "escape/written-through-symlink");
}

TEST_F(HostileLayerTest, WriteThroughARelativeSymlinkIsRefused) {
  ExpectRefused("symlink-relative", sentinel_, "escape/written-through-symlink");
}

TEST_F(HostileLayerTest, HardLinkToTheHostsPasswdIsRefused) {
  ExpectRefused("hardlink", "/etc/passwd", "hostile-hardlink");
}

TEST_F(HostileLayerTest, HardLinkThroughDotDotIsRefused) {
  ExpectRefused("hardlink-dotdot", "/etc/passwd", "hostile-hardlink");
}

TEST_F(HostileLayerTest, HardLinkCarryingDataToASentinelIsRefused) {
  ExpectRefused("hardlink-with-data", sentinel_ + "/keep", "hostile-hardlink");
}

}  // namespace
}  // namespace berth::test::ltest
