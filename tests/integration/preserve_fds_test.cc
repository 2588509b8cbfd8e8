// --preserve-fds N: the caller's fds 3 .. 3+N-1 reach the container's
// process (create/run, and exec), and no other fd of the caller's does.
#include "harness.h"

namespace berth::test::itest {
namespace {

class PreserveFdsTest : public ContainerTest {
 protected:
  // `run` of the spec with the memfd as fd 3 of the runtime.
  ProcessResult RunWithFd3(const std::string& id, int fd, std::vector<std::string> flags) {
    WriteSpec(id);
    std::vector<std::string> args = {"run", "--bundle", bundle_};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(id);
    return Run(args, {.extra_fd = fd});
  }
};

TEST_F(PreserveFdsTest, PreservedFdReachesTheContainersProcess) {
  UniqueFd fd3 = make_memfd("fd3");
  SetShell("echo through-fd3 >&3");
  ProcessResult ran = RunWithFd3(NewId(), fd3.get(), {"--preserve-fds", "1"});
  ASSERT_TRUE(ran.succeeded()) << ran;
  EXPECT_EQ(read_from_start(fd3.get()), "through-fd3\n");
}

TEST_F(PreserveFdsTest, WithoutTheFlagTheCallersFdIsNotPassed) {
  UniqueFd fd3 = make_memfd("fd3");
  SetShell("if echo leaked >&3; then echo open; else echo closed; fi 2>/dev/null");
  ProcessResult ran = RunWithFd3(NewId(), fd3.get(), {});
  ASSERT_TRUE(ran.succeeded()) << ran;
  EXPECT_EQ(ran.out, "closed\n");
  EXPECT_EQ(read_from_start(fd3.get()), "");
}

TEST_F(PreserveFdsTest, ExecPassesThePreservedFdToItsProcess) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  CreateAndStart(id);
  UniqueFd fd3 = make_memfd("fd3");
  ProcessResult executed = Run({"exec", "--preserve-fds", "1", id, "sh", "-c", "echo via-exec >&3"},
                               {.extra_fd = fd3.get()});
  ASSERT_TRUE(executed.succeeded()) << executed;
  EXPECT_EQ(read_from_start(fd3.get()), "via-exec\n");
  ASSERT_TRUE(Delete(id, true).succeeded());
}

TEST_F(PreserveFdsTest, AnFdThatIsNotOpenIsAClearError) {
  if (runtime_is_runc()) GTEST_SKIP() << "runc hands a closed fd on without checking";
  UniqueFd fd3 = make_memfd("fd3");
  SetArgs({"true"});
  ExpectCleanFailure(RunWithFd3(NewId(), fd3.get(), {"--preserve-fds", "2"}),
                     "--preserve-fds 2: fd 4 is not open");
}

}  // namespace
}  // namespace berth::test::itest
