#include "support/cgroups.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "support/files.h"
#include "support/mounts.h"

namespace berth::test {
namespace fs = std::filesystem;

std::vector<std::string> cgroup_mounts() {
  std::vector<std::string> mounts;
  for (const MountEntry& entry : own_mounts())
    if (entry.fstype == "cgroup" || entry.fstype == "cgroup2") mounts.push_back(entry.mount_point);
  return mounts;
}

const std::string& cgroup2_mount() {
  static const std::string mount = [] {
    for (const MountEntry& entry : own_mounts())
      if (entry.fstype == "cgroup2") return entry.mount_point;
    return std::string();
  }();
  return mount;
}

bool has_controller(const std::string& cgroup_dir, const std::string& controller) {
  std::istringstream words(read_file(cgroup_dir + "/cgroup.controllers"));
  std::string word;
  while (words >> word)
    if (word == controller) return true;
  return false;
}

void remove_cgroup_tree(const std::string& directory) {
  std::error_code error;
  if (!fs::is_directory(directory, error)) return;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory, error))
    if (entry.is_directory(error)) remove_cgroup_tree(entry.path());
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (::rmdir(directory.c_str()) == 0 || errno == ENOENT) return;
    std::istringstream pids(read_file(directory + "/cgroup.procs"));
    pid_t pid;
    while (pids >> pid) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace berth::test
