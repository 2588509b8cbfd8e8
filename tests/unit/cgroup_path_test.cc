// linux.cgroupsPath -> the cgroup's directory, as runc's fs2 driver maps it.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "linux/cgroup.h"

namespace berth::linux {
namespace {

// The parent of this process's cgroup v2 path ("0::/a/b" -> "/a"; "" at the root).
std::string own_parent() {
  std::ifstream file("/proc/self/cgroup");
  std::string line, own = "/";
  while (std::getline(file, line))
    if (line.rfind("0::", 0) == 0) own = line.substr(3);
  return own.substr(0, own.rfind('/'));
}

TEST(CgroupDirectory, AbsolutePathIsBelowTheHierarchyRootAndCannotClimbOutOfIt) {
  EXPECT_EQ(cgroup_directory("/sys/fs/cgroup", "/berth/c1", "c1").value(),
            "/sys/fs/cgroup/berth/c1");
  EXPECT_EQ(cgroup_directory("/sys/fs/cgroup", "/../../etc//x/./y", "c1").value(),
            "/sys/fs/cgroup/etc/x/y");
}

TEST(CgroupDirectory, RelativePathIsBelowTheParentOfOurOwnCgroup) {
  EXPECT_EQ(cgroup_directory("/sys/fs/cgroup", "pods/c1", "c1").value(),
            "/sys/fs/cgroup" + own_parent() + "/pods/c1");
}

TEST(CgroupDirectory, EmptyPathIsTheIdRelative) {
  EXPECT_EQ(cgroup_directory("/sys/fs/cgroup", "", "c1").value(),
            "/sys/fs/cgroup" + own_parent() + "/c1");
}

TEST(CgroupDirectory, SystemdSliceFormIsRefusedNamingTheDriver) {
  auto result = cgroup_directory("/sys/fs/cgroup", "system.slice:berth:c1", "c1");
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message().find("systemd cgroup driver"), std::string::npos)
      << result.error().message();
}

}  // namespace
}  // namespace berth::linux
