// The user's process as the spec describes it: args, env, cwd, user and
// groups, umask, rlimits, oom_score_adj, stdio; checked by the process itself.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "harness.h"

namespace berth::test::itest {
namespace {

using ProcessTest = ContainerTest;

TEST_F(ProcessTest, ArgsArePassedVerbatim) {
  SetArgs({"sh", "-c", "printf '[%s]\\n' \"$0\" \"$@\"", "zero", "a b", "", "c'd\"e", "$HOME"});
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "[zero]\n[a b]\n[]\n[c'd\"e]\n[$HOME]\n") << result;
}

TEST_F(ProcessTest, EnvIsExactlyTheSpecsEnv) {
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "HOME=/home/somewhere",
                                  "BERTH_SPACES=a b=c", "BERTH_EMPTY="};
  SetEnv(env);
  SetArgs({"env"});
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  std::vector<std::string> seen = split_lines(result.out);
  std::sort(seen.begin(), seen.end());
  std::sort(env.begin(), env.end());
  EXPECT_EQ(seen, env) << result;
}

TEST_F(ProcessTest, CwdIsTheSpecsCwd) {
  SetCwd("/home/berth");
  SetArgs({"pwd"});
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "/home/berth\n");
}

TEST_F(ProcessTest, UserGroupAndAdditionalGroupsAreApplied) {
  SetUser(1000, 1000, {5, 100});
  SetShell("grep -E '^(Uid|Gid|Groups):' /proc/self/status; id -un");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(status_field(result.out, "Uid"), "1000\t1000\t1000\t1000") << result;
  EXPECT_EQ(status_field(result.out, "Gid"), "1000\t1000\t1000\t1000") << result;
  // The kernel ends the list with a space.
  EXPECT_EQ(status_field(result.out, "Groups"), "5 100 ") << result;
  EXPECT_EQ(split_lines(result.out).back(), "berth") << result;
}

TEST_F(ProcessTest, RootHasNoSupplementaryGroupsUnlessAsked) {
  SetUser(0, 0);
  SetArgs({"grep", "^Groups:", "/proc/self/status"});
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(status_field(result.out, "Groups"), "") << result;
}

TEST_F(ProcessTest, UmaskIsTheSpecsUmask) {
  spec["process"]["user"]["umask"] = 027;
  SetArgs({"sh", "-c", "umask"});
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "0027\n");
}

TEST_F(ProcessTest, RlimitsAreApplied) {
  SetRlimit("RLIMIT_NOFILE", 1024, 2048);
  SetRlimit("RLIMIT_CORE", 0, 4096);
  SetShell("ulimit -n; ulimit -Hn; grep -E '^Max (open files|core file size)' /proc/1/limits");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  std::vector<std::string> lines = split_lines(result.out);
  ASSERT_EQ(lines.size(), 4u) << result;
  EXPECT_EQ(lines[0], "1024");
  EXPECT_EQ(lines[1], "2048");
  EXPECT_TRUE(lines[2].find(" 0 ") != std::string::npos &&
              lines[2].find(" 4096 ") != std::string::npos)
      << lines[2];
  EXPECT_TRUE(lines[3].find(" 1024 ") != std::string::npos &&
              lines[3].find(" 2048 ") != std::string::npos)
      << lines[3];
}

TEST_F(ProcessTest, NoNewPrivilegesSetsTheFlag) {
  spec["process"]["noNewPrivileges"] = true;
  SetArgs({"grep", "^NoNewPrivs:", "/proc/1/status"});
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(status_field(result.out, "NoNewPrivs"), "1") << result;
}

TEST_F(ProcessTest, WithoutNoNewPrivilegesTheFlagIsClear) {
  spec["process"]["noNewPrivileges"] = false;
  SetArgs({"grep", "^NoNewPrivs:", "/proc/1/status"});
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(status_field(result.out, "NoNewPrivs"), "0") << result;
}

TEST_F(ProcessTest, OomScoreAdjIsApplied) {
  spec["process"]["oomScoreAdj"] = 500;
  SetArgs({"cat", "/proc/1/oom_score_adj"});
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "500\n");
}

TEST_F(ProcessTest, StdoutAndStderrStaySeparate) {
  SetShell("echo to-stdout; echo to-stderr >&2");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "to-stdout\n");
  EXPECT_NE(result.err.find("to-stderr\n"), std::string::npos) << result;
  EXPECT_EQ(result.out.find("to-stderr"), std::string::npos) << result;
}

TEST_F(ProcessTest, RunPassesStdinThrough) {
  UniqueFd input(::memfd_create("stdin", MFD_CLOEXEC));
  ASSERT_TRUE(input.valid());
  const std::string data = "line one\nline two\n";
  ASSERT_EQ(::write(input.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::lseek(input.get(), 0, SEEK_SET), 0);
  SetArgs({"cat"});
  std::string id = NewId();
  WriteSpec(id);
  ProcessResult result = Run({"run", "--bundle", bundle_, id}, {.stdin_fd = input.get()});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, data);
}

}  // namespace
}  // namespace berth::test::itest
