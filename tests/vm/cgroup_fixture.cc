#include "cgroup_fixture.h"

#include <sstream>

#include "suite_environment.h"

namespace berth::test::vmtest {
namespace {

// vm-run mounts the only hierarchy here, as systemd does on a v2 host.
constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

std::string without_newline(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace

void CgroupTest::SetUp() {
  const auto& mounts = itest::suite().cgroup_mounts;
  ASSERT_TRUE(mounts.size() == 1 && mounts[0] == kCgroupRoot)
      << "berth_vm_tests needs a host whose only cgroup hierarchy is cgroup v2 at " << kCgroupRoot
      << " (this one has " << mounts.size()
      << "); run it in the VM: tests/vm/vm-run --program <runtime> -- berth_vm_tests";
  for (const char* controller : {"cpuset", "cpu", "io", "memory", "pids"})
    ASSERT_TRUE(has_controller(kCgroupRoot, controller))
        << "the cgroup v2 root offers no " << controller
        << " controller: " << read_file(std::string(kCgroupRoot) + "/cgroup.controllers");
  itest::ContainerTest::SetUp();
}

void CgroupTest::SetResource(const std::string& key, json value) {
  spec["linux"]["resources"][key] = std::move(value);
}

std::string CgroupTest::CgroupDir(const std::string& id) const {
  return kCgroupRoot + CgroupPathFor(id);
}

std::string CgroupTest::CgroupFile(const std::string& id, const std::string& name) {
  std::string directory = CgroupDir(id);
  std::string path = directory + "/" + name;
  if (path_exists(path)) return without_newline(read_file(path));
  std::string parent = directory.substr(0, directory.rfind('/'));
  if (!path_exists(directory))
    ADD_FAILURE() << path << " is missing: the container has no cgroup " << directory;
  else
    ADD_FAILURE() << path << " is missing; the parent's cgroup.subtree_control (the controllers "
                  << "the runtime enabled for it) is \""
                  << without_newline(read_file(parent + "/cgroup.subtree_control")) << "\"";
  return "<missing " + name + ">";
}

long long CgroupTest::CgroupKey(const std::string& id, const std::string& file,
                                const std::string& key) {
  std::string content = CgroupFile(id, file);
  std::istringstream lines(content);
  std::string name;
  long long value;
  while (lines >> name >> value)
    if (name == key) return value;
  ADD_FAILURE() << "no \"" << key << "\" in " << file << ":\n" << content;
  return -1;
}

}  // namespace berth::test::vmtest
