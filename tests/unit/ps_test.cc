// ps's table: the host's ps output cut down to the container's pids.
#include "container/ps.h"

#include <gtest/gtest.h>

namespace berth::container {
namespace {

constexpr const char* kPsEf =
    "UID          PID    PPID  C STIME TTY          TIME CMD\n"
    "root           1       0  0 10:00 ?        00:00:01 /sbin/init\n"
    "root        3050       1  0 10:01 ?        00:00:00 sleep 100\n"
    "root        3051    3050  0 10:01 ?        00:00:00 sh -c echo 1\n";

TEST(PsTableTest, KeepsTheHeaderAndTheContainersLines) {
  auto table = select_ps_lines(kPsEf, {3051, 3050});
  ASSERT_TRUE(table.has_value()) << table.error().message();
  EXPECT_EQ(table.value(),
            "UID          PID    PPID  C STIME TTY          TIME CMD\n"
            "root        3050       1  0 10:01 ?        00:00:00 sleep 100\n"
            "root        3051    3050  0 10:01 ?        00:00:00 sh -c echo 1\n");
}

TEST(PsTableTest, FindsThePidColumnWhereverItIs) {
  auto table = select_ps_lines("STAT   PID COMMAND\nSs    3050 sleep\nS        1 init\n", {3050});
  ASSERT_TRUE(table.has_value()) << table.error().message();
  EXPECT_EQ(table.value(), "STAT   PID COMMAND\nSs    3050 sleep\n");
}

TEST(PsTableTest, NoContainerProcessLeavesTheHeader) {
  auto table = select_ps_lines(kPsEf, {});
  ASSERT_TRUE(table.has_value()) << table.error().message();
  EXPECT_EQ(table.value(), "UID          PID    PPID  C STIME TTY          TIME CMD\n");
}

TEST(PsTableTest, OutputWithoutAPidColumnFailsAsRuncDoes) {
  auto table = select_ps_lines("COMMAND\nsleep\n", {1});
  ASSERT_FALSE(table.has_value());
  EXPECT_EQ(table.error().message(), "couldn't find PID field in ps output");
}

TEST(PsTableTest, ALineWithoutANumericPidIsAnError) {
  auto table = select_ps_lines("PID CMD\nabc sleep\n", {1});
  ASSERT_FALSE(table.has_value());
  EXPECT_EQ(table.error().message(), "unable to parse pid from ps output line \"abc sleep\"");
}

}  // namespace
}  // namespace berth::container
