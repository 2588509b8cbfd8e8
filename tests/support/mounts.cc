#include "support/mounts.h"

#include <sys/mount.h>

#include <sstream>

#include "support/files.h"

namespace berth::test {
namespace {

// "\040" in mountinfo is a space, and so on.
std::string unescape_mountinfo(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

}  // namespace

std::vector<MountEntry> parse_mountinfo(const std::string& text) {
  std::vector<MountEntry> mounts;
  for (const std::string& line : split_lines(text)) {
    size_t separator = line.find(" - ");
    if (separator == std::string::npos) continue;
    MountEntry entry;
    std::istringstream head(line.substr(0, separator));
    std::string id, parent, devno, field;
    head >> id >> parent >> devno >> entry.root >> entry.mount_point >> entry.options;
    while (head >> field)
      entry.optional_fields += (entry.optional_fields.empty() ? "" : " ") + field;
    std::istringstream tail(line.substr(separator + 3));
    tail >> entry.fstype >> entry.source >> entry.super_options;
    entry.root = unescape_mountinfo(entry.root);
    entry.mount_point = unescape_mountinfo(entry.mount_point);
    entry.source = unescape_mountinfo(entry.source);
    mounts.push_back(entry);
  }
  return mounts;
}

std::vector<MountEntry> own_mounts() { return parse_mountinfo(read_file("/proc/self/mountinfo")); }

const MountEntry* find_mount(const std::vector<MountEntry>& mounts,
                             const std::string& mount_point) {
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it)
    if (it->mount_point == mount_point) return &*it;
  return nullptr;
}

bool has_option(const std::string& options, const std::string& option) {
  std::istringstream list(options);
  std::string item;
  while (std::getline(list, item, ','))
    if (item == option) return true;
  return false;
}

std::vector<std::string> mounts_under(const std::string& prefix) {
  std::vector<std::string> found;
  if (prefix.empty()) return found;
  for (const MountEntry& entry : own_mounts())
    if (entry.mount_point == prefix || entry.mount_point.rfind(prefix + "/", 0) == 0)
      found.push_back(entry.mount_point);
  return found;
}

void unmount_all(const std::vector<std::string>& mount_points) {
  for (auto it = mount_points.rbegin(); it != mount_points.rend(); ++it)
    ::umount2(it->c_str(), MNT_DETACH);
}

}  // namespace berth::test
