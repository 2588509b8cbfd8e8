// linux.resources: parsing, merging updates, and the conversion into cgroup
// v2 interface files (runc's fs2 conversions), checked file by file.
#include "linux/cgroup_limits.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "spec/resources.h"

namespace berth::linux {
namespace {

using nlohmann::json;

spec::Resources parse(const json& document) {
  auto parsed = spec::parse_resources(document, "linux.resources");
  EXPECT_TRUE(parsed) << parsed.error().message();
  return parsed ? parsed.value() : spec::Resources{};
}

std::string parse_error(const json& document) {
  auto parsed = spec::parse_resources(document, "linux.resources");
  return parsed ? "parsed" : parsed.error().message();
}

// file=value pairs, in order, for readable failures.
std::vector<std::string> writes_for(const json& document) {
  auto writes = cgroup_writes(parse(document), "linux.resources");
  EXPECT_TRUE(writes) << writes.error().message();
  std::vector<std::string> out;
  if (!writes) return out;
  for (const CgroupWrite& write : writes.value()) {
    std::string line = write.file + "=" + write.value;
    if (write.fallback) line += " else " + write.fallback->first + "=" + write.fallback->second;
    out.push_back(line);
  }
  return out;
}

std::string conversion_error(const json& document) {
  auto writes = cgroup_writes(parse(document), "linux.resources");
  return writes ? "converted" : writes.error().message();
}

TEST(CgroupConversions, CpuSharesMapOntoTheWeightRangeAsRuncMapsThem) {
  EXPECT_EQ(cpu_shares_to_weight(2), 1u);
  EXPECT_EQ(cpu_shares_to_weight(1024), 39u);
  EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
}

TEST(CgroupConversions, BlkioWeightMapsOntoTheIoWeightRange) {
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
}

TEST(CgroupConversions, SwapIsMemoryPlusSwapMinusMemory) {
  EXPECT_EQ(memory_swap_to_v2(200, 100).value(), 100);
  EXPECT_EQ(memory_swap_to_v2(100, 100).value(), 0);
  EXPECT_EQ(memory_swap_to_v2(-1, 100).value(), -1);
  EXPECT_EQ(memory_swap_to_v2(0, -1).value(), -1);  // unlimited memory: unlimited swap
  EXPECT_EQ(memory_swap_to_v2(0, 100).value(), 0);  // not given
  EXPECT_FALSE(memory_swap_to_v2(50, 100));         // below the memory limit
  EXPECT_FALSE(memory_swap_to_v2(200, 0));          // no memory limit to subtract
}

TEST(CgroupWrites, EveryControllerInRuncsOrder) {
  json resources = {
      {"pids", {{"limit", 20}}},
      {"memory", {{"limit", 33554432}, {"reservation", 16777216}, {"swap", 67108864}}},
      {"blockIO",
       {{"weight", 500},
        {"weightDevice", {{{"major", 8}, {"minor", 0}, {"weight", 100}}}},
        {"throttleReadBpsDevice", {{{"major", 8}, {"minor", 0}, {"rate", 1048576}}}},
        {"throttleWriteIOPSDevice", {{{"major", 8}, {"minor", 16}, {"rate", 100}}}}}},
      {"cpu",
       {{"shares", 1024},
        {"quota", 50000},
        {"period", 100000},
        {"burst", 10000},
        {"idle", 0},
        {"cpus", "0-1"},
        {"mems", "0"}}},
      {"hugepageLimits", {{{"pageSize", "2MB"}, {"limit", 4194304}}}},
      {"rdma", {{"mlx5_1", {{"hcaHandles", 3}, {"hcaObjects", 10000}}}}},
      {"unified", {{"memory.high", "30000000"}}},
  };
  std::vector<std::string> expected = {
      "pids.max=20",
      "memory.swap.max=33554432",
      "memory.max=33554432",
      "memory.low=16777216",
      "io.bfq.weight=500 else io.weight=4950",
      "io.bfq.weight=8:0 100 else io.weight=8:0 910",
      "io.max=8:0 rbps=1048576",
      "io.max=8:16 wiops=100",
      "cpu.weight=39",
      "cpu.max=50000 100000",
      "cpu.max.burst=10000",
      "cpu.idle=0",
      "cpuset.cpus=0-1",
      "cpuset.mems=0",
      "hugetlb.2MB.max=4194304",
      "rdma.max=mlx5_1 hca_handle=3 hca_object=10000",
      "memory.high=30000000",
  };
  EXPECT_EQ(writes_for(resources), expected);
}

TEST(CgroupWrites, MinusOneMeansMax) {
  EXPECT_EQ(writes_for({{"memory", {{"limit", -1}}}, {"pids", {{"limit", -1}}}}),
            (std::vector<std::string>{"pids.max=max", "memory.swap.max=max", "memory.max=max"}));
}

TEST(CgroupWrites, SwapEqualToMemoryDisablesSwap) {
  EXPECT_EQ(writes_for({{"memory", {{"limit", 1048576}, {"swap", 1048576}}}}),
            (std::vector<std::string>{"memory.swap.max=0", "memory.max=1048576"}));
}

TEST(CgroupWrites, QuotaWithoutPeriodUsesTheKernelDefaultPeriod) {
  EXPECT_EQ(writes_for({{"cpu", {{"quota", 20000}}}}),
            (std::vector<std::string>{"cpu.max=20000 100000"}));
  EXPECT_EQ(writes_for({{"cpu", {{"period", 50000}}}}),
            (std::vector<std::string>{"cpu.max=max 50000"}));
}

TEST(CgroupWrites, ZeroAndAbsentWriteNothing) {
  EXPECT_TRUE(writes_for({{"pids", {{"limit", 0}}}, {"memory", json::object()}}).empty());
  EXPECT_TRUE(writes_for(nullptr).empty());
  EXPECT_TRUE(writes_for({{"devices", {{{"allow", false}, {"access", "rwm"}}}}}).empty());
}

TEST(CgroupWrites, WhatCgroupV2CannotExpressIsRefusedNamingTheField) {
  EXPECT_NE(conversion_error({{"cpu", {{"realtimeRuntime", 950000}}}}).find("linux.resources.cpu"),
            std::string::npos);
  EXPECT_NE(conversion_error({{"memory", {{"swappiness", 10}}}})
                .find("linux.resources.memory.swappiness"),
            std::string::npos);
  EXPECT_NE(conversion_error({{"network", {{"classID", 1}}}}).find("linux.resources.network"),
            std::string::npos);
  EXPECT_NE(conversion_error({{"cpu", {{"shares", 1}}}}).find("linux.resources.cpu.shares: 1"),
            std::string::npos);
  EXPECT_NE(conversion_error({{"blockIO", {{"weight", 5}}}}).find("linux.resources.blockIO.weight"),
            std::string::npos);
  EXPECT_NE(conversion_error({{"memory", {{"limit", -5}}}}).find("linux.resources.memory.limit"),
            std::string::npos);
  EXPECT_NE(conversion_error({{"memory", {{"swap", 1000}}}}).find("linux.resources.memory.swap"),
            std::string::npos);
  EXPECT_NE(conversion_error({{"unified", {{"../memory.max", "1"}}}})
                .find("linux.resources.unified[\"../memory.max\"]"),
            std::string::npos);
  EXPECT_NE(conversion_error({{"hugepageLimits", {{{"pageSize", "../x"}, {"limit", 1}}}}})
                .find("linux.resources.hugepageLimits[0].pageSize"),
            std::string::npos);
}

TEST(CgroupWrites, EachWriteNamesItsControllerAndField) {
  auto writes = cgroup_writes(parse({{"cpu", {{"cpus", "0"}}}}), "linux.resources").value();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].controller(), "cpuset");
  EXPECT_EQ(writes[0].field, "linux.resources.cpu.cpus");
}

TEST(ResourcesParsing, ErrorsNameTheJsonPath) {
  EXPECT_EQ(parse_error({{"memory", {{"limit", "lots"}}}}),
            "linux.resources.memory.limit: expected an integer, got string");
  EXPECT_EQ(parse_error({{"pids", json::object()}}), "linux.resources.pids.limit: required");
  EXPECT_NE(parse_error({{"blockIO", {{"weight", 70000}}}}).find("linux.resources.blockIO.weight"),
            std::string::npos);
  EXPECT_EQ(parse_error(json::array()), "linux.resources: expected an object, got array");
}

TEST(ResourcesMerge, AnUpdateOverridesOnlyWhatItGives) {
  spec::Resources current = parse({{"memory", {{"limit", 1000000}, {"reservation", 500000}}},
                                   {"pids", {{"limit", 10}}},
                                   {"cpu", {{"shares", 512}}}});
  current.merge(parse({{"memory", {{"limit", 2000000}}}, {"pids", {{"limit", 20}}}}));
  EXPECT_EQ(spec::resources_to_json(current),
            json({{"memory", {{"limit", 2000000}, {"reservation", 500000}}},
                  {"pids", {{"limit", 20}}},
                  {"cpu", {{"shares", 512}}}}));
}

TEST(ResourcesMerge, JsonRoundTripKeepsEveryField) {
  json document = {
      {"memory", {{"limit", 1}, {"swap", 2}, {"checkBeforeUpdate", true}}},
      {"cpu", {{"quota", 3}, {"period", 4}, {"cpus", "0"}}},
      {"blockIO", {{"throttleReadBpsDevice", {{{"major", 8}, {"minor", 0}, {"rate", 5}}}}}},
      {"hugepageLimits", {{{"pageSize", "2MB"}, {"limit", 6}}}},
      {"unified", {{"memory.high", "7"}}},
  };
  EXPECT_EQ(spec::resources_to_json(parse(document)), document);
}

}  // namespace
}  // namespace berth::linux
