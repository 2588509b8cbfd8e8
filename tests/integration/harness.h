// The harness of the container suites (tests/integration, and tests/vm inside
// a VM): runs the runtime under test (berth-runtime,
// or runc for comparison: BERTH_TEST_RUNTIME=/usr/bin/runc) as a separate
// process against a fresh busybox bundle per test, and checks afterwards, with
// tests/support's LeakCheck, that the test left nothing behind: no state dir,
// no cgroup, no mount, no process. Processes, files and mounts come from
// tests/support (namespace berth::test, which this suite's is inside of).
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/unique_fd.h"
#include "support/cgroups.h"
#include "support/files.h"
#include "support/leak_check.h"
#include "support/mounts.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/terminal.h"

namespace berth::test::itest {

using nlohmann::json;

// The runtime under test: $BERTH_TEST_RUNTIME, else the build's berth-runtime.
const std::string& runtime_binary();
bool runtime_is_runc();

// The /proc/<pid>/ns/<proc_name> link's target, e.g. "net:[4026531840]".
std::string NamespaceOf(pid_t pid, const std::string& proc_name);

// The capability sets of process.capabilities, by their spec names.
struct CapabilitySets {
  std::vector<std::string> bounding, effective, permitted, inheritable, ambient;
};

// The Cap* masks of /proc/<pid>/status as the kernel prints them.
struct CapabilityMasks {
  std::string bounding, permitted, effective;
  std::string inheritable = "0000000000000000";
  std::string ambient = "0000000000000000";
};
// Expects them in a process's output: the Cap* lines of its /proc/self/status.
void ExpectCapabilityMasks(const ProcessResult& result, const CapabilityMasks& expected);

// A test with its own temp dir (/tmp/berth-test-XXXXXX), state root and
// busybox bundle. `spec` starts as `<runtime> spec` without a terminal and
// without resource limits, and is written to config.json by every helper
// that creates a container (with cgroupsPath set for that container's id).
class ContainerTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // --- the runtime's command line; every call gets --root <root()> ---
  ProcessResult Run(std::vector<std::string> args, const ProcessOptions& options = {});
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
  // The runtime with args in a session of its own with a fresh pty (rows x
  // cols) as its controlling terminal and stdio, as a shell would start it:
  // what the terminal showed until `until` (or until the runtime and the
  // container closed it), and how the runtime ended (killed if it did not
  // exit within 5 s after that).
  struct TerminalRun {
    std::string shown;
    ProcessResult result;
  };
  TerminalRun RunOnTerminal(std::vector<std::string> args, const std::string& until,
                            unsigned short rows = 30, unsigned short cols = 100);

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

  // Expects pid to run argv (its /proc/<pid>/cmdline), waiting up to 2 s for
  // it: a runtime may return a moment before the process execs.
  void ExpectCommandLine(pid_t pid, const std::vector<std::string>& argv);

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
  TempDir temp_;  // dir_
  LeakCheck leaks_;
  std::vector<std::string> ids_;
  std::map<std::string, ContainerIo> io_;
};

}  // namespace berth::test::itest
