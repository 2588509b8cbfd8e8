// berth run: the command as PID 1, Docker's flags for the process (env,
// working dir, user, entrypoint, hostname, name) and Docker's exit codes.
#include <unistd.h>

#include "harness.h"

namespace berth::test::ltest {
namespace {

using RunTest = LauncherTest;

// busybox:docker: Env IMAGE_VAR=from-image, Entrypoint echo entrypoint-says,
// Cmd cmd-default (see make_images.py).
class ImageConfigTest : public LauncherTest {
 protected:
  void SetUp() override {
    LauncherTest::SetUp();
    if (HasFatalFailure()) return;
    Import({busybox_images().docker_save});
  }
};

TEST_F(RunTest, CommandRunsAsPidOneWithoutAShellWrapper) {
  ProcessResult result = RunRm({"busybox:test", "cat", "/proc/1/cmdline"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, std::string("cat\0/proc/1/cmdline\0", 20)) << result;
}

TEST_F(RunTest, ContainerOutputAndStderrReachTheCaller) {
  ProcessResult result = RunRm({"busybox:test", "sh", "-c", "echo to-out; echo to-err >&2"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "to-out\n") << result;
  EXPECT_NE(result.err.find("to-err\n"), std::string::npos) << result;
}

// --- environment --------------------------------------------------------------

bool has_line(const std::string& text, const std::string& line) {
  std::vector<std::string> lines = split_lines(text);
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

TEST_F(ImageConfigTest, EnvFlagSetsAVariableAndTheImageEnvIsKept) {
  ProcessResult result =
      RunRm({"-e", "FROM_FLAG=flag-value", "--entrypoint", "env", "busybox:docker"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_TRUE(has_line(result.out, "FROM_FLAG=flag-value")) << result;
  EXPECT_TRUE(has_line(result.out, "IMAGE_VAR=from-image")) << result;
  EXPECT_TRUE(
      has_line(result.out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
      << result;
}

TEST_F(RunTest, EnvFlagWithoutAValueTakesOursFromTheEnvironment) {
  ProcessResult result =
      RunRm({"-e", "FROM_CALLER", "busybox:test", "env"}, {.env = {"FROM_CALLER=caller-value"}});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_TRUE(has_line(result.out, "FROM_CALLER=caller-value")) << result;
}

TEST_F(ImageConfigTest, EnvFileSetsVariablesAndTheImageEnvIsKept) {
  write_file(dir_ + "/env.list",
             "# a comment\n\nFROM_FILE=file-value\nSPACED=a b  c\nFROM_CALLER\n");
  ProcessResult result =
      RunRm({"--env-file", dir_ + "/env.list", "--entrypoint", "env", "busybox:docker"},
            {.env = {"FROM_CALLER=caller-value"}});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_TRUE(has_line(result.out, "FROM_FILE=file-value")) << result;
  EXPECT_TRUE(has_line(result.out, "SPACED=a b  c")) << result;
  EXPECT_TRUE(has_line(result.out, "FROM_CALLER=caller-value")) << result;
  EXPECT_TRUE(has_line(result.out, "IMAGE_VAR=from-image")) << result;
  EXPECT_EQ(result.out.find("comment"), std::string::npos) << result;
}

TEST_F(RunTest, EnvFlagWinsOverTheEnvFile) {
  write_file(dir_ + "/env.list", "WHO=from-file\n");
  ProcessResult result =
      RunRm({"--env-file", dir_ + "/env.list", "-e", "WHO=from-flag", "busybox:test", "env"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_TRUE(has_line(result.out, "WHO=from-flag")) << result;
  EXPECT_FALSE(has_line(result.out, "WHO=from-file")) << result;
}

// Docker's -e, -v, --tmpfs (and --env-file, --cap-add, ...) may each be
// given many times.
TEST_F(RunTest, RepeatedEnvVolumeAndTmpfsFlagsAreAllApplied) {
  ProcessResult env = RunRm({"-e", "A=1", "-e", "B=2", "busybox:test", "env"});
  EXPECT_TRUE(env.succeeded()) << env;
  EXPECT_TRUE(has_line(env.out, "A=1") && has_line(env.out, "B=2")) << env;

  ProcessResult volumes = RunRm({"-v", dir_ + "/a:/a", "-v", dir_ + "/b:/b", "busybox:test", "sh",
                                 "-c", "touch /a/in-a /b/in-b"});
  EXPECT_TRUE(volumes.succeeded()) << volumes;
  EXPECT_TRUE(path_exists(dir_ + "/a/in-a") && path_exists(dir_ + "/b/in-b")) << volumes;

  ProcessResult tmpfs = RunRm({"--tmpfs", "/x", "--tmpfs", "/y", "busybox:test", "sh", "-c",
                               "grep -c -E ' /(x|y) tmpfs ' /proc/mounts"});
  EXPECT_TRUE(tmpfs.succeeded()) << tmpfs;
  EXPECT_EQ(tmpfs.out, "2\n") << tmpfs;
}

TEST_F(ImageConfigTest, EnvFlagOverridesTheImageEnv) {
  ProcessResult result =
      RunRm({"-e", "IMAGE_VAR=from-flag", "--entrypoint", "env", "busybox:docker"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_NE(result.out.find("IMAGE_VAR=from-flag\n"), std::string::npos) << result;
  EXPECT_EQ(result.out.find("IMAGE_VAR=from-image"), std::string::npos) << result;
}

TEST_F(RunTest, EnvFlagOfAVariableWeDoNotHaveSetsNothing) {
  ProcessResult result = RunRm({"-e", "BERTH_TEST_SURELY_UNSET", "busybox:test", "env"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out.find("BERTH_TEST_SURELY_UNSET"), std::string::npos) << result;
}

// --- entrypoint -----------------------------------------------------------------

TEST_F(ImageConfigTest, ImageEntrypointGetsTheImageCmd) {
  ProcessResult result = RunRm({"busybox:docker"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "entrypoint-says cmd-default\n") << result;
}

TEST_F(ImageConfigTest, CommandArgumentsReplaceTheImageCmd) {
  ProcessResult result = RunRm({"busybox:docker", "from", "args"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "entrypoint-says from args\n") << result;
}

TEST_F(ImageConfigTest, EntrypointFlagReplacesTheImageEntrypointAndDropsItsCmd) {
  ProcessResult alone = RunRm({"--entrypoint", "echo", "busybox:docker"});
  ASSERT_TRUE(alone.succeeded()) << alone;
  EXPECT_EQ(alone.out, "\n") << "the image's Cmd must be dropped; " << alone;

  ProcessResult with_args = RunRm({"--entrypoint", "echo", "busybox:docker", "given"});
  ASSERT_TRUE(with_args.succeeded()) << with_args;
  EXPECT_EQ(with_args.out, "given\n") << with_args;

  ProcessResult pid1 = RunRm({"--entrypoint", "cat", "busybox:docker", "/proc/1/cmdline"});
  ASSERT_TRUE(pid1.succeeded()) << pid1;
  EXPECT_EQ(pid1.out, std::string("cat\0/proc/1/cmdline\0", 20)) << pid1;
}

// --- working directory, hostname ---------------------------------------------------

TEST_F(RunTest, WorkdirFlagSetsTheCwdAndIsCreatedIfMissing) {
  ProcessResult result = RunRm({"-w", "/new/work/dir", "busybox:test", "sh", "-c", "pwd; ls -d ."});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "/new/work/dir\n.\n") << result;
}

TEST_F(RunTest, DefaultWorkdirIsRoot) {
  ProcessResult result = RunRm({"busybox:test", "pwd"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "/\n") << result;
}

TEST_F(RunTest, HostnameFlagSetsTheHostname) {
  ProcessResult result = RunRm({"--hostname", "berth-box", "busybox:test", "sh", "-c",
                                "hostname; cat /proc/sys/kernel/hostname; echo $HOSTNAME"});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "berth-box\nberth-box\nberth-box\n") << result;
}

TEST_F(RunTest, DefaultHostnameIsTheShortId) {
  std::string id = RunDetached({"busybox:test", "sh", "-c", "hostname; sleep 30"});
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(WaitForLog(id, "\n")) << Berth({"logs", id});
  EXPECT_EQ(Berth({"logs", id}).out, id.substr(0, 12) + "\n");
}

// --- user -----------------------------------------------------------------------------

// "uid gid CapEff" as the container sees them.
std::string IdentityScript() {
  return "echo $(id -u) $(id -g) $(grep CapEff /proc/self/status | cut -f2)";
}

TEST_F(RunTest, RootHasDockersDefaultCapabilities) {
  ProcessResult result = RunRm({"busybox:test", "sh", "-c", IdentityScript()});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "0 0 00000000a80425fb\n") << result;
}

TEST_F(RunTest, UserByUidTakesItsGroupFromTheImagePasswdAndHasNoCapabilities) {
  ProcessResult result = RunRm({"-u", "1000", "busybox:test", "sh", "-c", IdentityScript()});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "1000 1000 0000000000000000\n") << result;
}

TEST_F(RunTest, UserByNameIsLookedUpInTheImagePasswd) {
  ProcessResult result = RunRm({"-u", "app", "busybox:test", "sh", "-c", IdentityScript()});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "1000 1000 0000000000000000\n") << result;
}

TEST_F(RunTest, UserAndGroupByName) {
  ProcessResult result = RunRm({"-u", "app:app", "busybox:test", "sh", "-c", IdentityScript()});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "1000 1000 0000000000000000\n") << result;
}

TEST_F(RunTest, NumericUidAndGidNotInTheImageAreUsedAsGiven) {
  ProcessResult result = RunRm({"-u", "1234:5678", "busybox:test", "sh", "-c", IdentityScript()});
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "1234 5678 0000000000000000\n") << result;
}

TEST_F(RunTest, UnknownUserNameIsRefused) {
  ProcessResult result = RunRm({"-u", "no-such-user", "busybox:test", "true"});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_NE(result.err.find("no-such-user"), std::string::npos) << result;
}

// --- names ------------------------------------------------------------------------------

TEST_F(RunTest, NameFlagNamesTheContainerAndADuplicateNameIsRefused) {
  std::string id = RunDetached({"--name", "web", "busybox:test", "sleep", "30"});
  ASSERT_FALSE(id.empty());
  json inspected = Inspect("web");
  EXPECT_EQ(inspected.value("Id", ""), id) << inspected.dump(2);
  EXPECT_EQ(inspected.value("Name", ""), "/web");
  ProcessResult ps = Berth({"ps"});
  EXPECT_NE(ps.out.find("web"), std::string::npos) << ps;

  ProcessResult duplicate = Berth({"run", "-d", "--name", "web", "busybox:test", "sleep", "30"});
  EXPECT_EQ(duplicate.exit_code, 125) << duplicate;
  EXPECT_NE(duplicate.err.find("\"web\" is already in use"), std::string::npos) << duplicate;
  EXPECT_EQ(list_dir(root_ + "/containers").size(), 1u)
      << "the refused run left a container behind";
}

TEST_F(RunTest, NameOfAStoppedContainerIsStillTaken) {
  ProcessResult first = Berth({"run", "--name", "job", "busybox:test", "true"});
  ASSERT_TRUE(first.succeeded()) << first;
  ProcessResult second = Berth({"run", "--name", "job", "busybox:test", "true"});
  EXPECT_EQ(second.exit_code, 125) << second;
  ASSERT_TRUE(Berth({"rm", "job"}).succeeded());
  ProcessResult third = Berth({"run", "--rm", "--name", "job", "busybox:test", "true"});
  EXPECT_TRUE(third.succeeded()) << "the name is free after rm; " << third;
}

TEST_F(RunTest, InvalidNameIsRefused) {
  ProcessResult result = RunRm({"--name", "bad/name", "busybox:test", "true"});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_NE(result.err.find("invalid container name"), std::string::npos) << result;
}

// --- exit codes ---------------------------------------------------------------------------

TEST_F(RunTest, ContainerExitStatusIsBerthsExitStatus) {
  ProcessResult result = RunRm({"busybox:test", "sh", "-c", "exit 3"});
  EXPECT_EQ(result.exit_code, 3) << result;
}

TEST_F(RunTest, ContainerKilledBySignalGives128PlusTheSignal) {
  // sh is not PID 1 under --init, so it can die of its own SIGUSR1.
  ProcessResult result = RunRm({"--init", "busybox:test", "sh", "-c", "kill -USR1 $$; sleep 5"});
  EXPECT_EQ(result.exit_code, 128 + SIGUSR1) << result;
}

TEST_F(RunTest, ForegroundRunKilledWithBerthKillExits137) {
  BackgroundProcess run = StartBerth({"run", "--name", "victim", "busybox:test", "sleep", "30"});
  ASSERT_TRUE(WaitForStatus("victim", "running")) << run.err();
  ProcessResult kill = Berth({"kill", "victim"});
  EXPECT_TRUE(kill.succeeded()) << kill;
  ProcessResult result = run.wait(20s);
  EXPECT_EQ(result.exit_code, 137) << result;
  json inspected = Inspect("victim");
  EXPECT_EQ(inspected["State"]["ExitCode"], 137) << inspected.dump(2);
}

TEST_F(RunTest, MissingCommandExits127) {
  ProcessResult result = RunRm({"busybox:test", "/no/such/command"});
  EXPECT_EQ(result.exit_code, 127) << result;
  EXPECT_NE(result.err.find("/no/such/command"), std::string::npos) << result;
}

TEST_F(RunTest, CommandNotOnPathExits127) {
  ProcessResult result = RunRm({"busybox:test", "no-such-command"});
  EXPECT_EQ(result.exit_code, 127) << result;
}

TEST_F(RunTest, NonExecutableFileAsCommandExits126) {
  ProcessResult result = RunRm({"busybox:test", "/etc/passwd"});
  EXPECT_EQ(result.exit_code, 126) << result;
  EXPECT_NE(result.err.find("/etc/passwd"), std::string::npos) << result;
}

TEST_F(RunTest, NoSuchImageExits125) {
  ProcessResult result = RunRm({"no-such-image:latest", "true"});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_NE(result.err.find("no-such-image"), std::string::npos) << result;
}

TEST_F(RunTest, UnknownFlagExits125) {
  ProcessResult result = Berth({"run", "--no-such-flag", "busybox:test", "true"});
  EXPECT_EQ(result.exit_code, 125) << result;
  ProcessResult command = Berth({"no-such-command"});
  EXPECT_EQ(command.exit_code, 125) << command;
}

TEST_F(RunTest, FailedRunLeavesNoContainerBehind) {
  ProcessResult result = Berth({"run", "busybox:test", "/no/such/command"});
  EXPECT_EQ(result.exit_code, 127) << result;
  EXPECT_TRUE(list_dir(root_ + "/containers").empty())
      << testing::PrintToString(list_dir(root_ + "/containers"));
}

// On this hybrid host the memory controller is bound to cgroup v1, so the
// runtime refuses --memory (the limit itself is proven in tests/vm).
TEST_F(RunTest, MemoryLimitTheHostCannotApplyExits125SayingWhy) {
  std::string controllers;
  for (const char* mount : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"})
    if (path_exists(std::string(mount) + "/cgroup.controllers")) {
      controllers = read_file(std::string(mount) + "/cgroup.controllers");
      break;
    }
  if (controllers.find("memory") != std::string::npos)
    GTEST_SKIP() << "this host's cgroup v2 hierarchy has the memory controller";
  ProcessResult result = RunRm({"--memory", "64m", "busybox:test", "true"});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_NE(result.err.find("linux.resources.memory"), std::string::npos) << result;
  EXPECT_NE(result.err.find("cgroup v1"), std::string::npos) << result;
  EXPECT_TRUE(list_dir(root_ + "/containers").empty())
      << testing::PrintToString(list_dir(root_ + "/containers"));
}

}  // namespace
}  // namespace berth::test::ltest
