// The harness of the container suites (tests/integration, and tests/vm inside
// a VM): runs the runtime under test (berth-runtime,
// or runc for comparison: BERTH_TEST_RUNTIME=/usr/bin/runc) as a separate
// process against a fresh busybox bundle per test, and checks afterwards that
// the test left nothing behind: no state dir, no cgroup, no mount, no process.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "core/unique_fd.h"

namespace berth::itest {

using nlohmann::json;
using namespace std::chrono_literals;

// How a child process ended and what it printed.
struct ProcessResult {
  int exit_code = -1;  // -1 unless it exited
  int signal = 0;      // the signal that killed it, if one did
  bool timed_out = false;
  std::string out;
  std::string err;

  bool succeeded() const { return exit_code == 0; }
  // Exited (0 or not) rather than crashing or hanging.
  bool exited() const { return exit_code >= 0 && !timed_out; }
};
// gtest prints this when an assertion on a result fails.
std::ostream& operator<<(std::ostream& os, const ProcessResult& result);

struct RunOptions {
  std::chrono::milliseconds timeout = 20s;
  std::string cwd;     // "" keeps the test's
  int stdin_fd = -1;   // -1: /dev/null
  int stdout_fd = -1;  // -1: a fresh memfd; given fds are read back from offset 0
  int stderr_fd = -1;
  int extra_fd = -1;   // becomes the child's fd 3 (for --preserve-fds); -1: none
};

// fork/exec argv[0] (a path, no PATH search) and wait for it to exit; kills
// it with SIGKILL after the timeout. Only the runtime's own exit is waited
// for: a container that inherited its stdout may keep writing afterwards.
ProcessResult run_process(const std::vector<std::string>& argv, const RunOptions& options = {});

// A memfd for RunOptions' stdout_fd/stderr_fd, and what was written to it so
// far (readable while the process still runs).
UniqueFd make_memfd(const char* name);
std::string read_from_start(int fd);

// The runtime under test: $BERTH_TEST_RUNTIME, else the build's berth-runtime.
const std::string& runtime_binary();
bool runtime_is_runc();

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content, mode_t mode = 0644);
bool path_exists(const std::string& path);  // lstat: dangling links count
std::string random_hex(size_t length);
// The lines of text, without their newlines.
std::vector<std::string> split_lines(const std::string& text);
// "CapEff:\t0000..." -> "0000..." for /proc/<pid>/status and the like.
std::string status_field(const std::string& status_text, const std::string& name);
// One line of /proc/<pid>/mountinfo (proc(5)), paths unescaped.
struct MountEntry {
  std::string root;
  std::string mount_point;
  std::string options;          // per-mount: "ro,nosuid,..."
  std::string optional_fields;  // "shared:3 master:1", "" if none
  std::string fstype;
  std::string source;
  std::string super_options;
};
std::vector<MountEntry> parse_mountinfo(const std::string& text);
// The last (topmost) entry mounted at mount_point, or null.
const MountEntry* find_mount(const std::vector<MountEntry>& mounts, const std::string& mount_point);
// True if the comma-separated list holds option exactly.
bool has_option(const std::string& options, const std::string& option);
// Mount points under prefix in this process's /proc/self/mountinfo.
std::vector<std::string> mounts_under(const std::string& prefix);

// The /proc/<pid>/ns/<proc_name> link's target, e.g. "net:[4026531840]".
std::string NamespaceOf(pid_t pid, const std::string& proc_name);

// A pidfd for pid (invalid if pid is gone).
UniqueFd open_pidfd(pid_t pid);
// Waits up to timeout for pid to exit (pidfd: also works for a pid that is
// not our child). True if it exited.
bool wait_for_exit(int pidfd, std::chrono::milliseconds timeout);

// The capability sets of process.capabilities, by their spec names.
struct CapabilitySets {
  std::vector<std::string> bounding, effective, permitted, inheritable, ambient;
};

// A test with its own temp dir (/tmp/berth-test-XXXXXX), state root and
// busybox bundle. `spec` starts as `<runtime> spec` without a terminal and
// without resource limits, and is written to config.json by every helper
// that creates a container (with cgroupsPath set for that container's id).
class ContainerTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // --- the runtime's command line; every call gets --root <root()> ---
  ProcessResult Run(std::vector<std::string> args, const RunOptions& options = {});
  // A fresh id ("berth-t-" + random), remembered for TearDown's cleanup.
  std::string NewId();
  // create --bundle --pid-file: the container's stdout and stderr go to
  // memfds that ContainerStdout/ContainerStderr read at any later time.
  ProcessResult Create(const std::string& id, std::vector<std::string> extra_flags = {});
  ProcessResult Start(const std::string& id) { return Run({"start", id}); }
  ProcessResult Kill(const std::string& id, const std::string& signal) {
    return Run({"kill", id, signal});
  }
  ProcessResult Delete(const std::string& id, bool force = false);
  // `run --bundle` in the foreground: the result holds the container's
  // output and its exit status.
  ProcessResult RunContainer(const std::string& id, std::vector<std::string> extra_flags = {});
  // create, then start; fails the test (fatally) if either fails.
  void CreateAndStart(const std::string& id);

  // `state` parsed; fails the test and returns null if the command fails.
  json State(const std::string& id);
  std::string Status(const std::string& id);
  // The pid `state` reports; also keeps a pidfd so TearDown can check that
  // the process is gone after delete.
  pid_t InitPid(const std::string& id);
  // Polls `state` quietly (the container may not exist yet) until it
  // reports status; false after the timeout.
  bool WaitForStatus(const std::string& id, const std::string& status,
                     std::chrono::milliseconds timeout = 5s);
  // Waits until the container's init has exited and `state` says stopped.
  void WaitStopped(const std::string& id, std::chrono::milliseconds timeout = 5s);
  std::string ContainerStdout(const std::string& id);
  // Waits until the container's stdout holds text; false after the timeout.
  bool WaitForStdout(const std::string& id, const std::string& text,
                     std::chrono::milliseconds timeout = 5s);
  std::string ContainerStderr(const std::string& id);
  std::string PidFilePath(const std::string& id) const { return dir_ + "/" + id + ".pid"; }
  std::string StateDir(const std::string& id) const { return root_ + "/" + id; }
  std::string CgroupPathFor(const std::string& id) const;

  // --- edits of `spec` ---
  void SetArgs(std::vector<std::string> args);
  void SetShell(const std::string& script) { SetArgs({"sh", "-c", script}); }
  void SetEnv(std::vector<std::string> env);
  void SetCwd(const std::string& cwd);
  void SetUser(uid_t uid, gid_t gid, std::vector<gid_t> additional_gids = {});
  void SetHostname(const std::string& hostname);
  void SetReadonlyRoot(bool readonly);
  void SetTerminal(bool terminal);
  void AddMount(const std::string& destination, const std::string& type, const std::string& source,
                std::vector<std::string> options);
  void AddBindMount(const std::string& source, const std::string& destination, bool readonly);
  void SetCapabilities(const CapabilitySets& sets);
  void SetSeccomp(json seccomp);
  void SetRlimit(const std::string& type, unsigned long long soft, unsigned long long hard);
  // kind: prestart, createRuntime, createContainer, startContainer,
  // poststart, poststop. timeout_seconds 0: none.
  void AddHook(const std::string& kind, const std::string& path, std::vector<std::string> args,
               std::vector<std::string> env = {}, int timeout_seconds = 0);
  void RemoveNamespace(const std::string& type);
  void SetNamespace(const std::string& type, const std::string& path = "");
  // Written by Create/RunContainer; tests that hand-make a bad bundle call it
  // and then overwrite config.json.
  void WriteSpec(const std::string& id);

  // Fails the test unless the runtime failed cleanly (exit status 1, no
  // crash or hang) with a message containing `expected` on stderr.
  void ExpectCleanFailure(const ProcessResult& result, const std::string& expected);

  json spec;
  std::string dir_;   // /tmp/berth-test-XXXXXX
  std::string root_;  // the runtime's --root
  std::string bundle_;
  std::string rootfs_;

 private:
  struct ContainerIo {
    UniqueFd out;
    UniqueFd err;
  };
  void CheckNothingLeft();

  std::vector<std::string> ids_;
  std::map<std::string, ContainerIo> io_;
  std::vector<UniqueFd> init_pidfds_;
};

}  // namespace berth::itest
