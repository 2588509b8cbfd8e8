// Where a container's writes go: -v volumes to the host, everything else
// to the container's own upper dir in the store (and nowhere with --rm);
// :ro volumes and --read-only refuse writes, --tmpfs stays writable.
#include <sys/stat.h>

#include <filesystem>

#include "harness.h"

namespace berth::test::ltest {
namespace {

namespace fs = std::filesystem;

using VolumeTest = LauncherTest;

// Every path under root whose name is name, except under the excluded dir.
std::vector<std::string> find_named(const std::string& root, const std::string& name,
                                    const std::string& excluded = "") {
  std::vector<std::string> found;
  std::error_code error;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, error), end;
  for (; !error && it != end; it.increment(error)) {
    std::string path = it->path();
    if (!excluded.empty() && (path == excluded || path.rfind(excluded + "/", 0) == 0)) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->path().filename() == name) found.push_back(path);
  }
  return found;
}

TEST_F(VolumeTest, FileWrittenToAVolumeAppearsOnTheHost) {
  std::string host = dir_ + "/notebooks";
  make_dirs(host);
  write_file(host + "/from-host", "host content\n");
  ProcessResult result = RunRm({"-v", host + ":/workdir", "busybox:test", "sh", "-c",
                                "cat /workdir/from-host; echo container content > "
                                "/workdir/from-container"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "host content\n") << "the container sees the host's file; " << result;
  EXPECT_EQ(read_file(host + "/from-container"), "container content\n") << result;
}

TEST_F(VolumeTest, MissingHostDirectoryOfAVolumeIsCreated) {
  std::string host = dir_ + "/does/not/exist/yet";
  ProcessResult result =
      RunRm({"-v", host + ":/data", "busybox:test", "sh", "-c", "echo made > /data/file"});
  ASSERT_TRUE(result.succeeded()) << result;
  struct stat st;
  ASSERT_EQ(::stat(host.c_str(), &st), 0) << "host dir not created; " << result;
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(read_file(host + "/file"), "made\n");
}

TEST_F(VolumeTest, ReadOnlyVolumeRefusesWrites) {
  std::string host = dir_ + "/readonly";
  make_dirs(host);
  write_file(host + "/existing", "original\n");
  ProcessResult result = RunRm({"-v", host + ":/data:ro", "busybox:test", "sh", "-c",
                                "cat /data/existing; echo x > /data/new; echo y > /data/existing"});
  EXPECT_NE(result.exit_code, 0) << result;
  EXPECT_NE(result.out.find("original"), std::string::npos) << "still readable; " << result;
  EXPECT_NE(result.err.find("Read-only file system"), std::string::npos) << result;
  EXPECT_FALSE(path_exists(host + "/new")) << result;
  EXPECT_EQ(read_file(host + "/existing"), "original\n") << result;
}

TEST_F(VolumeTest, WritesOutsideVolumesStayInTheContainersUpperDir) {
  std::string volume = dir_ + "/volume";
  std::string name = "berth-written-" + random_hex(12);
  std::string id = RunDetached({"-v", volume + ":/vol", "busybox:test", "sh", "-c",
                                "echo secret > /" + name + "; echo secret > /tmp/" + name +
                                    "; mkdir -p /etc/" + name + "; echo written; sleep 30"});
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(WaitForLog(id, "written")) << Berth({"logs", id});

  // Inside the container's store dir (its overlay's upper dir) only.
  std::string upper = ContainerDir(id) + "/upper";
  EXPECT_EQ(read_file(upper + "/" + name), "secret\n");
  EXPECT_EQ(read_file(upper + "/tmp/" + name), "secret\n");
  // Not at the same paths on the host, not in the image's layers, not in
  // the volume, not anywhere else under the test's dir or the store.
  EXPECT_FALSE(path_exists("/" + name));
  EXPECT_FALSE(path_exists("/tmp/" + name));
  EXPECT_FALSE(path_exists("/etc/" + name));
  // (The container's dir also holds the overlay's mount point, rootfs/,
  // which shows the upper dir's files: it is the container's store dir.)
  std::vector<std::string> elsewhere = find_named(dir_, name, ContainerDir(id));
  EXPECT_TRUE(elsewhere.empty()) << testing::PrintToString(elsewhere);
  EXPECT_TRUE(list_dir(volume).empty()) << testing::PrintToString(list_dir(volume));
}

TEST_F(VolumeTest, WritesOutsideVolumesAreGoneAfterRm) {
  std::string name = "berth-written-" + random_hex(12);
  ProcessResult result =
      RunRm({"busybox:test", "sh", "-c",
             "echo secret > /" + name + "; echo secret > /tmp/" + name + "; cat /" + name});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "secret\n") << result;
  EXPECT_TRUE(list_dir(root_ + "/containers").empty());
  EXPECT_TRUE(find_named(dir_, name).empty()) << testing::PrintToString(find_named(dir_, name));
  EXPECT_FALSE(path_exists("/" + name));
  EXPECT_FALSE(path_exists("/tmp/" + name));
}

TEST_F(VolumeTest, ContainerWritesNeverChangeTheImageLayers) {
  std::vector<std::string> layers = LayerDirs();
  ASSERT_EQ(layers.size(), 1u);
  std::set<std::string> before = snapshot_tree(root_ + "/layers");
  ProcessResult result = RunRm({"busybox:test", "sh", "-c",
                                "echo changed > /etc/passwd; rm /bin/ls; echo new > /etc/new; "
                                "chmod 700 /etc"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(snapshot_tree(root_ + "/layers"), before);
  ProcessResult fresh = RunRm({"busybox:test", "sh", "-c", "head -1 /etc/passwd; ls /bin/ls"});
  EXPECT_EQ(fresh.out, "root:x:0:0:root:/root:/bin/sh\n/bin/ls\n")
      << "a new container sees the image unchanged; " << fresh;
}

TEST_F(VolumeTest, ReadOnlyRootRefusesWritesButTmpfsAndVolumeStayWritable) {
  std::string volume = dir_ + "/rw-volume";
  ProcessResult result = RunRm(
      {"--read-only", "--tmpfs", "/scratch", "-v", volume + ":/vol", "busybox:test", "sh", "-c",
       "if echo x > /root-file; then echo root-writable; else echo root-refused; fi; "
       "echo t > /scratch/f && cat /scratch/f; echo v > /vol/f && cat /vol/f; "
       "grep ' /scratch ' /proc/mounts | cut -d' ' -f3"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "root-refused\nt\nv\ntmpfs\n") << result;
  EXPECT_NE(result.err.find("Read-only file system"), std::string::npos) << result;
  EXPECT_EQ(read_file(volume + "/f"), "v\n");
}

TEST_F(VolumeTest, TmpfsOptionsAreApplied) {
  ProcessResult result = RunRm({"--tmpfs", "/small:size=1m", "busybox:test", "sh", "-c",
                                "df -k /small | tail -1 | awk '{print $2}'"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "1024\n") << result;
}

TEST_F(VolumeTest, InspectShowsTheVolumes) {
  std::string volume = dir_ + "/inspected";
  std::string id = RunDetached({"-v", volume + ":/data:ro", "busybox:test", "sleep", "30"});
  ASSERT_FALSE(id.empty());
  json mounts = Inspect(id)["Mounts"];
  ASSERT_TRUE(mounts.is_array() && mounts.size() == 1) << mounts.dump(2);
  EXPECT_EQ(mounts[0].value("Source", ""), volume) << mounts.dump(2);
  EXPECT_EQ(mounts[0].value("Destination", ""), "/data") << mounts.dump(2);
  EXPECT_EQ(mounts[0].value("RW", true), false) << mounts.dump(2);
}

}  // namespace
}  // namespace berth::test::ltest
