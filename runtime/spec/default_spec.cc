// The config.json that `berth-runtime spec [--rootless]` writes: the same
// document as runc 1.1's `runc spec [--rootless]`, so bundles and scripts
// made for runc work unchanged.
#include <unistd.h>

#include "spec/spec.h"

namespace berth::spec {
namespace {

using nlohmann::json;

json default_capabilities() {
  json names = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  return {{"bounding", names}, {"effective", names}, {"permitted", names}, {"ambient", names}};
}

json default_process() {
  return {
      {"terminal", true},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", {"sh"}},
      {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
      {"cwd", "/"},
      {"capabilities", default_capabilities()},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true},
  };
}

json mount(const char* destination, const char* type, const char* source, json options) {
  json entry = {{"destination", destination}, {"type", type}, {"source", source}};
  if (!options.empty()) entry["options"] = std::move(options);
  return entry;
}

// Rootless differs as runc's ToRootless makes it: no gid=5 on devpts (an
// unprivileged user namespace maps only the caller's own group), and /sys
// bind-mounted from the host, since sysfs cannot be mounted without owning
// the network namespace, which rootless containers share with the host.
json default_mounts(bool rootless) {
  json devpts_options = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
  if (!rootless) devpts_options.push_back("gid=5");
  json sys = rootless ? mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"})
                      : mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"});
  return json::array({
      mount("/proc", "proc", "proc", json::array()),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts", devpts_options),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      sys,
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  });
}

json namespaces(std::initializer_list<const char*> types) {
  json out = json::array();
  for (const char* type : types) out.push_back({{"type", type}});
  return out;
}

json id_mapping(uint32_t host_id) {
  return json::array({{{"containerID", 0}, {"hostID", host_id}, {"size", 1}}});
}

json default_linux(bool rootless) {
  json linux = {
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  if (rootless) {
    // The caller's own ids are the only ones an unprivileged user may map.
    linux["uidMappings"] = id_mapping(geteuid());
    linux["gidMappings"] = id_mapping(getegid());
    linux["namespaces"] = namespaces({"pid", "ipc", "uts", "mount", "user"});
  } else {
    linux["resources"] = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
    linux["namespaces"] = namespaces({"pid", "network", "ipc", "uts", "mount"});
  }
  return linux;
}

}  // namespace

nlohmann::json default_spec_json(bool rootless) {
  return {
      {"ociVersion", "1.0.2-dev"},  // what runc 1.1 writes, byte for byte
      {"process", default_process()},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "berth"},  // runc writes "runc"; everything else is as runc's
      {"mounts", default_mounts(rootless)},
      {"linux", default_linux(rootless)},
  };
}

}  // namespace berth::spec
