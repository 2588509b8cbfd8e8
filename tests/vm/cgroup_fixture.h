// What the VM suite's tests share: a ContainerTest on a pure cgroup v2 host
// (the VM that tests/vm/vm-run boots), with linux.resources edits and reads
// of the kernel's files in a container's cgroup directory.
#pragma once

#include <string>

#include "harness.h"

namespace berth::test::vmtest {

using itest::json;

class CgroupTest : public itest::ContainerTest {
 protected:
  // Fails (fatally) unless this is a cgroup v2 only host with the
  // controllers the suite limits: run the binary through tests/vm/vm-run.
  void SetUp() override;

  // spec.linux.resources.<key> = value; the default spec has only devices.
  void SetResource(const std::string& key, json value);

  // The container's cgroup directory on this host (the VM's side).
  std::string CgroupDir(const std::string& id) const;
  // A file of the container's cgroup without its trailing newline. A file
  // that is missing fails the test and says why the kernel may lack it
  // (no cgroup, or the controller not enabled in the parent).
  std::string CgroupFile(const std::string& id, const std::string& name);
  // The value of key in a flat-keyed file such as memory.events ("oom_kill
  // 1"); -1 (and a test failure) if the key is not there.
  long long CgroupKey(const std::string& id, const std::string& file, const std::string& key);
};

}  // namespace berth::test::vmtest
