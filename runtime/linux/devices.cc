// /dev in the rootfs: the default device nodes, the spec's devices and the
// usual links, made before pivot_root as runc does (createDevices,
// setupPtmx, setupDevSymlinks).
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "core/files.h"
#include "linux/mount_internal.h"

namespace berth::linux {

namespace {

struct DeviceNode {
  char type;  // 'c', 'b', 'p' ('u' is a char device)
  std::string path;
  int64_t major;
  int64_t minor;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

// Every container gets these (runc's AllowedDevices with a path); a spec
// device at the same path replaces the default.
const DeviceNode kDefaultDevices[] = {
    {'c', "/dev/null", 1, 3, 0666, 0, 0},    {'c', "/dev/zero", 1, 5, 0666, 0, 0},
    {'c', "/dev/full", 1, 7, 0666, 0, 0},    {'c', "/dev/random", 1, 8, 0666, 0, 0},
    {'c', "/dev/urandom", 1, 9, 0666, 0, 0}, {'c', "/dev/tty", 5, 0, 0666, 0, 0},
};

// runc leaves /dev alone only when the spec bind-mounts something (the
// host's /dev, typically) onto it; a tmpfs /dev, or the image's own /dev,
// gets the nodes.
bool needs_dev_setup(const spec::Spec& spec) {
  for (const spec::Mount& mount : spec.mounts) {
    auto options = parse_mount_options(mount.options);
    if (options && is_bind_mount(mount, *options) && clean_path(mount.destination) == "/dev")
      return false;
  }
  return true;
}

bool is_mount_destination(const spec::Spec& spec, const std::string& path) {
  for (const spec::Mount& mount : spec.mounts)
    if (clean_path(mount.destination) == path) return true;
  return false;
}

std::vector<DeviceNode> devices_to_create(const spec::Spec& spec) {
  std::vector<DeviceNode> nodes;
  const std::vector<spec::Device> none;
  const std::vector<spec::Device>& wanted = spec.linux ? spec.linux->devices : none;
  for (const DeviceNode& node : kDefaultDevices) {
    bool replaced = false;
    for (const spec::Device& device : wanted)
      if (clean_path(device.path) == node.path) replaced = true;
    if (!replaced) nodes.push_back(node);
  }
  for (const spec::Device& device : wanted) {
    nodes.push_back(DeviceNode{device.type, clean_path(device.path), device.major, device.minor,
                               static_cast<mode_t>(device.file_mode.value_or(0666) & 07777),
                               device.uid.value_or(0), device.gid.value_or(0)});
  }
  return nodes;
}

mode_t file_type_bits(char type) {
  switch (type) {
    case 'b':
      return S_IFBLK;
    case 'p':
      return S_IFIFO;
    default:
      return S_IFCHR;  // 'c' and 'u'
  }
}

std::string basename_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }
std::string dirname_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Without CAP_MKNOD in the init user namespace the node cannot be made;
// the host's own node is bound onto an empty file instead (runc).
Status bind_host_device(int rootfs_fd, const DeviceNode& node) {
  UniqueFd target = TRY_VALUE(make_path_in_rootfs(rootfs_fd, node.path, true, 0600));
  if (::mount(node.path.c_str(), proc_fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) < 0)
    return sys_error("bind-mount the host's {}", node.path);
  return ok();
}

Status create_device(int rootfs_fd, const DeviceNode& node, bool user_namespace) {
  if (user_namespace) return bind_host_device(rootfs_fd, node);
  UniqueFd dir = TRY_VALUE(make_path_in_rootfs(rootfs_fd, dirname_of(node.path), false));
  std::string name = basename_of(node.path);
  dev_t number = node.type == 'p' ? 0
                                  : makedev(static_cast<unsigned>(node.major),
                                            static_cast<unsigned>(node.minor));
  if (::mknodat(dir.get(), name.c_str(), file_type_bits(node.type) | node.mode, number) < 0) {
    // Something already there (the image's own node) is kept, as in runc.
    if (errno == EEXIST) return ok();
    if (errno == EPERM) return bind_host_device(rootfs_fd, node);
    return sys_error("mknod {} ({}:{})", node.path, node.major, node.minor);
  }
  // mknod's mode went through the umask.
  if (::fchmodat(dir.get(), name.c_str(), node.mode, 0) < 0)
    return sys_error("chmod {} to {:o}", node.path, node.mode);
  if (::fchownat(dir.get(), name.c_str(), node.uid, node.gid, AT_SYMLINK_NOFOLLOW) < 0)
    return sys_error("chown {} to {}:{}", node.path, node.uid, node.gid);
  return ok();
}

Status create_dev_links(const spec::Spec& spec, int rootfs_fd) {
  UniqueFd dev = TRY_VALUE(make_path_in_rootfs(rootfs_fd, "/dev", false));
  std::vector<std::pair<const char*, const char*>> links = {
      {"/proc/self/fd", "fd"},
      {"/proc/self/fd/0", "stdin"},
      {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"},
  };
  // /proc/kcore exists only with CONFIG_PROC_KCORE; the host's /proc tells.
  if (::access("/proc/kcore", F_OK) == 0) links.emplace_back("/proc/kcore", "core");
  for (const auto& [target, name] : links) {
    // An existing name (the image's, or one the spec mounted) is kept.
    if (::symlinkat(target, dev.get(), name) < 0 && errno != EEXIST)
      return sys_error("symlink /dev/{} -> {}", name, target);
  }
  // With a devpts of its own (newinstance) the container's ptys come from
  // pts/ptmx; an image's ptmx node would open the host's instance.
  if (is_mount_destination(spec, "/dev/ptmx")) return ok();
  if (::unlinkat(dev.get(), "ptmx", 0) < 0 && errno != ENOENT) return sys_error("remove /dev/ptmx");
  if (::symlinkat("pts/ptmx", dev.get(), "ptmx") < 0)
    return sys_error("symlink /dev/ptmx -> pts/ptmx");
  return ok();
}

}  // namespace

Status populate_dev(const spec::Spec& spec, const MountContext& context) {
  if (!needs_dev_setup(spec)) return ok();
  UniqueFd rootfs = TRY_VALUE(open_file(context.rootfs, O_PATH | O_DIRECTORY));
  for (const DeviceNode& node : devices_to_create(spec)) {
    if (node.path == "/dev/ptmx") continue;  // the pts/ptmx link below
    TRY_CTX(create_device(rootfs.get(), node, context.user_namespace), "device {}", node.path);
  }
  return create_dev_links(spec, rootfs.get());
}

}  // namespace berth::linux
