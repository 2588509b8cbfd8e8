// The layered Python image of tools/mkimage (berth-base:bookworm, and
// berth-python:bookworm on top of it): numpy and pandas run, the base layer
// is stored once for both images, and whiteouts in the upper layer hide the
// lower layer's files.
#include <ftw.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <map>

#include "harness.h"

namespace berth::test::ltest {
namespace {

TEST_F(PythonImageTest, NumpyAndPandasComputeInTheContainer) {
  ProcessResult result =
      RunRm({"berth-python:bookworm", "python3", "-c",
             "import numpy, pandas; "
             "print(numpy.arange(10).sum(), pandas.Series([1.5, 2.5, 3]).sum())"},
            {.timeout = 120s});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "45 7.0\n") << result;
}

TEST_F(PythonImageTest, ScriptInAVolumeWritesItsResultToTheHost) {
  std::string notebooks = dir_ + "/notebooks";
  make_dirs(notebooks);
  write_file(notebooks + "/job.py",
             "import pandas\n"
             "frame = pandas.DataFrame({'x': [1, 2, 3], 'y': [10, 20, 30]})\n"
             "frame['z'] = frame.x * frame.y\n"
             "frame.to_csv('out.csv', index=False)\n"
             "print(frame.z.sum())\n");
  ProcessResult result = RunRm({"-v", notebooks + ":/workdir/jupyter", "-w", "/workdir/jupyter",
                                "berth-python:bookworm", "python3", "job.py"},
                               {.timeout = 120s});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "140\n") << result;
  EXPECT_EQ(read_file(notebooks + "/out.csv"), "x,y,z\n1,10,10\n2,20,40\n3,30,90\n");
}

TEST_F(PythonImageTest, BaseLayerIsSharedWithTheBaseImageAndStoredOnce) {
  ProcessResult images = Berth({"images"});
  ASSERT_TRUE(images.succeeded()) << images;
  EXPECT_NE(images.out.find("berth-base"), std::string::npos) << images;
  EXPECT_NE(images.out.find("berth-python"), std::string::npos) << images;
  json base = Inspect("berth-base:bookworm");
  json python = Inspect("berth-python:bookworm");
  const json& base_layers = base["RootFS"]["Layers"];
  const json& python_layers = python["RootFS"]["Layers"];
  ASSERT_EQ(base_layers.size(), 1u) << base.dump(2);
  ASSERT_EQ(python_layers.size(), 2u) << python.dump(2);
  EXPECT_EQ(python_layers[0], base_layers[0]) << "the python image is built on the base";
  EXPECT_EQ(LayerDirs().size(), 2u)
      << "two images, two distinct layers: " << testing::PrintToString(LayerDirs());
}

// Paths (relative to the layer) of overlay whiteouts: 0:0 character devices.
std::vector<std::string> whiteouts_in(const std::string& layer_dir) {
  static std::vector<std::string>* found;
  static size_t prefix;
  std::vector<std::string> result;
  found = &result;
  prefix = layer_dir.size();
  ::nftw(
      layer_dir.c_str(),
      [](const char* path, const struct stat* st, int, struct FTW*) {
        if (S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0)
          found->push_back(std::string(path).substr(prefix));
        return 0;
      },
      64, FTW_PHYS);
  return result;
}

bool is_regular_file(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

TEST_F(PythonImageTest, WhiteoutInTheUpperLayerHidesTheLowerLayersFile) {
  json python = Inspect("berth-python:bookworm");
  const json& dirs = python["GraphDriver"]["Data"]["LowerDirs"];  // bottom first
  ASSERT_EQ(dirs.size(), 2u) << python.dump(2);
  // Found generically: a whiteout in an upper layer over a regular file of a
  // lower one.
  std::vector<std::string> hidden;
  for (size_t upper = 1; upper < dirs.size(); ++upper)
    for (const std::string& path : whiteouts_in(dirs[upper]))
      for (size_t lower = 0; lower < upper; ++lower)
        if (is_regular_file(dirs[lower].get<std::string>() + path)) {
          hidden.push_back(path);
          break;
        }
  ASSERT_FALSE(hidden.empty()) << "no whiteout over a lower layer's file in " << dirs.dump();
  // tools/mkimage deletes /etc/motd in the python layer on purpose (and
  // records it in a label): the scan must have found it.
  json deleted_label = python["Config"]["Labels"]["org.berth.mkimage.deleted"];
  if (deleted_label.is_string()) {
    EXPECT_NE(deleted_label.get<std::string>().find("/etc/motd"), std::string::npos)
        << deleted_label;
  }
  EXPECT_NE(std::find(hidden.begin(), hidden.end(), "/etc/motd"), hidden.end())
      << testing::PrintToString(hidden);

  // Inside a container none of them exists, while the base layer's other
  // files (here /etc/debian_version) do.
  std::vector<std::string> args = {"berth-python:bookworm", "sh", "-c",
                                   "for p in \"$@\"; do if [ -e \"$p\" ] || [ -L \"$p\" ]; then "
                                   "echo \"visible: $p\"; fi; done; "
                                   "test -f /etc/debian_version && echo lower-visible",
                                   "sh"};
  args.insert(args.end(), hidden.begin(), hidden.end());
  ProcessResult result = RunRm(args, {.timeout = 60s});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "lower-visible\n") << "hidden: " << testing::PrintToString(hidden) << "\n"
                                           << result;
  // The whiteout devices themselves are not visible either (overlayfs hides
  // them): ls of the parent dir does not list motd.
  ProcessResult ls = RunRm({"berth-python:bookworm", "ls", "-a", "/etc"}, {.timeout = 60s});
  ASSERT_TRUE(ls.succeeded()) << ls;
  for (const std::string& line : split_lines(ls.out)) {
    EXPECT_NE(line, "motd") << ls;
  }
}

TEST_F(PythonImageTest, ImageCmdRunsPythonAndItsWorkingDirectoryIsUsed) {
  json python = Inspect("berth-python:bookworm");
  EXPECT_EQ(python["Config"]["Cmd"], json::array({"python3"})) << python.dump(2);
  int stdin_fd = ::memfd_create("stdin", MFD_CLOEXEC);
  ASSERT_GE(stdin_fd, 0);
  UniqueFd stdin_owner(stdin_fd);
  std::string script = "import os, sys; print(sys.version_info[0], os.getcwd())\n";
  ASSERT_EQ(::write(stdin_fd, script.data(), script.size()), static_cast<ssize_t>(script.size()));
  ::lseek(stdin_fd, 0, SEEK_SET);
  ProcessResult result =
      Berth({"run", "-i", "--rm", "berth-python:bookworm"}, {.timeout = 60s, .stdin_fd = stdin_fd});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "3 /\n") << result;
}

}  // namespace
}  // namespace berth::test::ltest
