// The mount table as the tests read it: /proc/<pid>/mountinfo parsed, the
// mounts under a test's directory, and their removal.
#pragma once

#include <string>
#include <vector>

namespace berth::test {

// One line of /proc/<pid>/mountinfo (proc(5)), paths unescaped.
struct MountEntry {
  std::string root;
  std::string mount_point;
  std::string options;          // per-mount: "ro,nosuid,..."
  std::string optional_fields;  // "shared:3 master:1", "" if none
  std::string fstype;
  std::string source;
  std::string super_options;
};
std::vector<MountEntry> parse_mountinfo(const std::string& text);
// This process's mounts (/proc/self/mountinfo).
std::vector<MountEntry> own_mounts();
// The last (topmost) entry mounted at mount_point, or null.
const MountEntry* find_mount(const std::vector<MountEntry>& mounts, const std::string& mount_point);
// True if the comma-separated list holds option exactly.
bool has_option(const std::string& options, const std::string& option);
// Mount points at or under prefix in this process's mount namespace, in
// the order they were mounted (none for an empty prefix).
std::vector<std::string> mounts_under(const std::string& prefix);
// Detaches the mounts (MNT_DETACH), the last mounted first, so each
// unmount uncovers the one below.
void unmount_all(const std::vector<std::string>& mount_points);

}  // namespace berth::test
