#include "suite_environment.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "core/unique_fd.h"
#include "harness.h"
#include "support/cgroups.h"

namespace berth::test::itest {

namespace {

constexpr const char* kHostBusybox = "/bin/busybox";

Suite& mutable_suite() {
  static Suite instance;
  return instance;
}

nlohmann::json default_spec_of_runtime() {
  TempDir dir("berth-test-spec");
  ProcessResult result = run_process({runtime_binary(), "spec"}, {.cwd = dir.path()});
  std::string text = read_file(dir / "config.json");
  if (!result.succeeded()) {
    std::ostringstream message;
    message << runtime_binary() << " spec failed: " << result;
    throw std::runtime_error(message.str());
  }
  nlohmann::json spec = nlohmann::json::parse(text);
  spec["process"]["terminal"] = false;
  nlohmann::json& resources = spec["linux"]["resources"];
  if (resources.is_object()) {
    nlohmann::json devices = resources.value("devices", nlohmann::json::array());
    resources = {{"devices", devices}};
  }
  return spec;
}

std::vector<std::string> list_busybox_applets() {
  ProcessResult result = run_process({kHostBusybox, "--list-full"});
  if (!result.succeeded()) throw std::runtime_error("busybox --list-full failed");
  std::vector<std::string> applets;
  for (const std::string& applet : split_lines(result.out))
    if (!applet.empty() && applet != "bin/busybox") applets.push_back(applet);
  return applets;
}

void copy_file(const std::string& from, const std::string& to, mode_t mode) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!in || !out) throw std::runtime_error("copy " + from + " to " + to + ": " + strerror(errno));
  // sendfile, not copy_file_range: between two filesystems without their
  // own copy_file_range (the VM's initramfs and its tmpfs /tmp) that fails
  // with EXDEV since Linux 5.19.
  for (;;) {
    ssize_t n = ::sendfile(out.get(), in.get(), nullptr, 1 << 24);
    if (n < 0) throw std::runtime_error("sendfile to " + to + ": " + strerror(errno));
    if (n == 0) break;
  }
  ::fchmod(out.get(), mode);
}

class SuiteEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    Suite& s = mutable_suite();
    ASSERT_EQ(::access(runtime_binary().c_str(), X_OK), 0)
        << "runtime under test " << runtime_binary()
        << " is not executable; build it or set BERTH_TEST_RUNTIME";
    ProcessResult version = run_process({runtime_binary(), "--version"});
    s.is_runc = version.out.rfind("runc version", 0) == 0;
    s.default_spec = default_spec_of_runtime();
    s.busybox_applets = list_busybox_applets();
    s.cgroup_mounts = cgroup_mounts();
    s.cgroup_parent = "berth-itest-" + random_hex(10);
    std::printf("runtime under test: %s (%s)\n", runtime_binary().c_str(),
                s.is_runc ? "runc" : "berth");
  }

  void TearDown() override {
    for (const std::string& hierarchy : suite().cgroup_mounts)
      remove_cgroup_tree(hierarchy + "/" + suite().cgroup_parent);
  }
};

}  // namespace

const Suite& suite() { return mutable_suite(); }

::testing::Environment* new_suite_environment() { return new SuiteEnvironment; }

void make_busybox_rootfs(const std::string& rootfs) {
  make_dir(rootfs, 0755);
  const std::pair<const char*, mode_t> directories[] = {
      {"bin", 0755},  {"sbin", 0755}, {"usr", 0755},       {"usr/bin", 0755}, {"usr/sbin", 0755},
      {"proc", 0555}, {"sys", 0555},  {"dev", 0755},       {"tmp", 01777},    {"etc", 0755},
      {"root", 0700}, {"home", 0755}, {"home/berth", 0755}};
  for (const auto& [path, mode] : directories) make_dir(rootfs + "/" + path, mode);
  if (::chown((rootfs + "/home/berth").c_str(), 1000, 1000) != 0)
    throw std::runtime_error("chown home/berth: " + std::string(strerror(errno)));

  std::string busybox = rootfs + "/bin/busybox";
  copy_file(kHostBusybox, busybox, 0755);
  // Hard links, not tools/mkbundle's symlinks: busybox picks the applet from
  // argv[0] either way, and a symlink costs ~1 ms on this host's ext4 (a new
  // inode each) where a link costs ~15 us; a test makes ~270.
  for (const std::string& applet : suite().busybox_applets) {
    std::string link = rootfs + "/" + applet;
    if (::link(busybox.c_str(), link.c_str()) != 0 && errno != EEXIST)
      throw std::runtime_error("link " + link + ": " + strerror(errno));
  }

  write_file(rootfs + "/etc/passwd",
             "root:x:0:0:root:/root:/bin/sh\n"
             "berth:x:1000:1000:berth:/home/berth:/bin/sh\n"
             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  write_file(rootfs + "/etc/group", "root:x:0:\ntty:x:5:\nberth:x:1000:\nnobody:x:65534:\n");
}

}  // namespace berth::test::itest
