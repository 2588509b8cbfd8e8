// linux.resources reach the kernel: after create, each limit is in the
// container's cgroup file, converted as runc 1.1 converts it for cgroup v2.
// Creating is enough: the runtime applies the limits before init execs.
#include "cgroup_fixture.h"

namespace berth::test::vmtest {
namespace {

class LimitsTest : public CgroupTest {
 protected:
  // Creates a container (its init would sleep) and fails if that fails.
  void CreateLimited(const std::string& id) {
    SetArgs({"sleep", "1000"});
    ProcessResult created = Create(id);
    ASSERT_TRUE(created.succeeded()) << created;
  }
};

TEST_F(LimitsTest, MemoryLimitIsWrittenToMemoryMax) {
  SetResource("memory", {{"limit", 33554432}});
  std::string id = NewId();
  CreateLimited(id);
  EXPECT_EQ(CgroupFile(id, "memory.max"), "33554432");
}

TEST_F(LimitsTest, PidsLimitIsWrittenToPidsMax) {
  SetResource("pids", {{"limit", 20}});
  std::string id = NewId();
  CreateLimited(id);
  EXPECT_EQ(CgroupFile(id, "pids.max"), "20");
}

TEST_F(LimitsTest, CpuSharesAreConvertedToCpuWeight) {
  // runc 1.1 maps shares [2, 262144] linearly onto weight [1, 10000]:
  // 1 + (shares - 2) * 9999 / 262142, so Docker's default 1024 becomes 39.
  SetResource("cpu", {{"shares", 1024}});
  std::string id = NewId();
  CreateLimited(id);
  EXPECT_EQ(CgroupFile(id, "cpu.weight"), "39");
}

TEST_F(LimitsTest, CpuQuotaAndPeriodAreWrittenToCpuMax) {
  SetResource("cpu", {{"quota", 50000}, {"period", 100000}});
  std::string id = NewId();
  CreateLimited(id);
  EXPECT_EQ(CgroupFile(id, "cpu.max"), "50000 100000");
}

TEST_F(LimitsTest, CpusetCpusAndMemsAreWrittenToCpuset) {
  // vm-run's VM has two CPUs (0-1) and one memory node (0).
  SetResource("cpu", {{"cpus", "1"}, {"mems", "0"}});
  std::string id = NewId();
  CreateLimited(id);
  EXPECT_EQ(CgroupFile(id, "cpuset.cpus"), "1");
  EXPECT_EQ(CgroupFile(id, "cpuset.mems"), "0");
}

TEST_F(LimitsTest, BlkioWeightIsConvertedToIoWeightWithoutBfq) {
  // runc 1.1 writes blockIO.weight as is to io.bfq.weight (BFQ's scale is
  // the same 10-1000) and, when that file does not exist because the bfq
  // module is not loaded (as in vm-run's VM), converts it for io.weight:
  // 1 + (weight - 10) * 9999 / 990, so 500 becomes 4950.
  SetResource("blockIO", {{"weight", 500}});
  std::string id = NewId();
  CreateLimited(id);
  EXPECT_FALSE(path_exists(CgroupDir(id) + "/io.bfq.weight"))
      << "bfq is loaded, so this test does not check the io.weight fallback";
  EXPECT_EQ(CgroupFile(id, "io.weight"), "default 4950");
}

TEST_F(LimitsTest, SwapEqualToTheMemoryLimitMeansNoSwap) {
  // The spec's swap is memory+swap; cgroup v2's memory.swap.max is swap
  // alone, so swap == limit is 0 bytes of swap.
  SetResource("memory", {{"limit", 33554432}, {"swap", 33554432}});
  std::string id = NewId();
  CreateLimited(id);
  EXPECT_EQ(CgroupFile(id, "memory.max"), "33554432");
  EXPECT_EQ(CgroupFile(id, "memory.swap.max"), "0");
}

TEST_F(LimitsTest, UnifiedValuesAreWrittenAsGiven) {
  // 30 MiB: a multiple of the page size, which the kernel would round to.
  SetResource("unified", {{"memory.high", "31457280"}, {"pids.max", "7"}});
  std::string id = NewId();
  CreateLimited(id);
  EXPECT_EQ(CgroupFile(id, "memory.high"), "31457280");
  EXPECT_EQ(CgroupFile(id, "pids.max"), "7");
}

TEST_F(LimitsTest, CpuBurstIsWrittenToCpuMaxBurst) {
  if (itest::runtime_is_runc()) GTEST_SKIP() << "runc 1.1 has no linux.resources.cpu.burst";
  SetResource("cpu", {{"quota", 50000}, {"period", 100000}, {"burst", 20000}});
  std::string id = NewId();
  CreateLimited(id);
  EXPECT_EQ(CgroupFile(id, "cpu.max"), "50000 100000");
  EXPECT_EQ(CgroupFile(id, "cpu.max.burst"), "20000");
}

}  // namespace
}  // namespace berth::test::vmtest
