// tests/support itself: run_process's options, TempDir, and that the leak
// check every fixture calls does fail a test on each kind of leftover (and
// on nothing else). The tests that mount or make namespaces need root.
#include <fcntl.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "support/files.h"
#include "support/leak_check.h"
#include "support/mounts.h"
#include "support/network.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/terminal.h"

namespace berth::test {
namespace {

bool root() { return ::geteuid() == 0; }

TEST(RunProcessTest, EnvIsOursWithTheOverridesApplied) {
  ProcessResult env =
      run_process({"/usr/bin/env"}, {.env = {"BERTH_SUPPORT_ADDED=1", "HOME=/replaced"}});
  ASSERT_TRUE(env.succeeded()) << env;
  std::vector<std::string> lines = split_lines(env.out);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "BERTH_SUPPORT_ADDED=1"), 1) << env.out;
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& line) { return line.rfind("HOME=", 0) == 0; }),
            1)
      << env.out;
  EXPECT_NE(env.out.find("HOME=/replaced\n"), std::string::npos) << env.out;
}

TEST(RunProcessTest, ATimeoutKillsTheProcess) {
  ProcessResult slept = run_process({"/bin/sleep", "10"}, {.timeout = 100ms});
  EXPECT_TRUE(slept.timed_out);
  EXPECT_EQ(slept.signal, SIGKILL);
  EXPECT_FALSE(slept.exited());
  EXPECT_EQ(slept.command, "/bin/sleep 10");
}

TEST(RunProcessTest, StdinCwdExtraFdAndOutputs) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  ASSERT_EQ(::write(write_end.get(), "from-fd-3", 9), 9);
  write_end.reset();
  UniqueFd err = make_memfd("err");
  ProcessResult result =
      run_process({"/bin/sh", "-c", "pwd; cat <&3; echo oops >&2; exit 3"},
                  {.cwd = "/proc", .stderr_fd = err.get(), .extra_fd = read_end.get()});
  EXPECT_EQ(result.exit_code, 3) << result;
  EXPECT_EQ(result.out, "/proc\nfrom-fd-3");
  EXPECT_EQ(result.err, "oops\n");
  EXPECT_EQ(read_from_start(err.get()), "oops\n");
}

// As popen(3) runs "COMMAND 2>&1": the last command's stderr.
TEST(RunProcessTest, RunShellHasTheCommandsStderrInItsOutput) {
  ProcessResult result = run_shell("echo out; cat /berth-no-such-file");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "out\ncat: /berth-no-such-file: No such file or directory\n");
}

TEST(BackgroundProcessTest, OnATerminalItIsTheControllingTerminalAndStdio) {
  Pty pty = open_pty(24, 81);
  BackgroundProcess shell =
      BackgroundProcess::start({"/bin/sh", "-c", "tty; stty size; exit 5"}, {}, pty.slave.get());
  pty.slave.reset();
  std::string shown;
  // Until the shell is gone and the master reads EIO.
  read_terminal_until(pty.master.get(), shown, "\x01never", 0, 5s);
  ProcessResult result = shell.wait(5s);
  EXPECT_EQ(result.exit_code, 5) << result;
  EXPECT_NE(shown.find("/dev/pts/"), std::string::npos) << shown;
  EXPECT_NE(shown.find("24 81\r\n"), std::string::npos) << shown;
}

TEST(BackgroundProcessTest, TheDestructorKillsWhatRuns) {
  pid_t pid;
  {
    BackgroundProcess sleeper = BackgroundProcess::start({"/bin/sleep", "30"});
    pid = sleeper.pid();
    ASSERT_TRUE(process_alive(pid));
  }
  EXPECT_FALSE(process_alive(pid));
}

// A forked "test" starts a sleep and dies without running a destructor; the
// sleep dies with it only when asked to.
pid_t sleeper_of_a_dead_parent(bool die_with_parent) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  pid_t parent = ::fork();
  if (parent == 0) {
    BackgroundProcess sleeper =
        BackgroundProcess::start({"/bin/sleep", "30"}, {.die_with_parent = die_with_parent});
    pid_t pid = sleeper.pid();
    ::_exit(::write(write_end.get(), &pid, sizeof pid) == sizeof pid ? 0 : 1);
  }
  write_end.reset();
  pid_t sleeper = -1;
  if (parent < 0 || ::read(read_end.get(), &sleeper, sizeof sleeper) != sizeof sleeper) return -1;
  ::waitpid(parent, nullptr, 0);
  return sleeper;
}

TEST(BackgroundProcessTest, DieWithParentKillsItWhenTheParentDies) {
  pid_t orphan = sleeper_of_a_dead_parent(true);
  ASSERT_GT(orphan, 0);
  EXPECT_TRUE(eventually([&] { return !process_alive(orphan); }, 5s));

  pid_t survivor = sleeper_of_a_dead_parent(false);
  ASSERT_GT(survivor, 0);
  EXPECT_FALSE(eventually([&] { return !process_alive(survivor); }, 200ms));
  ::kill(survivor, SIGKILL);
}

TEST(TempDirTest, IsUniqueAndPrivateAndGoesWithItsContents) {
  std::string kept;
  {
    TempDir a("berth-support-test"), b("berth-support-test");
    EXPECT_NE(a.path(), b.path());
    EXPECT_EQ(a.path().rfind("/tmp/berth-support-test-", 0), 0u) << a.path();
    struct stat st = {};
    ASSERT_EQ(::stat(a.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    make_dirs(a / "deep/er");
    write_file(a / "deep/er/file", "x");
    kept = a.path();
    TempDir moved = std::move(a);
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(moved.path(), kept);
  }
  EXPECT_FALSE(path_exists(kept));
}

TEST(TempDirTest, NeverRemovesThroughAMount) {
  if (!root()) GTEST_SKIP() << "a bind mount needs root";
  TempDir outside("berth-support-outside");
  write_file(outside / "precious", "keep me");
  TempDir dir("berth-support-test");
  make_dirs(dir / "mnt");
  ASSERT_EQ(::mount(outside.path().c_str(), (dir / "mnt").c_str(), nullptr, MS_BIND, nullptr), 0);
  EXPECT_FALSE(dir.remove());
  EXPECT_EQ(read_file(outside / "precious"), "keep me");
  EXPECT_TRUE(path_exists(dir.path()));
  unmount_all(mounts_under(dir.path()));
  EXPECT_TRUE(dir.remove());
  EXPECT_EQ(read_file(outside / "precious"), "keep me");
}

// The failures the check adds, intercepted (they do not fail this test),
// and what it returned.
struct Checked {
  std::vector<std::string> failures;
  std::vector<std::string> found;
};
Checked run_check(LeakCheck& check) {
  Checked checked;
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter intercept(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    checked.found = check.expect_nothing_left();
  }
  // (ADD_FAILURE's message starts with "Failed\n".)
  for (int i = 0; i < results.size(); ++i) {
    std::string message = results.GetTestPartResult(i).message();
    if (message.rfind("Failed\n", 0) == 0) message.erase(0, 7);
    checked.failures.push_back(message);
  }
  return checked;
}

TEST(LeakCheckTest, NothingLeftIsNoFailure) {
  TempDir dir("berth-support-test");
  make_dirs(dir / "listed/already-there");
  LeakCheck check({.mount_prefixes = {dir.path()}, .listed_dirs = {dir / "listed"}});
  check.watch_path(dir / "never-made");
  check.watch_cgroup(dir / "no-cgroup");
  Checked checked = run_check(check);
  EXPECT_TRUE(checked.failures.empty()) << testing::PrintToString(checked.failures);
  EXPECT_TRUE(checked.found.empty());
}

TEST(LeakCheckTest, FailsOnANewEntryOfAListedDirOnly) {
  TempDir dir("berth-support-test");
  make_dirs(dir / "listed/already-there");
  LeakCheck check({.listed_dirs = {dir / "listed"}});
  make_dirs(dir / "listed/new");
  Checked checked = run_check(check);
  EXPECT_EQ(checked.failures, std::vector<std::string>{"left behind: " + (dir / "listed/new")});
  EXPECT_EQ(checked.found, checked.failures);
}

TEST(LeakCheckTest, FailsOnAWatchedPathAndRemovesAWatchedCgroup) {
  TempDir dir("berth-support-test");
  LeakCheck check(LeakScope{});
  check.watch_path(dir / "state", "state dir");
  check.watch_cgroup(dir / "cgroup");
  make_dirs(dir / "state");
  make_dirs(dir / "cgroup/child");
  Checked checked = run_check(check);
  ASSERT_EQ(checked.failures.size(), 2u) << testing::PrintToString(checked.failures);
  EXPECT_EQ(checked.failures[0], "state dir left behind: " + (dir / "state"));
  EXPECT_EQ(checked.failures[1].rfind("cgroup left behind: " + (dir / "cgroup"), 0), 0u)
      << checked.failures[1];
  EXPECT_FALSE(path_exists(dir / "cgroup")) << "removed, children first";
}

TEST(LeakCheckTest, FailsOnMountsLeftAndDetachesThem) {
  if (!root()) GTEST_SKIP() << "mounting needs root";
  TempDir dir("berth-support-test");
  LeakCheck check({.mount_prefixes = {dir.path()}});
  make_dirs(dir / "a");
  ASSERT_EQ(::mount("tmpfs", (dir / "a").c_str(), "tmpfs", 0, "size=64k"), 0);
  make_dirs(dir / "a/b");
  ASSERT_EQ(::mount("tmpfs", (dir / "a/b").c_str(), "tmpfs", 0, "size=64k"), 0);
  Checked checked = run_check(check);
  EXPECT_EQ(checked.failures,
            std::vector<std::string>{"mounts left behind in the host's mount namespace:\n  " +
                                     (dir / "a") + "\n  " + (dir / "a/b")});
  EXPECT_TRUE(mounts_under(dir.path()).empty());
}

TEST(LeakCheckTest, FailsOnAWatchedProcessThatRuns) {
  BackgroundProcess sleeper = BackgroundProcess::start({"/bin/sleep", "30"});
  LeakCheck check(LeakScope{});
  check.watch_process(open_pidfd(sleeper.pid()), "the sleeper outlived the test");
  Checked checked = run_check(check);
  EXPECT_EQ(checked.failures, std::vector<std::string>{"the sleeper outlived the test"});
}

// A network namespace of its own, made on another thread so the test's
// stays where it is.
UniqueFd new_netns() {
  UniqueFd netns;
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) == 0)
      netns.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  }).join();
  return netns;
}

TEST(LeakCheckTest, FailsOnANewVethTableAndLeaseOfANetns) {
  if (!root()) GTEST_SKIP() << "a network namespace needs root";
  UniqueFd netns = new_netns();
  ASSERT_TRUE(netns.valid());
  ProcessResult made = run_process(
      {"/usr/sbin/ip", "link", "add", "other0", "type", "veth", "peer", "name", "vb-before"},
      {.netns_fd = netns.get()});
  ASSERT_TRUE(made.succeeded()) << made;
  LeakCheck check(
      {.netns = NetnsScope{.fd = netns.get(), .link_prefix = "vb-", .nft_tables = true}});
  made = run_process(
      {"/usr/sbin/ip", "link", "add", "vb-leak0", "type", "veth", "peer", "name", "leak1"},
      {.netns_fd = netns.get()});
  ASSERT_TRUE(made.succeeded()) << made;
  made =
      run_process({"/usr/sbin/nft", "add", "table", "ip", "berthleak"}, {.netns_fd = netns.get()});
  ASSERT_TRUE(made.succeeded()) << made;
  std::string lease_path = lease_file(netns.get());
  std::string lease_dir = lease_path.substr(0, lease_path.rfind('/'));
  make_dirs(lease_dir);
  write_file(lease_path, R"({"leases": [{"address": "10.87.0.2", "container_id": "c1"}]})");

  // (The veth after waiting 5 s for the kernel to remove it; the peer
  // leak1 is not berth's.)
  Checked checked = run_check(check);
  EXPECT_EQ(checked.failures,
            (std::vector<std::string>{"link left behind: vb-leak0",
                                      "address lease left behind in " + lease_path +
                                          R"(: {"address":"10.87.0.2","container_id":"c1"})",
                                      "nftables table left behind: ip berthleak"}));
  ::unlink(lease_path.c_str());
  remove_empty_lease_dir(netns.get());
  EXPECT_FALSE(path_exists(lease_dir));
}

}  // namespace
}  // namespace berth::test
