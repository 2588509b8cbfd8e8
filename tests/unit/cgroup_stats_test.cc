// The statistics of fake cgroup directories (files written as the kernel
// writes them), their runc-shaped JSON, and the events built from them.
#include "linux/cgroup_stats.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "container/events.h"
#include "core/unique_fd.h"
#include "support/temp_dir.h"

namespace berth::linux {
namespace {

constexpr const char* kZeroPressure =
    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
constexpr const char* kZeroPressureJson = R"({"some":{"avg10":0,"avg60":0,"avg300":0,"total":0},)"
                                          R"("full":{"avg10":0,"avg60":0,"avg300":0,"total":0}})";
constexpr const char* kCpusetJson =
    R"({"cpu_exclusive":0,"mem_hardwall":0,"mem_exclusive":0,"memory_migrate":0,)"
    R"("memory_spread_page":0,"memory_spread_slab":0,"memory_pressure":0,)"
    R"("sched_load_balance":0,"sched_relax_domain_level":0})";

class CgroupStatsTest : public ::testing::Test {
 protected:
  void Write(const std::string& name, const std::string& content) {
    std::filesystem::create_directories(std::filesystem::path(dir_ + "/" + name).parent_path());
    std::ofstream(dir_ + "/" + name) << content;
  }

  // A cgroup of this hybrid host's v2 hierarchy: no controllers, only the
  // core files and PSI.
  void WriteControllerlessCgroup() {
    Write("cgroup.procs", "7\n");
    Write("cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\n");
    for (const char* file : {"cpu.pressure", "memory.pressure", "io.pressure"})
      Write(file, kZeroPressure);
  }

  // A pure v2 cgroup with the cpu, memory, pids, io and hugetlb controllers.
  void WriteFullCgroup() {
    Write("cgroup.procs", "12\n34\n");
    Write("cpu.stat",
          "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\n"
          "throttled_usec 300\nnr_bursts 0\nburst_usec 0\n");
    Write("cpu.pressure",
          "some avg10=1.50 avg60=0.25 avg300=0.00 total=1234\n"
          "full avg10=0.00 avg60=0.00 avg300=0.00 total=56\n");
    Write("memory.stat", "anon 4096\nfile 8192\nkernel 1024\n");
    Write("memory.current", "16384\n");
    Write("memory.max", "1048576\n");
    Write("memory.peak", "20480\n");
    Write("memory.swap.current", "512\n");
    Write("memory.swap.max", "max\n");
    Write("memory.pressure", kZeroPressure);
    Write("pids.current", "2\n");
    Write("pids.max", "100\n");
    Write("io.stat", "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n");
    Write("io.pressure", kZeroPressure);
    Write("hugetlb.2MB.current", "0\n");
    Write("hugetlb.2MB.events", "max 3\n");
    Write("hugetlb.1GB.current", "1073741824\n");
    Write("hugetlb.1GB.events", "max 0\n");
    // Reservation accounting, beside each page size's own files.
    Write("hugetlb.1GB.rsvd.current", "0\n");
    Write("hugetlb.1GB.rsvd.max", "max\n");
  }

  // In place and at the same length, never truncated: a concurrent reader
  // sees the old or the new value, never an empty file (kernfs gives each
  // read a whole snapshot, a regular file does not).
  void Overwrite(const std::string& name, const std::string& content) {
    UniqueFd fd(::open((dir_ + "/" + name).c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.valid()) << name;
    ASSERT_EQ(::pwrite(fd.get(), content.data(), content.size(), 0),
              static_cast<ssize_t>(content.size()));
  }

  CgroupStats Read() {
    auto stats = read_cgroup_stats(dir_);
    EXPECT_TRUE(stats.has_value()) << stats.error().message();
    return stats ? stats.value() : CgroupStats{};
  }

  std::string ReadError() {
    auto stats = read_cgroup_stats(dir_);
    EXPECT_FALSE(stats.has_value()) << "read succeeded";
    return stats ? "" : stats.error().message();
  }

  test::TempDir temp_{"berth-cgroup-stats-test"};
  const std::string dir_ = temp_.path();
};

TEST_F(CgroupStatsTest, FlatKeyedFilesParseToTheirKeys) {
  auto values = parse_flat_keyed("populated 1\nfrozen 0\n");
  ASSERT_TRUE(values.has_value()) << values.error().message();
  EXPECT_EQ(values.value(), (std::map<std::string, uint64_t>{{"frozen", 0}, {"populated", 1}}));
}

TEST_F(CgroupStatsTest, NegativeStatisticsReadAsZeroAsRuncReadsThem) {
  auto values = parse_flat_keyed("workingset_refault -3\n");
  ASSERT_TRUE(values.has_value()) << values.error().message();
  EXPECT_EQ(values.value().at("workingset_refault"), 0u);
}

TEST_F(CgroupStatsTest, MalformedFlatKeyedLineIsAnErrorNamingTheLine) {
  auto values = parse_flat_keyed("low 0\nhigh x\n");
  ASSERT_FALSE(values.has_value());
  EXPECT_EQ(values.error().message(), "line 2: expected \"key value\", got \"high x\"");
}

TEST_F(CgroupStatsTest, FullCgroupFillsEveryPart) {
  WriteFullCgroup();
  CgroupStats stats = Read();
  EXPECT_EQ(stats.cpu.total, 1'500'000u);
  EXPECT_EQ(stats.cpu.user, 1'000'000u);
  EXPECT_EQ(stats.cpu.kernel, 500'000u);
  EXPECT_EQ(stats.cpu.periods, 10u);
  EXPECT_EQ(stats.cpu.throttled_periods, 2u);
  EXPECT_EQ(stats.cpu.throttled, 300'000u);
  ASSERT_TRUE(stats.cpu.pressure.has_value());
  EXPECT_DOUBLE_EQ(stats.cpu.pressure->some.avg10, 1.5);
  EXPECT_EQ(stats.cpu.pressure->full.total, 56u);
  EXPECT_EQ(stats.memory.cache, 8192u);
  EXPECT_EQ(stats.memory.usage.usage, 16384u);
  EXPECT_EQ(stats.memory.usage.limit, 1048576u);
  EXPECT_EQ(stats.memory.usage.max_usage, 20480u);
  // memory + swap, as cgroup v1's memsw; an unlimited swap stays unlimited.
  EXPECT_EQ(stats.memory.swap.usage, 16384u + 512u);
  EXPECT_EQ(stats.memory.swap.limit, UINT64_MAX);
  EXPECT_EQ(stats.memory.raw.size(), 3u);
  EXPECT_EQ(stats.pids.current, 2u);
  EXPECT_EQ(stats.pids.limit, 100u);
  ASSERT_EQ(stats.blkio.service_bytes.size(), 2u);
  EXPECT_EQ(stats.blkio.service_bytes[0].op, "Read");
  EXPECT_EQ(stats.blkio.service_bytes[0].value, 4096u);
  EXPECT_EQ(stats.blkio.serviced[0].value, 1u);
  EXPECT_EQ(stats.hugetlb.at("2MB").failcnt, 3u);
  EXPECT_EQ(stats.hugetlb.at("1GB").usage, 1073741824u);
  EXPECT_EQ(stats.hugetlb.size(), 2u) << "hugetlb.1GB.rsvd.* taken for a page size";
}

TEST_F(CgroupStatsTest, FullCgroupPrintsRuncsTypesStats) {
  WriteFullCgroup();
  std::string expected =
      std::string(R"({"cpu":{"usage":{"total":1500000,"kernel":500000,"user":1000000},)") +
      R"("throttling":{"periods":10,"throttledPeriods":2,"throttledTime":300000},)" +
      R"("psi":{"some":{"avg10":1.5,"avg60":0.25,"avg300":0,"total":1234},)" +
      R"("full":{"avg10":0,"avg60":0,"avg300":0,"total":56}}},)" + R"("cpuset":)" + kCpusetJson +
      "," +
      R"("memory":{"cache":8192,"usage":{"limit":1048576,"usage":16384,"max":20480,"failcnt":0},)" +
      R"("swap":{"limit":18446744073709551615,"usage":16896,"failcnt":0},)" +
      R"("kernel":{"limit":0,"failcnt":0},"kernelTCP":{"limit":0,"failcnt":0},)" +
      R"("raw":{"anon":4096,"file":8192,"kernel":1024},"psi":)" + kZeroPressureJson + "}," +
      R"("pids":{"current":2,"limit":100},)" +
      R"("blkio":{"ioServiceBytesRecursive":[{"major":8,"op":"Read","value":4096},)" +
      R"({"major":8,"op":"Write"}],)" +
      R"("ioServicedRecursive":[{"major":8,"op":"Read","value":1},{"major":8,"op":"Write"}],)" +
      R"("psi":)" + kZeroPressureJson + "}," +
      R"("hugetlb":{"1GB":{"usage":1073741824,"failcnt":0},"2MB":{"failcnt":3}},)" +
      R"("intel_rdt":{},"network_interfaces":null})";
  EXPECT_EQ(stats_to_json(Read()).dump(), expected);
}

TEST_F(CgroupStatsTest, ControllerlessCgroupReportsProcessesCpuAndPressureOnly) {
  WriteControllerlessCgroup();
  std::string expected =
      std::string(R"({"cpu":{"usage":{"kernel":0,"user":0},"throttling":{},"psi":)") +
      kZeroPressureJson + R"(},"cpuset":)" + kCpusetJson + "," +
      R"("memory":{"usage":{"limit":0,"failcnt":0},"swap":{"limit":0,"failcnt":0},)" +
      R"("kernel":{"limit":0,"failcnt":0},"kernelTCP":{"limit":0,"failcnt":0},"psi":)" +
      kZeroPressureJson + "}," + R"("pids":{"current":1},"blkio":{"psi":)" + kZeroPressureJson +
      "}," + R"("hugetlb":{},"intel_rdt":{},"network_interfaces":null})";
  EXPECT_EQ(stats_to_json(Read()).dump(), expected);
}

TEST_F(CgroupStatsTest, WithoutPressureFilesThereIsNoPsi) {
  Write("cgroup.procs", "");
  nlohmann::ordered_json json = stats_to_json(Read());
  EXPECT_FALSE(json["cpu"].contains("psi")) << json.dump();
  EXPECT_FALSE(json["memory"].contains("psi")) << json.dump();
  EXPECT_FALSE(json["blkio"].contains("psi")) << json.dump();
  EXPECT_FALSE(json["pids"].contains("current")) << json.dump();
}

TEST_F(CgroupStatsTest, WithoutSwapAccountingSwapIsTheMemoryItself) {
  WriteFullCgroup();
  std::filesystem::remove(dir_ + "/memory.swap.current");
  std::filesystem::remove(dir_ + "/memory.swap.max");
  CgroupStats stats = Read();
  EXPECT_EQ(stats.memory.swap.usage, 16384u);
  EXPECT_EQ(stats.memory.swap.limit, 1048576u);
}

TEST_F(CgroupStatsTest, LimitedSwapAddsToTheMemoryLimit) {
  WriteFullCgroup();
  Write("memory.swap.max", "4096\n");
  EXPECT_EQ(Read().memory.swap.limit, 1048576u + 4096u);
}

TEST_F(CgroupStatsTest, UnlimitedMemoryAndPidsReadAsRuncReportsThem) {
  WriteFullCgroup();
  Write("memory.max", "max\n");
  Write("pids.max", "max\n");
  CgroupStats stats = Read();
  EXPECT_EQ(stats.memory.usage.limit, UINT64_MAX);
  EXPECT_EQ(stats.pids.limit, 0u);  // runc's "no limit"
}

TEST_F(CgroupStatsTest, MalformedFileIsAnErrorNamingIt) {
  WriteFullCgroup();
  Write("io.stat", "sda rbytes=1\n");
  EXPECT_EQ(ReadError(), dir_ + "/io.stat: bad device \"sda\"");
  WriteFullCgroup();
  Write("memory.max", "lots\n");
  EXPECT_EQ(ReadError(), dir_ + "/memory.max: \"lots\" is not a number");
  WriteFullCgroup();
  Write("cpu.pressure", "some avg10=x\n");
  EXPECT_EQ(ReadError(), dir_ + "/cpu.pressure: invalid psi value \"avg10=x\"");
}

TEST_F(CgroupStatsTest, RemovedCgroupIsAnError) {
  std::string message = ReadError();
  EXPECT_NE(message.find(dir_ + "/cgroup.procs"), std::string::npos) << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
}

TEST_F(CgroupStatsTest, TreePidsListParentsFirstAndSiblingsByName) {
  Write("cgroup.procs", "5\n3\n");
  Write("b/cgroup.procs", "9\n");
  Write("a/cgroup.procs", "7\n");
  Write("a/x/cgroup.procs", "8\n");
  auto pids = cgroup_tree_pids(dir_);
  ASSERT_TRUE(pids.has_value()) << pids.error().message();
  EXPECT_EQ(pids.value(), (std::vector<pid_t>{5, 3, 7, 8, 9}));
}

// Regular files never signal POLLPRI: the loop sees each change at its
// next interval, which is all this test needs.
TEST_F(CgroupStatsTest, EventStreamReportsOomKillsThenEndsWhenTheCgroupEmpties) {
  WriteControllerlessCgroup();
  Write("cgroup.events", "populated 1\nfrozen 0\n");
  Write("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 1\n");  // before the watch
  std::vector<std::string> types;
  std::thread container([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    Overwrite("memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    Overwrite("cgroup.events", "populated 0\nfrozen 0\n");
  });
  Status watched = container::watch_cgroup_events(
      dir_, "c1", std::chrono::milliseconds(20),
      [&](const nlohmann::ordered_json& event) { types.push_back(event.value("type", "")); });
  container.join();
  ASSERT_TRUE(watched.has_value()) << watched.error().message();
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(std::count(types.begin(), types.end(), "oom"), 1) << "one oom_kill more, one event";
  EXPECT_GE(std::count(types.begin(), types.end(), "stats"), 2);
  EXPECT_EQ(types.front(), "stats") << "the oom kill counted before the watch began was reported";
}

TEST_F(CgroupStatsTest, EventStreamOfAnEmptyCgroupEndsAtOnce) {
  WriteControllerlessCgroup();
  Write("cgroup.events", "populated 0\nfrozen 0\n");
  int events = 0;
  Status watched = container::watch_cgroup_events(dir_, "c1", std::chrono::hours(1),
                                                  [&](const nlohmann::ordered_json&) { ++events; });
  ASSERT_TRUE(watched.has_value()) << watched.error().message();
  EXPECT_EQ(events, 0);
}

TEST_F(CgroupStatsTest, EventsAreRuncsEventObjects) {
  WriteControllerlessCgroup();
  nlohmann::ordered_json stats = container::stats_event("c1", Read());
  EXPECT_EQ(stats.dump().substr(0, 45), R"({"type":"stats","id":"c1","data":{"cpu":{"usa)");
  EXPECT_EQ(container::oom_event("c1").dump(), R"({"type":"oom","id":"c1"})");
}

}  // namespace
}  // namespace berth::linux
