#include "support/leak_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <utility>

#include "support/cgroups.h"
#include "support/files.h"
#include "support/mounts.h"
#include "support/network.h"
#include "support/process.h"

namespace berth::test {
namespace {

std::set<std::string> added(const std::set<std::string>& before,
                            const std::set<std::string>& after) {
  std::set<std::string> difference;
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::inserter(difference, difference.end()));
  return difference;
}

}  // namespace

LeakCheck::LeakCheck(LeakScope scope) : scope_(std::move(scope)) { before_ = snapshot(); }

void LeakCheck::watch_path(const std::string& path, const std::string& what) {
  paths_.emplace_back(path, what);
}

void LeakCheck::watch_cgroup(const std::string& directory) { cgroups_.push_back(directory); }

void LeakCheck::watch_process(UniqueFd pidfd, const std::string& what) {
  if (pidfd) processes_.emplace_back(std::move(pidfd), what);
}

std::set<std::string> LeakCheck::links() const {
  std::set<std::string> found;
  if (!scope_.netns) return found;
  for (const std::string& name : link_names(scope_.netns->fd))
    if (name.rfind(scope_.netns->link_prefix, 0) == 0) found.insert(name);
  return found;
}

std::map<std::string, std::set<std::string>> LeakCheck::snapshot() const {
  std::map<std::string, std::set<std::string>> now;
  for (const std::string& prefix : scope_.mount_prefixes)
    for (const std::string& mount : mounts_under(prefix)) now["mount"].insert(mount);
  for (const std::string& dir : scope_.listed_dirs)
    for (const std::string& name : list_dir(dir)) now["entry"].insert(dir + "/" + name);
  if (scope_.netns) {
    int fd = scope_.netns->fd;
    now["link"] = links();
    std::string file = lease_file(fd);
    for (const nlohmann::json& lease : leases_in(fd))
      now["lease"].insert(file + ": " + lease.dump());
    for (const std::string& element : nft_map_elements(fd)) now["dnat"].insert(element);
    if (scope_.netns->nft_tables)
      for (const std::string& table : nft_tables(fd)) now["table"].insert(table);
  }
  return now;
}

std::vector<std::string> LeakCheck::expect_nothing_left() {
  std::vector<std::string> found;
  auto leak = [&](const std::string& line) {
    ADD_FAILURE() << line;
    found.push_back(line);
  };

  for (auto& [pidfd, what] : processes_)
    if (!wait_for_exit(pidfd.get(), 3s)) leak(what);
  processes_.clear();

  for (const auto& [path, what] : paths_)
    if (path_exists(path)) leak(what + " left behind: " + path);
  paths_.clear();

  for (const std::string& cgroup : cgroups_) {
    if (!path_exists(cgroup)) continue;
    leak("cgroup left behind: " + cgroup +
         "\ncgroup.procs: " + read_file(cgroup + "/cgroup.procs"));
    remove_cgroup_tree(cgroup);
  }
  cgroups_.clear();

  std::map<std::string, std::set<std::string>> after = snapshot();
  // The kernel removes a veth when its namespace goes, in a workqueue: soon
  // after the container's last process, not at once.
  if (!added(before_["link"], after["link"]).empty())
    eventually([&] { return added(before_["link"], after["link"] = links()).empty(); }, 5s);

  std::set<std::string> mounts = added(before_["mount"], after["mount"]);
  if (!mounts.empty()) {
    // In the order they were mounted, so unmount_all uncovers each in turn.
    std::vector<std::string> ordered;
    std::string listed;
    for (const MountEntry& entry : own_mounts())
      if (mounts.count(entry.mount_point)) ordered.push_back(entry.mount_point);
    for (const std::string& mount : ordered) listed += "\n  " + mount;
    leak("mounts left behind in the host's mount namespace:" + listed);
    unmount_all(ordered);
  }
  const std::pair<const char*, const char*> kinds[] = {{"entry", "left behind: "},
                                                       {"link", "link left behind: "},
                                                       {"lease", "address lease left behind in "},
                                                       {"dnat", "DNAT element left behind in map "},
                                                       {"table", "nftables table left behind: "}};
  for (const auto& [kind, message] : kinds)
    for (const std::string& item : added(before_[kind], after[kind])) leak(message + item);
  return found;
}

}  // namespace berth::test
