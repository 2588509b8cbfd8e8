// OCI hooks: when each kind runs, in which namespaces, with which state on
// stdin; and what a failing or hanging hook does to create.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "harness.h"

namespace berth::test::itest {
namespace {

// Every hook runs one script that appends a line to a log:
//   <hook kind> <mount namespace it runs in> <state JSON from stdin>
// Where a hook's path resolves (host or container mount namespace) differs
// between kinds, and between runc (createContainer before pivot_root) and
// runtimes that run it after; so the script and the log exist at the same
// path in both: the script copied into the rootfs, the log directory
// bind-mounted at its own host path.
class HooksTest : public ContainerTest {
 protected:
  void SetUp() override {
    ContainerTest::SetUp();
    if (HasFatalFailure()) return;
    log_dir_ = dir_ + "/hooklog";
    script_ = dir_ + "/hook.sh";
    const std::string script =
        "#!/bin/sh\n"
        "state=$(cat | tr -d '\\n')\n"
        "echo \"$1 $(readlink /proc/self/ns/mnt) $state\" >> " +
        log_dir_ + "/hooks.log\n";
    ::mkdir(log_dir_.c_str(), 0777);
    write_file(script_, script, 0755);
    ASSERT_EQ(run_process({"/bin/mkdir", "-p", rootfs_ + dir_}).exit_code, 0);
    write_file(rootfs_ + script_, script, 0755);
    AddBindMount(log_dir_, log_dir_, /*readonly=*/false);
  }

  void AddLoggingHook(const std::string& kind) { AddHook(kind, script_, {"hook.sh", kind}); }

  struct HookRun {
    std::string kind;
    std::string mount_namespace;
    json state;
  };
  std::vector<HookRun> LoggedHooks() {
    std::vector<HookRun> runs;
    for (const std::string& line : split_lines(read_file(log_dir_ + "/hooks.log"))) {
      size_t first = line.find(' ');
      size_t second = line.find(' ', first + 1);
      runs.push_back({line.substr(0, first), line.substr(first + 1, second - first - 1),
                      json::parse(line.substr(second + 1), nullptr, false)});
    }
    return runs;
  }

  std::string log_dir_;
  std::string script_;
};

std::string MountNamespaceOf(const std::string& pid) {
  char target[64] = {};
  ssize_t n = ::readlink(("/proc/" + pid + "/ns/mnt").c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, n) : "<no mount namespace for " + pid + ">";
}

TEST_F(HooksTest, EveryKindRunsOnceInOrderWithItsState) {
  // The spec's order: prestart, createRuntime and createContainer during
  // create; startContainer (before the user's process runs) and poststart
  // (after) during start; poststop during delete. runc 1.1 runs poststart
  // at the end of create instead, before init is even released.
  std::vector<std::string> kinds = {"prestart",       "createRuntime", "createContainer",
                                    "startContainer", "poststart",     "poststop"};
  size_t after_create = 3;
  if (runtime_is_runc()) {
    kinds = {"prestart",  "createRuntime",  "createContainer",
             "poststart", "startContainer", "poststop"};
    after_create = 4;
  }
  for (const std::string& kind : kinds) AddLoggingHook(kind);
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  pid_t pid = InitPid(id);
  std::string host_namespace = MountNamespaceOf("self");
  std::string container_namespace = MountNamespaceOf(std::to_string(pid));
  EXPECT_EQ(LoggedHooks().size(), after_create)
      << "after create: " << read_file(log_dir_ + "/hooks.log");
  ProcessResult started = Start(id);
  ASSERT_TRUE(started.succeeded()) << started;
  EXPECT_EQ(LoggedHooks().size(), 5u) << "after start: " << read_file(log_dir_ + "/hooks.log");
  ProcessResult deleted = Delete(id, /*force=*/true);
  ASSERT_TRUE(deleted.succeeded()) << deleted;

  std::vector<HookRun> runs = LoggedHooks();
  std::string log = read_file(log_dir_ + "/hooks.log");
  ASSERT_EQ(runs.size(), kinds.size()) << log;

  struct Expected {
    std::string mount_namespace;
    std::string status;
  };
  // runc 1.1 passes "created" to poststart, which it runs before start.
  const std::string poststart_status = runtime_is_runc() ? "created" : "running";
  const std::map<std::string, Expected> expected = {
      {"prestart", {host_namespace, "creating"}},
      {"createRuntime", {host_namespace, "creating"}},
      {"createContainer", {container_namespace, "creating"}},
      {"startContainer", {container_namespace, "created"}},
      {"poststart", {host_namespace, poststart_status}},
      {"poststop", {host_namespace, "stopped"}}};
  for (size_t i = 0; i < kinds.size(); ++i) {
    SCOPED_TRACE(kinds[i]);
    const Expected& want = expected.at(kinds[i]);
    EXPECT_EQ(runs[i].kind, kinds[i]) << log;
    EXPECT_EQ(runs[i].mount_namespace, want.mount_namespace) << log;
    EXPECT_EQ(runs[i].state.value("status", ""), want.status) << log;
    EXPECT_EQ(runs[i].state.value("id", ""), id) << log;
    EXPECT_EQ(runs[i].state.value("bundle", ""), bundle_) << log;
    int seen_pid = runs[i].state.value("pid", 0);
    if (kinds[i] == "poststop") continue;
    // runc 1.1 gives the container-side hooks the pid as init sees itself.
    bool inside = kinds[i] == "createContainer" || kinds[i] == "startContainer";
    if (runtime_is_runc() && inside) {
      EXPECT_EQ(seen_pid, 1) << log;
    } else {
      EXPECT_EQ(seen_pid, pid) << log;
    }
  }
}

TEST_F(HooksTest, HookGetsExactlyItsArgsAndEnv) {
  std::string out = log_dir_ + "/env";
  AddHook("createRuntime", "/bin/sh",
          {"sh", "-c", "env > " + out + "; echo \"$@\" >> " + out, "argv0", "one", "two three"},
          {"HOOK_VAR=some value", "PATH=/usr/bin:/bin"});
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  std::vector<std::string> lines = split_lines(read_file(out));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "one two three");
  lines.pop_back();
  std::sort(lines.begin(), lines.end());
  // dash exports PWD on its own.
  lines.erase(std::remove_if(lines.begin(), lines.end(),
                             [](const std::string& l) { return l.rfind("PWD=", 0) == 0; }),
              lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"HOOK_VAR=some value", "PATH=/usr/bin:/bin"}));
}

TEST_F(HooksTest, FailingPrestartHookFailsCreateAndLeavesNothing) {
  AddHook("prestart", "/bin/sh", {"sh", "-c", "echo hook says no >&2; exit 3"});
  AddLoggingHook("poststop");
  std::string id = NewId();
  ProcessResult created = Create(id);
  // runc 1.1 says "error running hook #0: error running hook: exit status 3,
  // stdout: , stderr: hook says no", without the hook's kind.
  ExpectCleanFailure(created, "status 3");
  EXPECT_NE(created.err.find("hook says no"), std::string::npos) << created;
  if (!runtime_is_runc()) {
    EXPECT_NE(created.err.find("prestart"), std::string::npos) << created;
  }
  EXPECT_FALSE(path_exists(StateDir(id)));
  ExpectCleanFailure(Run({"state", id}), "does not exist");
}

TEST_F(HooksTest, HookPastItsTimeoutFailsCreate) {
  AddHook("createRuntime", "/bin/sleep", {"sleep", "10"}, {}, /*timeout_seconds=*/1);
  std::string id = NewId();
  auto started = std::chrono::steady_clock::now();
  ProcessResult created = Create(id);
  auto took = std::chrono::steady_clock::now() - started;
  // runc 1.1 says "error running hook #0: hook ran past specified timeout of
  // 1.0s", without the hook's kind.
  ExpectCleanFailure(created, runtime_is_runc() ? "timeout of 1.0s" : "createRuntime hook");
  if (!runtime_is_runc()) {
    EXPECT_NE(created.err.find("timed out"), std::string::npos) << created;
  }
  EXPECT_LT(took, 4s) << "create waited for the hook to finish";
  EXPECT_FALSE(path_exists(StateDir(id)));
}

}  // namespace
}  // namespace berth::test::itest
