// A command that cannot be run is a kind of error (core/error.h's
// ErrorKind), set where the failure happens (find_executable, execve) and
// mapped by the launcher to Docker's exit statuses by that kind alone: the
// message is for people, not for deciding 126 or 127.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "core/error.h"
#include "core/files.h"
#include "launcher/run.h"
#include "linux/process.h"

namespace berth {
namespace {

// A file of the test's own, so that no host file's mode decides the outcome.
class ExecFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(make_directories(dir_).has_value());
    ASSERT_TRUE(write_file(plain_file_, "not a program\n", 0644).has_value());
  }
  void TearDown() override { (void)remove_tree(dir_); }

  const std::string dir_ = "/tmp/berth-exec-failure-" + std::to_string(::getpid());
  const std::string plain_file_ = dir_ + "/plain";
};

TEST_F(ExecFailureTest, AMissingPathIsNotFound) {
  auto found = linux::find_executable(dir_ + "/no-such-binary", {});
  ASSERT_FALSE(found.has_value());
  EXPECT_EQ(found.error().kind(), ErrorKind::kExecNotFound) << found.error().message();
  EXPECT_EQ(launcher::exit_status_for_error(found.error()), 127);
}

TEST_F(ExecFailureTest, ANameOnNoPathEntryIsNotFound) {
  auto found = linux::find_executable("no-such-binary", {"PATH=" + dir_});
  ASSERT_FALSE(found.has_value());
  EXPECT_EQ(found.error().kind(), ErrorKind::kExecNotFound) << found.error().message();
  // The runtime's message stays runc's.
  EXPECT_EQ(found.error().message(),
            "exec: \"no-such-binary\": executable file not found in $PATH");
}

TEST_F(ExecFailureTest, AFileWithoutExecutePermissionIsPermissionDenied) {
  auto found = linux::find_executable(plain_file_, {});
  ASSERT_FALSE(found.has_value());
  EXPECT_EQ(found.error().kind(), ErrorKind::kExecPermissionDenied) << found.error().message();
  EXPECT_EQ(launcher::exit_status_for_error(found.error()), 126);
}

TEST_F(ExecFailureTest, APathThroughAFileIsPermissionDenied) {
  // stat fails with ENOTDIR: the command is there in a sense, but cannot be
  // invoked (126, as before the kinds).
  auto found = linux::find_executable(plain_file_ + "/x", {});
  ASSERT_FALSE(found.has_value());
  EXPECT_EQ(found.error().kind(), ErrorKind::kExecPermissionDenied) << found.error().message();
}

TEST_F(ExecFailureTest, ExecveFailuresCarryTheirKind) {
  spec::Process process;
  process.args = {"x"};
  Error missing = linux::exec_process(dir_ + "/no-such-binary", process);
  EXPECT_EQ(missing.errno_value(), ENOENT);
  EXPECT_EQ(missing.kind(), ErrorKind::kExecNotFound) << missing.message();
  Error denied = linux::exec_process(plain_file_, process);
  EXPECT_EQ(denied.errno_value(), EACCES);
  EXPECT_EQ(denied.kind(), ErrorKind::kExecPermissionDenied) << denied.message();
}

TEST(ExitStatusForErrorTest, MapsByKindWhateverTheMessageSays) {
  // An exec failure whose text has no `exec: "` in it still maps.
  EXPECT_EQ(launcher::exit_status_for_error(
                Error("exec /script: No such file or directory", ENOENT, ErrorKind::kExecNotFound)),
            127);
  EXPECT_EQ(launcher::exit_status_for_error(
                Error("exec /script: Permission denied", EACCES, ErrorKind::kExecPermissionDenied)),
            126);
}

TEST(ExitStatusForErrorTest, TextThatLooksLikeAnExecFailureIsNotOne) {
  EXPECT_EQ(
      launcher::exit_status_for_error(Error("Unable to find image 'exec: \"x' locally", ENOENT)),
      125);
  EXPECT_EQ(launcher::exit_status_for_error(Error("volume exec: \"x\": bad", EINVAL)), 125);
}

TEST(ExitStatusForErrorTest, KindSurvivesAddedContext) {
  Error error("exec: \"sh\": executable file not found in $PATH", ENOENT, ErrorKind::kExecNotFound);
  error.add_context("create container c1");
  EXPECT_EQ(error.kind(), ErrorKind::kExecNotFound);
  EXPECT_EQ(launcher::exit_status_for_error(error), 127);
}

}  // namespace
}  // namespace berth
