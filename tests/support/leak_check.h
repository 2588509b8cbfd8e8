// The one check that a test left nothing behind, which every fixture that
// makes containers (or links, or mounts) calls in its TearDown.
//
// The fixture says where leftovers of its test would be (LeakScope) when
// the test starts; LeakCheck then takes a snapshot of what is there, and
// expect_nothing_left() takes another at the end: whatever is there at the
// end and was not before fails the test, and is cleaned up where it can be
// (mounts detached, cgroups removed with what runs in them) so the next
// test starts clean. Places only learned while the test runs (a
// container's cgroup or state dir, named by its id; its init process) are
// added with watch_*; they must be gone at the end.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/unique_fd.h"

namespace berth::test {

// A network namespace whose links, leases and berth's DNAT map elements
// must be as they were.
struct NetnsScope {
  int fd = -1;              // the namespace; -1: the calling thread's
  std::string link_prefix;  // the links looked at ("vb-": berth's veths; "": all)
  bool nft_tables = false;  // also its nftables tables (berth0 stays once made:
                            // not for a namespace berth runs in)
};

struct LeakScope {
  // No mount at or under these (the test's temp dir, berth's store).
  std::vector<std::string> mount_prefixes;
  // Directories whose every entry is a leftover of the test's (a store's
  // containers/, a runtime's state root).
  std::vector<std::string> listed_dirs;
  // The bridge network of a namespace: its `vb-` veths (or other links),
  // the leases of its lease file, the elements of `table ip berth0`.
  std::optional<NetnsScope> netns;
};

class LeakCheck {
 public:
  LeakCheck() = default;  // checks nothing until assigned a scope
  // Takes the snapshot of what is there before the test.
  explicit LeakCheck(LeakScope scope);

  // A path that must not exist at the end (a container's state dir).
  void watch_path(const std::string& path, const std::string& what = "state dir");
  // A cgroup directory that must not exist at the end.
  void watch_cgroup(const std::string& directory);
  // A process that must have exited at the end (given a grace period).
  void watch_process(UniqueFd pidfd, const std::string& what);

  // Adds a test failure for everything left behind, and cleans up what it
  // can. Returns the leftovers found, one line each (empty: none).
  std::vector<std::string> expect_nothing_left();

  // What is there now, by kind ("mount", "veth", ...), as the check sees it.
  std::map<std::string, std::set<std::string>> snapshot() const;

 private:
  std::set<std::string> links() const;

  LeakScope scope_;
  std::map<std::string, std::set<std::string>> before_;
  std::vector<std::pair<std::string, std::string>> paths_;  // path, what
  std::vector<std::string> cgroups_;
  std::vector<std::pair<UniqueFd, std::string>> processes_;
};

}  // namespace berth::test
