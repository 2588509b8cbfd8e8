// What every test of the integration suite shares, set up once per run by a
// gtest Environment: which runtime is under test, its default spec, busybox's
// applets, the host's cgroup hierarchies, and the per-run cgroup parent that
// every test's cgroupsPath lives under (removed when the run ends).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace berth::test::itest {

struct Suite {
  bool is_runc = false;
  // `<runtime> spec` without a terminal and with no resource limits but the
  // device rules (berth refuses limits it cannot apply on this host).
  nlohmann::json default_spec;
  std::vector<std::string> busybox_applets;  // "bin/sh", "usr/bin/env", ...
  // Mount points of every cgroup v1 and v2 hierarchy: runc puts a container
  // into the v1 ones on this hybrid host, berth into v2.
  std::vector<std::string> cgroup_mounts;
  std::string cgroup_parent;  // "berth-itest-<random>", no slashes
};

const Suite& suite();
::testing::Environment* new_suite_environment();

// A rootfs of the host's static busybox with a link per applet, /etc/passwd
// and /etc/group (root, tty, berth 1000, nobody): what tools/mkbundle makes.
void make_busybox_rootfs(const std::string& rootfs);

}  // namespace berth::test::itest
