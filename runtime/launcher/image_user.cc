#include "launcher/image_user.h"

#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "core/files.h"
#include "core/strings.h"
#include "linux/mounts.h"

namespace berth::launcher {

namespace {

bool is_number(const std::string& text) {
  return !text.empty() && text.size() < 11 && std::all_of(text.begin(), text.end(), ::isdigit);
}

// A missing file is no entries: images without /etc/passwd take numeric ids.
Result<std::vector<std::vector<std::string>>> read_colon_file(int rootfs_fd,
                                                              const std::string& path) {
  auto fd = linux::open_in_rootfs(rootfs_fd, path, O_RDONLY);
  if (!fd) {
    if (fd.error().errno_value() == ENOENT) return std::vector<std::vector<std::string>>{};
    return fd.error();
  }
  auto text = TRY_VALUE(read_fd(fd->get()));
  std::vector<std::vector<std::string>> entries;
  for (const std::string& line : split(text, '\n'))
    if (!line.empty() && line[0] != '#') entries.push_back(split(line, ':'));
  return entries;
}

}  // namespace

Result<ResolvedUser> resolve_user(int rootfs_fd, const std::string& user) {
  std::string name = user.empty() ? "0" : user.substr(0, user.find(':'));
  std::optional<std::string> group;
  if (size_t colon = user.find(':'); colon != std::string::npos) group = user.substr(colon + 1);

  auto passwd = TRY_VALUE(read_colon_file(rootfs_fd, "/etc/passwd"));
  auto groups = TRY_VALUE(read_colon_file(rootfs_fd, "/etc/group"));
  ResolvedUser resolved;
  std::string user_name;
  bool found = false;
  for (const auto& entry : passwd) {
    if (entry.size() < 7) continue;
    if (entry[0] == name || (is_number(name) && entry[2] == name)) {
      if (!is_number(entry[2]) || !is_number(entry[3])) continue;
      resolved.uid = static_cast<uid_t>(std::stoul(entry[2]));
      resolved.gid = static_cast<gid_t>(std::stoul(entry[3]));
      resolved.home = entry[5].empty() ? "/" : entry[5];
      user_name = entry[0];
      found = true;
      break;
    }
  }
  if (!found) {
    if (!is_number(name))
      return make_error("unable to find user {}: no matching entries in passwd file", name);
    resolved.uid = static_cast<uid_t>(std::stoul(name));
    resolved.gid = 0;
  }
  if (group) {
    bool group_found = false;
    for (const auto& entry : groups) {
      if (entry.size() < 3 || !is_number(entry[2])) continue;
      if (entry[0] == *group || entry[2] == *group) {
        resolved.gid = static_cast<gid_t>(std::stoul(entry[2]));
        group_found = true;
        break;
      }
    }
    if (!group_found) {
      if (!is_number(*group))
        return make_error("unable to find group {}: no matching entries in group file", *group);
      resolved.gid = static_cast<gid_t>(std::stoul(*group));
    }
  }
  // Supplementary groups: every group that lists the user as a member.
  if (!user_name.empty()) {
    for (const auto& entry : groups) {
      if (entry.size() < 4 || !is_number(entry[2])) continue;
      std::vector<std::string> members = split(entry[3], ',');
      auto gid = static_cast<gid_t>(std::stoul(entry[2]));
      if (gid != resolved.gid &&
          std::find(members.begin(), members.end(), user_name) != members.end())
        resolved.additional_gids.push_back(gid);
    }
  }
  return resolved;
}

}  // namespace berth::launcher
