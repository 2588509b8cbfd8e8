// Docker's -u/--user and the image's User: "name", "uid", "name:group",
// "uid:gid", looked up in the container's own /etc/passwd and /etc/group
// (never the host's), read safely inside the rootfs.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace berth::launcher {

struct ResolvedUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;  // the user's groups in /etc/group, as Docker adds
  std::string home = "/";
};

Result<ResolvedUser> resolve_user(int rootfs_fd, const std::string& user);

}  // namespace berth::launcher
