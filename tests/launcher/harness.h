// The launcher suite's harness: runs the `berth` binary as a user would
// (`berth --root <unique temp dir> ...`) against images imported per test,
// and checks after every test that nothing is left behind: no mount under
// the test's directory, no cgroup of its containers, no runtime state, no
// --rm container; then it removes every container with `berth rm -f` and
// the directory itself (RAII: also when the test failed).
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/unique_fd.h"

namespace berth::ltest {

using nlohmann::json;
using namespace std::chrono_literals;

// How a child process ended and what it printed.
struct ProcessResult {
  std::string command;  // the argv, joined, for messages
  int exit_code = -1;   // -1 unless it exited
  int signal = 0;       // the signal that killed it, if one did
  bool timed_out = false;
  std::string out;
  std::string err;

  bool succeeded() const { return exit_code == 0; }
};
// gtest prints this when an assertion on a result fails: what berth printed.
std::ostream& operator<<(std::ostream& os, const ProcessResult& result);

struct ProcessOptions {
  std::chrono::milliseconds timeout = 30s;
  int stdin_fd = -1;             // -1: /dev/null
  std::vector<std::string> env;  // "KEY=VALUE" added to (or replacing in) ours
  std::string cwd;               // "" keeps ours
  int netns_fd = -1;             // a network namespace to run in (setns), -1 keeps ours
};

// fork/exec argv[0] (a path) and wait for it; SIGKILL after the timeout.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// A process that runs while the test does something else (a foreground
// `berth run` to be killed or resized). Killed and reaped by the destructor
// unless waited for.
class BackgroundProcess {
 public:
  BackgroundProcess() = default;
  // stdio: -1 gives /dev/null for stdin and memfds for stdout and stderr.
  // With a terminal (a pty slave), the child becomes a session leader with
  // it as its controlling terminal and as its stdin, stdout and stderr.
  static BackgroundProcess start(const std::vector<std::string>& argv,
                                 const ProcessOptions& options = {}, int terminal = -1);
  // A moved-from process owns nothing (its destructor must not kill it).
  BackgroundProcess(BackgroundProcess&& other) noexcept
      : command_(std::move(other.command_)),
        pid_(std::exchange(other.pid_, -1)),
        pidfd_(std::move(other.pidfd_)),
        out_(std::move(other.out_)),
        err_(std::move(other.err_)) {}
  BackgroundProcess& operator=(BackgroundProcess&&) = delete;
  ~BackgroundProcess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // Waits for the exit (SIGKILL after timeout) and collects the output.
  ProcessResult wait(std::chrono::milliseconds timeout = 30s);
  // What it has printed so far.
  std::string out() const;
  std::string err() const;

 private:
  std::string command_;
  pid_t pid_ = -1;
  UniqueFd pidfd_, out_, err_;
};

// The build's berth, the source tree.
const std::string& berth_binary();
const std::string& source_dir();

// --- files and the kernel's view ----------------------------------------
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content, mode_t mode = 0644);
bool path_exists(const std::string& path);  // lstat: dangling links count
void make_dirs(const std::string& path, mode_t mode = 0755);
std::string random_hex(size_t length);
std::vector<std::string> split_lines(const std::string& text);
// The names in a directory, without . and .. (empty if it does not exist).
std::vector<std::string> list_dir(const std::string& path);
// Every path under root (relative, sorted), with type and size, so two
// snapshots compare equal only if nothing under root changed.
std::set<std::string> snapshot_tree(const std::string& root);
// "CapEff:\t0000..." -> "0000..." from /proc/<pid>/status text.
std::string status_field(const std::string& status_text, const std::string& name);
// Mount points at or under prefix in /proc/self/mountinfo.
std::vector<std::string> mounts_under(const std::string& prefix);
// Where cgroup2 is mounted (/sys/fs/cgroup/unified on a hybrid host).
const std::string& cgroup2_mount();
// The cgroup berth puts a launcher container in (linux.cgroupsPath /berth-<id>).
std::string container_cgroup(const std::string& id);
// rmdir a cgroup and its children, killing what still runs in them.
void remove_cgroup_tree(const std::string& directory);
// Waits for pid (not necessarily our child) to be gone.
bool wait_for_pid_exit(pid_t pid, std::chrono::milliseconds timeout);
// Polls until done() is true; false after the timeout.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s);

// --- the bridge network's lease file -----------------------------------
// The lease file of the network namespace netns_fd (-1: ours), its leases,
// and the removal of its directory once it holds none (a namespace a test
// made goes with the test; its directory under /run must too).
std::string lease_file(int netns_fd);
json leases_in(int netns_fd);
void remove_empty_lease_dir(int netns_fd);

// --- test images --------------------------------------------------------
// Made once per process by tests/launcher/make_images.py busybox.
struct BusyboxImages {
  std::string dir;
  std::string rootfs;         // dir/rootfs
  std::string rootfs_tar;     // plain tar of the rootfs (import --rootfs)
  std::string rootfs_tar_gz;  // the same, gzip
  std::string docker_save;    // busybox:docker
  std::string oci_dir;        // busybox:oci
  std::string oci_tar;        // busybox:oci as a tar
};
const BusyboxImages& busybox_images();
// An OCI layout of hostile:KIND in out (see make_images.py).
void make_hostile_layout(const std::string& kind, const std::string& target,
                         const std::string& out);

// The OCI layout of berth-base:bookworm + berth-python:bookworm from
// tools/mkimage python (built by the ctest fixture launcher_python_image;
// built here if missing, without a timeout: the first build takes minutes).
// $BERTH_TEST_PYTHON_LAYOUT names another layout to use instead.
const std::string& python_layout();

// --- the fixture --------------------------------------------------------
class LauncherTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // berth --root <root_> ARGS
  ProcessResult Berth(std::vector<std::string> args, const ProcessOptions& options = {});
  BackgroundProcess StartBerth(std::vector<std::string> args, const ProcessOptions& options = {},
                               int terminal = -1);
  // `run -d ARGS...`; returns the container id ("" and a failure if it failed).
  std::string RunDetached(std::vector<std::string> args);
  // `run --rm ARGS...` in the foreground.
  ProcessResult RunRm(std::vector<std::string> args, const ProcessOptions& options = {});
  // `inspect REF` -> its first element; null and a failure if it failed.
  json Inspect(const std::string& reference);
  // State.Status from inspect, "<gone>" if inspect fails.
  std::string ContainerStatus(const std::string& reference);
  bool WaitForStatus(const std::string& reference, const std::string& status,
                     std::chrono::milliseconds timeout = 10s);
  // Until `berth logs ID` shows text.
  bool WaitForLog(const std::string& id, const std::string& text,
                  std::chrono::milliseconds timeout = 10s);
  json Record(const std::string& id);  // containers/<id>/record.json
  std::string ContainerDir(const std::string& id) const { return root_ + "/containers/" + id; }
  std::vector<std::string> LayerDirs() const;  // <root>/layers/* (not .extract-*)
  // `import ARGS...`, asserting success.
  void Import(std::vector<std::string> args);
  // The ids of every container made since SetUp (seen by an inotify watch on
  // <root>/containers, so even --rm ones that are gone).
  std::set<std::string> SeenContainerIds();

  // Whether SetUp gives a fresh root with busybox:test (else the subclass
  // has set root_ to a shared one).
  virtual bool UsesSharedRoot() const { return false; }
  virtual std::string SharedRoot() { return ""; }

  // The bridge network's lease file of the namespace berth runs in, and its leases.
  std::string LeaseFile() const;
  json Leases() const;

  std::string dir_;  // /tmp/berth-launcher-XXXXXX: the test's own files
  // The network namespace every berth command of the test runs in (-1: ours).
  int netns_fd_ = -1;
  std::string root_;  // berth's --root: dir_/root, or a shared one

 private:
  void CheckNothingLeft();
  void CheckNetworkLeftClean();
  void DrainWatch();

  UniqueFd watch_;
  std::set<std::string> seen_ids_;
};

// Tests of the layered Python image: one root, imported once per process.
class PythonImageTest : public LauncherTest {
 protected:
  bool UsesSharedRoot() const override { return true; }
  std::string SharedRoot() override;
};

// Removes the shared Python root when the process ends.
::testing::Environment* new_shared_root_cleanup();

}  // namespace berth::ltest
