// linux.resources on this (hybrid) host: its cgroup v2 hierarchy has only
// the controllers no v1 hierarchy took (hugetlb here), so a limit that needs
// memory, pids or cpu must fail create saying why, and leave nothing behind,
// while one the v2 hierarchy can hold is applied and can be updated. The
// limits that need real controllers are proven in the VM suite (tests/vm).
// runc puts containers into the v1 hierarchies on such a host, so most of
// this is berth's behaviour alone.
#include <fcntl.h>
#include <unistd.h>

#include "harness.h"

namespace berth::test::itest {
namespace {

bool v2_has_controller(const std::string& controller) {
  return !cgroup2_mount().empty() && has_controller(cgroup2_mount(), controller);
}

class ResourcesTest : public ContainerTest {
 protected:
  void SetUp() override {
    ContainerTest::SetUp();
    if (runtime_is_runc())
      GTEST_SKIP() << "runc uses the cgroup v1 hierarchies on a hybrid host; berth only v2";
    if (cgroup2_mount().empty()) GTEST_SKIP() << "this host has no cgroup v2 hierarchy";
  }

  std::string CgroupDir(const std::string& id) { return cgroup2_mount() + CgroupPathFor(id); }

  // A hugetlb limit is the one limit this host's v2 hierarchy can hold.
  void RequireHugetlb() {
    if (!v2_has_controller("hugetlb") || !path_exists("/sys/kernel/mm/hugepages/hugepages-2048kB"))
      GTEST_SKIP() << "the cgroup v2 hierarchy has no hugetlb controller with 2MB pages";
  }
};

TEST_F(ResourcesTest, MemoryLimitWithoutAV2MemoryControllerFailsSayingWhy) {
  if (v2_has_controller("memory"))
    GTEST_SKIP() << "the v2 hierarchy has a memory controller (a pure v2 host; see tests/vm)";
  spec["linux"]["resources"]["memory"] = {{"limit", 33554432}};
  SetArgs({"true"});
  std::string id = NewId();
  ProcessResult created = Create(id);
  // (The log line escapes the quotes around the controller's name.)
  ExpectCleanFailure(created, "linux.resources.memory.limit: needs the cgroup v2");
  EXPECT_NE(created.err.find("memory\\\" controller"), std::string::npos) << created.err;
  EXPECT_NE(created.err.find("bound to a cgroup v1 hierarchy"), std::string::npos) << created.err;
  // TearDown checks that no state, cgroup or mount was left.
}

TEST_F(ResourcesTest, PidsLimitWithoutAV2PidsControllerFailsSayingWhy) {
  if (v2_has_controller("pids")) GTEST_SKIP() << "the v2 hierarchy has a pids controller";
  spec["linux"]["resources"]["pids"] = {{"limit", 20}};
  std::string id = NewId();
  ExpectCleanFailure(Create(id), "linux.resources.pids.limit: needs the cgroup v2");
}

TEST_F(ResourcesTest, ContainerWithoutLimitsRunsOnTheSameHost) {
  SetArgs({"echo", "ran"});
  ProcessResult ran = RunContainer(NewId());
  ASSERT_TRUE(ran.succeeded()) << ran;
  EXPECT_EQ(ran.out, "ran\n");
}

TEST_F(ResourcesTest, HugetlbLimitIsInTheCgroupBeforeTheContainerStarts) {
  RequireHugetlb();
  spec["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2MB"}, {"limit", 4194304}}};
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  EXPECT_EQ(read_file(CgroupDir(id) + "/hugetlb.2MB.max"), "4194304\n");
  ASSERT_TRUE(Delete(id, true).succeeded());
}

TEST_F(ResourcesTest, UpdateChangesTheLimitOfARunningContainer) {
  RequireHugetlb();
  spec["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2MB"}, {"limit", 4194304}}};
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  std::string file = dir_ + "/resources.json";
  write_file(file, R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 8388608}]})");
  ProcessResult updated = Run({"update", "--resources", file, id});
  ASSERT_TRUE(updated.succeeded()) << updated;
  EXPECT_EQ(read_file(CgroupDir(id) + "/hugetlb.2MB.max"), "8388608\n");
  // And from standard input, as containerd's shim passes them.
  write_file(file, R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]})");
  UniqueFd input(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  updated = Run({"update", "-r", "-", id}, {.stdin_fd = input.get()});
  ASSERT_TRUE(updated.succeeded()) << updated;
  EXPECT_EQ(read_file(CgroupDir(id) + "/hugetlb.2MB.max"), "2097152\n");
  ASSERT_TRUE(Delete(id, true).succeeded());
}

TEST_F(ResourcesTest, UpdateNeedingAMissingControllerFailsAndChangesNothing) {
  if (v2_has_controller("memory")) GTEST_SKIP() << "the v2 hierarchy has a memory controller";
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  ExpectCleanFailure(Run({"update", "--memory", "64m", id}),
                     "linux.resources.memory.limit: needs the cgroup v2");
  EXPECT_EQ(Status(id), "running");
  ASSERT_TRUE(Delete(id, true).succeeded());
}

TEST_F(ResourcesTest, UpdateOfAStoppedContainerFails) {
  SetArgs({"true"});
  std::string id = NewId();
  CreateAndStart(id);
  WaitStopped(id);
  ExpectCleanFailure(Run({"update", "--pids-limit", "10", id}), "stopped");
  ASSERT_TRUE(Delete(id).succeeded());
}

TEST_F(ResourcesTest, LimitCgroupV2CannotExpressIsRefusedBeforeAnythingIsMade) {
  spec["linux"]["resources"]["cpu"] = {{"realtimeRuntime", 950000}};
  ExpectCleanFailure(Create(NewId()), "linux.resources.cpu.realtimeRuntime");
}

TEST_F(ResourcesTest, UnifiedKeyOfAMissingControllerNamesIt) {
  spec["linux"]["resources"]["unified"] = {{"nosuch.max", "1"}};
  ProcessResult created = Create(NewId());
  ExpectCleanFailure(created, "linux.resources.unified[");
  EXPECT_NE(created.err.find("nosuch.max"), std::string::npos) << created.err;
}

TEST_F(ResourcesTest, MalformedResourcesNameTheField) {
  spec["linux"]["resources"]["memory"] = {{"limit", "lots"}};
  ExpectCleanFailure(Create(NewId()), "linux.resources.memory.limit: expected an integer");
}

}  // namespace
}  // namespace berth::test::itest
