// Docker's exit statuses for a command berth cannot run: 127 when it is not
// found, 126 when it cannot be invoked, 125 for any other failure of
// berth's own. The launcher picks them by the error's kind, which travels
// from where the exec failed (the container's init or exec'ed process, over
// the sync socket; the detached monitor, over its start report), never by
// the words of the message.
#include "harness.h"

namespace berth::test::ltest {
namespace {

using ExitStatusTest = LauncherTest;

// The text once searched for (`exec: "`) in an error that is no exec
// failure: the image reference is just an invalid name, quoted back.
TEST_F(ExitStatusTest, AFailureWhoseMessageQuotesExecIsNotAnExecFailure) {
  ProcessResult result = Berth({"run", "--rm", "exec: \"sh", "true"});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_NE(result.err.find("invalid reference format: \"exec: \"sh\""), std::string::npos) << result;
}

// execve's own failure, after the file was found: a script whose
// interpreter is missing (ENOENT) or may not be executed (EACCES). The
// messages say `exec /script: ...`, not `exec: "..."`.
TEST_F(ExitStatusTest, ExecOfAScriptWhoseInterpreterIsMissingExits127) {
  std::string id = RunDetached({"busybox:test", "sleep", "60"});
  ASSERT_FALSE(id.empty());
  ProcessResult made = Berth({"exec", id, "sh", "-c",
                              "printf '#!/no/such/interpreter\\n' > /missing-interpreter && "
                              "printf '#!/etc/passwd\\n' > /denied-interpreter && "
                              "chmod 755 /missing-interpreter /denied-interpreter"});
  ASSERT_TRUE(made.succeeded()) << made;

  ProcessResult missing = Berth({"exec", id, "/missing-interpreter"});
  EXPECT_EQ(missing.exit_code, 127) << missing;
  EXPECT_NE(missing.err.find("/missing-interpreter"), std::string::npos) << missing;
  ProcessResult denied = Berth({"exec", id, "/denied-interpreter"});
  EXPECT_EQ(denied.exit_code, 126) << denied;
  EXPECT_NE(denied.err.find("/denied-interpreter"), std::string::npos) << denied;
}

// The detached monitor reports its start to `berth run -d` through a
// pipe: the kind crosses it too.
TEST_F(ExitStatusTest, DetachedRunOfACommandThatCannotRunExitsAsInTheForeground) {
  ProcessResult missing = Berth({"run", "-d", "busybox:test", "/no/such/command"});
  EXPECT_EQ(missing.exit_code, 127) << missing;
  ProcessResult denied = Berth({"run", "-d", "busybox:test", "/etc/passwd"});
  EXPECT_EQ(denied.exit_code, 126) << denied;
}

TEST_F(ExitStatusTest, ExecOfAMissingOrNonExecutableCommandExits127Or126) {
  std::string id = RunDetached({"busybox:test", "sleep", "60"});
  ASSERT_FALSE(id.empty());
  ProcessResult missing = Berth({"exec", id, "no-such-command"});
  EXPECT_EQ(missing.exit_code, 127) << missing;
  EXPECT_NE(missing.err.find("executable file not found"), std::string::npos) << missing;
  ProcessResult denied = Berth({"exec", id, "/etc/passwd"});
  EXPECT_EQ(denied.exit_code, 126) << denied;
}

}  // namespace
}  // namespace berth::test::ltest
