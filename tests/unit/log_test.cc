#include "core/log.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace berth::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { configure("", Format::Text, false); }

  std::vector<std::string> lines() const {
    std::ifstream in(path_);
    std::vector<std::string> result;
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
  }
  std::string contents() const {
    std::ifstream in(path_);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  }

  test::TempDir dir_{"berth-log-test"};
  std::string path_ = dir_ / "runtime.log";
};

const std::regex kRfc3339Utc(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");

time_t parse_utc(const std::string& text) {
  struct tm tm = {};
  EXPECT_NE(::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm), nullptr) << text;
  return ::timegm(&tm);
}

TEST_F(LogTest, JsonEntryIsOneLineWithLevelMessageAndUtcTime) {
  configure(path_, Format::Json, false);
  time_t before = ::time(nullptr);
  write(Level::Error, "container \"c1\" does not exist");
  time_t after = ::time(nullptr);

  std::string text = contents();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  ASSERT_EQ(lines().size(), 1u) << text;
  nlohmann::json entry = nlohmann::json::parse(lines()[0]);
  ASSERT_EQ(entry.size(), 3u) << text;
  EXPECT_EQ(entry["level"], "error");
  EXPECT_EQ(entry["msg"], "container \"c1\" does not exist");
  std::string time = entry["time"];
  EXPECT_TRUE(std::regex_match(time, kRfc3339Utc)) << time;
  time_t logged = parse_utc(time);
  EXPECT_GE(logged, before);
  EXPECT_LE(logged, after);
}

TEST_F(LogTest, JsonEntryReplacesInvalidUtf8InsteadOfDropping) {
  configure(path_, Format::Json, false);
  write(Level::Error, "open /bad\xff/path: No such file or directory");
  ASSERT_EQ(lines().size(), 1u) << contents();
  nlohmann::json entry = nlohmann::json::parse(lines()[0]);
  EXPECT_EQ(entry["msg"], "open /bad\xEF\xBF\xBD/path: No such file or directory");
}

TEST_F(LogTest, TextEntryQuotesAndEscapesAsLogrus) {
  configure(path_, Format::Text, false);
  write(Level::Error, "exec \"sh\": bad\\path\nnext\tline \x01 caf\xC3\xA9 \xC2\x85 \xff");
  ASSERT_EQ(lines().size(), 1u) << contents();
  const std::string line = lines()[0];
  std::smatch match;
  const std::regex shape(R"re(time="([^"]+)" level=error msg=(.*))re");
  ASSERT_TRUE(std::regex_match(line, match, shape)) << line;
  EXPECT_TRUE(std::regex_match(match[1].str(), kRfc3339Utc)) << match[1];
  EXPECT_EQ(match[2].str(), R"("exec \"sh\": bad\\path\nnext\tline \x01 café \u0085 \xff")");
}

TEST_F(LogTest, TextEntryLeavesPlainValuesUnquoted) {
  configure(path_, Format::Text, false);
  write(Level::Warning, "stopped");
  ASSERT_EQ(lines().size(), 1u);
  EXPECT_TRUE(lines()[0].ends_with(" level=warning msg=stopped")) << lines()[0];
}

TEST_F(LogTest, DebugEntriesAppearOnlyWithDebug) {
  configure(path_, Format::Json, false);
  debug("command {}: {}", "state", "c1");
  EXPECT_TRUE(lines().empty()) << contents();

  configure(path_, Format::Json, true);
  EXPECT_TRUE(debug_enabled());
  debug("command {}: {}", "state", "c1");
  ASSERT_EQ(lines().size(), 1u);
  nlohmann::json entry = nlohmann::json::parse(lines()[0]);
  EXPECT_EQ(entry["level"], "debug");
  EXPECT_EQ(entry["msg"], "command state: c1");
}

TEST_F(LogTest, AppendsToAnExistingFileAndCreatesNewOnes0644) {
  mode_t old_umask = ::umask(0);
  configure(path_, Format::Text, false);
  ::umask(old_umask);
  write(Level::Error, "first");
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);

  configure(path_, Format::Text, false);
  write(Level::Error, "second");
  ASSERT_EQ(lines().size(), 2u) << contents();
  EXPECT_TRUE(lines()[0].ends_with("msg=first"));
  EXPECT_TRUE(lines()[1].ends_with("msg=second"));
}

// Several runtime processes share containerd's log file: every entry must
// arrive whole, never interleaved with another process's.
TEST_F(LogTest, ConcurrentWritersNeverInterleaveEntries) {
  constexpr int kWriters = 4;
  constexpr int kEntries = 200;
  const std::string padding(2000, 'x');
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      configure(path_, Format::Json, false);
      for (int i = 0; i < kEntries; ++i)
        write(Level::Error, "writer " + std::to_string(w) + " " + padding);
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::vector<std::string> all = lines();
  ASSERT_EQ(all.size(), static_cast<size_t>(kWriters * kEntries));
  for (const std::string& line : all) {
    auto entry = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(entry.is_discarded()) << line.substr(0, 200);
    EXPECT_TRUE(entry["msg"].get<std::string>().ends_with(padding));
  }
}

}  // namespace
}  // namespace berth::log
