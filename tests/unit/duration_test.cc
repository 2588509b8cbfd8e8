#include "core/duration.h"

#include <gtest/gtest.h>

#include <climits>

namespace berth {
namespace {

using std::chrono::nanoseconds;

int64_t parsed(const std::string& text) {
  auto duration = parse_go_duration(text);
  EXPECT_TRUE(duration.has_value()) << text << ": " << duration.error().message();
  return duration ? duration.value().count() : -1;
}

std::string failure(const std::string& text) {
  auto duration = parse_go_duration(text);
  EXPECT_FALSE(duration.has_value()) << text << " parsed as " << duration.value().count();
  return duration ? "" : duration.error().message();
}

TEST(GoDurationTest, ReadsEveryUnit) {
  EXPECT_EQ(parsed("7ns"), 7);
  EXPECT_EQ(parsed("7us"), 7'000);
  EXPECT_EQ(parsed("7\u00b5s"), 7'000);  // micro sign
  EXPECT_EQ(parsed("7\u03bcs"), 7'000);  // Greek mu
  EXPECT_EQ(parsed("100ms"), 100'000'000);
  EXPECT_EQ(parsed("5s"), 5'000'000'000);
  EXPECT_EQ(parsed("2m"), 120'000'000'000);
  EXPECT_EQ(parsed("1h"), 3'600'000'000'000);
}

TEST(GoDurationTest, ReadsSequencesFractionsAndSigns) {
  EXPECT_EQ(parsed("1h30m"), 5'400'000'000'000);
  EXPECT_EQ(parsed("1.5h"), 5'400'000'000'000);
  EXPECT_EQ(parsed("300ms1s"), 1'300'000'000);
  EXPECT_EQ(parsed(".5s"), 500'000'000);
  EXPECT_EQ(parsed("1.s"), 1'000'000'000);
  EXPECT_EQ(parsed("1.000000001s"), 1'000'000'001);
  EXPECT_EQ(parsed("-2us"), -2'000);
  EXPECT_EQ(parsed("+3s"), 3'000'000'000);
  EXPECT_EQ(parsed("0"), 0);
  EXPECT_EQ(parsed("-0"), 0);
  EXPECT_EQ(parsed("0s"), 0);
}

TEST(GoDurationTest, ReadsTheLimitsOfInt64Nanoseconds) {
  EXPECT_EQ(parsed("9223372036854775807ns"), INT64_MAX);
  EXPECT_EQ(parsed("-9223372036854775808ns"), INT64_MIN);
  EXPECT_EQ(parsed("2562047h"), 2562047LL * 3'600'000'000'000);
  EXPECT_EQ(failure("9223372036854775808ns"), "time: invalid duration \"9223372036854775808ns\"");
  EXPECT_EQ(failure("2562048h"), "time: invalid duration \"2562048h\"");
  EXPECT_EQ(failure("99999999999999999999s"), "time: invalid duration \"99999999999999999999s\"");
}

TEST(GoDurationTest, RefusesWhatGoRefusesWithGosMessages) {
  EXPECT_EQ(failure(""), "time: invalid duration \"\"");
  EXPECT_EQ(failure("abc"), "time: invalid duration \"abc\"");
  EXPECT_EQ(failure("-"), "time: invalid duration \"-\"");
  EXPECT_EQ(failure("."), "time: invalid duration \".\"");
  EXPECT_EQ(failure(".s"), "time: invalid duration \".s\"");
  EXPECT_EQ(failure("s"), "time: invalid duration \"s\"");
  EXPECT_EQ(failure("5"), "time: missing unit in duration \"5\"");
  EXPECT_EQ(failure("1s5"), "time: missing unit in duration \"1s5\"");
  EXPECT_EQ(failure("5d"), "time: unknown unit \"d\" in duration \"5d\"");
  EXPECT_EQ(failure("5 s"), "time: unknown unit \" s\" in duration \"5 s\"");
}

}  // namespace
}  // namespace berth
