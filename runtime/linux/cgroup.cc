#include "linux/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "core/files.h"
#include "linux/mount_internal.h"

namespace berth::linux {

Result<std::string> find_cgroup2_mount() {
  for (const MountInfoEntry& entry : TRY_VALUE(read_mountinfo()))
    if (entry.fs_type == "cgroup2") return entry.mount_point;
  return std::string();
}

namespace {

Result<std::string> own_cgroup() {
  auto content = TRY_VALUE(read_file("/proc/self/cgroup"));
  std::istringstream lines(content);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return std::string("/");
}

}  // namespace

Result<std::string> cgroup_directory(const std::string& mount, const std::string& cgroups_path,
                                     const std::string& id) {
  if (cgroups_path.find(':') != std::string::npos && cgroups_path.find('/') == std::string::npos)
    return make_error(
        "linux.cgroupsPath \"{}\": the systemd \"slice:prefix:name\" form needs the systemd "
        "cgroup driver, which berth does not support",
        cgroups_path);
  if (!cgroups_path.empty() && cgroups_path[0] == '/') return mount + clean_path(cgroups_path);
  // Relative (an empty path is the id): below the *parent* of our own
  // cgroup, as runc does. Our own holds processes (us, at least), so by
  // cgroup v2's no-internal-processes rule its children could not get
  // domain controllers such as memory.
  std::string own = TRY_VALUE(own_cgroup());
  std::string parent = own.substr(0, own.rfind('/'));
  std::string relative = cgroups_path.empty() ? id : cgroups_path;
  // clean_path of the joined path: ".." in a relative path cannot climb
  // above the hierarchy's root.
  return mount + clean_path(parent + "/" + relative);
}

Result<UniqueFd> create_cgroup(const std::string& directory, std::vector<std::string>& created) {
  // Create each missing level, remembering which, so a failed create can
  // remove exactly what it made and no more.
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = directory.find('/', pos + 1);
    std::string prefix = directory.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) == 0) {
      created.push_back(prefix);
    } else if (errno != EEXIST) {
      return sys_error("create cgroup {}", prefix);
    }
  }
  return open_file(directory, O_RDONLY | O_DIRECTORY);
}

Result<std::vector<pid_t>> cgroup_pids(const std::string& directory) {
  auto content = read_file(directory + "/cgroup.procs");
  if (!content) return content.error();
  std::vector<pid_t> pids;
  std::istringstream lines(content.value());
  pid_t pid;
  while (lines >> pid) pids.push_back(pid);
  return pids;
}

Status kill_cgroup(const std::string& directory) {
  std::string kill_file = directory + "/cgroup.kill";
  if (::access(kill_file.c_str(), F_OK) == 0) return write_file(kill_file, "1");
  auto pids = TRY_VALUE(cgroup_pids(directory));
  for (pid_t pid : pids)
    if (::kill(pid, SIGKILL) < 0 && errno != ESRCH) return sys_error("kill {} SIGKILL", pid);
  return ok();
}

Status remove_cgroup(const std::string& directory) {
  if (directory.empty() || ::access(directory.c_str(), F_OK) != 0) return ok();
  // rmdir fails with EBUSY while processes remain (or are still exiting);
  // kill them through cgroup.kill (Linux 5.14) or one by one, and retry for
  // up to ~2 s while the kernel finishes tearing them down.
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (::rmdir(directory.c_str()) == 0 || errno == ENOENT) return ok();
    if (errno != EBUSY) return sys_error("remove cgroup {}", directory);
    (void)kill_cgroup(directory);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return make_error("remove cgroup {}: processes remain after SIGKILL", directory);
}

}  // namespace berth::linux
