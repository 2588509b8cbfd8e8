// The launcher suite's harness: runs the `berth` binary as a user would
// (`berth --root <unique temp dir> ...`) against images imported per test,
// and checks after every test that each finished container was cleaned up
// by its supervisor (unmounted, no runtime state, no cgroup, no --rm
// container left); then it removes every container with `berth rm -f`, and
// tests/support's LeakCheck fails the test on anything left: a mount under
// the test's directory or the store, a container dir, runtime state, a
// cgroup of its containers, a lease, a `vb-` veth or a DNAT element. The
// directory goes with the fixture (TempDir: also when the test failed).
// Processes, files and mounts come from tests/support (namespace
// berth::test, which this suite's is inside of).
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/unique_fd.h"
#include "support/cgroups.h"
#include "support/files.h"
#include "support/leak_check.h"
#include "support/mounts.h"
#include "support/network.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/terminal.h"

namespace berth::test::ltest {

using nlohmann::json;

// The build's berth, the source tree.
const std::string& berth_binary();
const std::string& source_dir();

// The cgroup berth puts a launcher container in (linux.cgroupsPath /berth-<id>).
std::string container_cgroup(const std::string& id);

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

  std::string dir_;  // /tmp/berth-launcher-XXXXXX: the test's own files (temp_)
  // The network namespace every berth command of the test runs in (-1: ours).
  int netns_fd_ = -1;
  std::string root_;  // berth's --root: dir_/root, or a shared one

 private:
  // Every container whose supervisor is gone must be finished (unmounted,
  // no runtime state, no cgroup) or, with --rm, gone.
  void CheckFinishedContainers();
  void DrainWatch();

  TempDir temp_;
  LeakCheck leaks_;
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

}  // namespace berth::test::ltest
