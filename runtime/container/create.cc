#include "container/create.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "container/init.h"
#include "container/state.h"
#include "container/sync.h"
#include "core/clock.h"
#include "core/defer.h"
#include "core/files.h"
#include "core/log.h"
#include "linux/cgroup.h"
#include "linux/cgroup_limits.h"
#include "linux/device_filter.h"
#include "linux/exe_protection.h"
#include "linux/hooks.h"
#include "linux/namespaces.h"
#include "linux/process.h"
#include "linux/seccomp.h"
#include "linux/terminal.h"
#include "spec/resources.h"
#include "spec/spec.h"

namespace berth::container {

namespace {

using spec::NamespaceType;

Status check_spec_is_runnable(const spec::Spec& spec, const CreateOptions& options,
                              bool keep_terminal) {
  if (!spec.process) return make_error("process: required to create a container");
  if (!spec.linux) return make_error("linux: required to create a container");
  if (!spec.linux->find_namespace(NamespaceType::Mount))
    return make_error("linux.namespaces: a mount namespace is required");
  if (!spec.hostname.empty() && !spec.linux->find_namespace(NamespaceType::Uts))
    return make_error("hostname: setting it needs a uts namespace");
  if (!spec.process->terminal && !options.console_socket.empty())
    return make_error("a console socket (--console-socket) needs process.terminal to be true");
  if (spec.process->terminal && options.console_socket.empty() && !keep_terminal)
    return make_error(
        "process.terminal: a terminal needs --console-socket when the container "
        "runs detached");
  // Not silently: a security setting that is not applied is said so.
  if (!spec.process->apparmor_profile.empty())
    log::warning("process.apparmorProfile \"{}\" is not applied: berth has no AppArmor support",
                 spec.process->apparmor_profile);
  if (!spec.process->selinux_label.empty())
    log::warning("process.selinuxLabel \"{}\" is not applied: berth has no SELinux support",
                 spec.process->selinux_label);
  return ok();
}

Result<std::string> absolute_bundle(const std::string& bundle) {
  char* resolved = ::realpath(bundle.c_str(), nullptr);
  if (!resolved) return sys_error("bundle {}", bundle);
  std::string path(resolved);
  std::free(resolved);
  return path;
}

std::string rootfs_path(const std::string& bundle, const std::string& root) {
  if (!root.empty() && root[0] == '/') return root;
  return bundle + "/" + root;
}

std::string hook_state_json(const ContainerState& state, ContainerStatus status) {
  ContainerState copy = state;
  copy.status = status;
  return copy.to_json().dump();
}

pid_t clone_init(const linux::NamespacePlan& plan, int cgroup_fd, int* pidfd) {
  struct clone_args args = {};
  args.flags = static_cast<uint64_t>(plan.clone_flags) | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  // No stack: clone3 then behaves like fork(), the child continuing here
  // on a copy of our stack.
  return static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
}

// Talk to the child until it is ready (see the protocol in sync.h).
Status drive_init(SyncSocket& sync, const spec::Spec& spec, const CreateOptions& options,
                  const ContainerState& state, bool keep_terminal, CreatedContainer& created) {
  for (;;) {
    auto message = TRY_VALUE(sync.receive());
    switch (message.type) {
      case SyncMessageType::kError:
        return Error(message.payload, message.errno_value);
      case SyncMessageType::kHooksRequest: {
        std::string json = hook_state_json(state, ContainerStatus::Creating);
        TRY(linux::run_hooks("prestart", spec.hooks.prestart, json));
        TRY(linux::run_hooks("createRuntime", spec.hooks.create_runtime, json));
        TRY(sync.send(SyncMessageType::kHooksDone, json));
        break;
      }
      case SyncMessageType::kPtyMaster:
        if (!options.console_socket.empty())
          TRY(linux::send_to_console_socket(options.console_socket, message.fd.get()));
        else if (keep_terminal)
          created.pty_master = std::move(message.fd);
        break;
      case SyncMessageType::kSeccompListener:
        TRY_CTX(linux::send_seccomp_listener(spec.linux->seccomp->listener_path, message.fd.get(),
                                             hook_state_json(state, ContainerStatus::Creating)),
                "linux.seccomp.listenerPath {}", spec.linux->seccomp->listener_path);
        break;
      case SyncMessageType::kReady:
        return ok();
      default:
        return make_error("sync protocol: unexpected message {}",
                          static_cast<uint32_t>(message.type));
    }
  }
}

}  // namespace

Result<CreatedContainer> create_container_process(const std::string& state_root,
                                                  const CreateOptions& options,
                                                  bool keep_terminal) {
  TRY(validate_container_id(options.id));
  std::string bundle = TRY_VALUE(absolute_bundle(options.bundle));
  spec::Spec spec = TRY_VALUE(spec::load_spec(bundle));
  TRY(check_spec_is_runnable(spec, options, keep_terminal));
  if (linux::container_may_ptrace_runtime(spec) && !linux::running_from_sealed_copy())
    return linux::reexec_from_sealed_copy();

  auto dir = TRY_VALUE(ContainerDirectory::create(state_root, options.id));
  Defer remove_dir([&] { (void)dir.remove(); });

  std::string fifo = dir.fifo_path();
  // 0622 exactly, whatever the umask: init reopens the fifo for writing
  // after switching to the container's user, who may not be root.
  if (::mkfifo(fifo.c_str(), 0622) < 0) return sys_error("mkfifo {}", fifo);
  if (::chmod(fifo.c_str(), 0622) < 0) return sys_error("chmod {}", fifo);
  auto fifo_fd = TRY_VALUE(open_file(fifo, O_PATH));

  // Converted before anything is made: a limit cgroup v2 cannot express
  // fails here, with nothing to undo.
  spec::Resources resources =
      TRY_VALUE(spec::parse_resources(spec.linux->resources, "linux.resources"));
  std::vector<linux::CgroupWrite> limits =
      TRY_VALUE(linux::cgroup_writes(resources, "linux.resources"));

  auto plan = TRY_VALUE(linux::plan_namespaces(*spec.linux));
  std::optional<linux::SeccompFilter> seccomp;
  if (spec.linux->seccomp)
    seccomp.emplace(TRY_VALUE(linux::SeccompFilter::compile(*spec.linux->seccomp)));
  linux::DevicePolicy device_policy = TRY_VALUE(linux::device_policy(*spec.linux));

  std::string cgroup_dir;
  std::vector<std::string> created_cgroups;
  UniqueFd cgroup_fd;
  std::string cgroup_mount = TRY_VALUE(linux::find_cgroup2_mount());
  if (!cgroup_mount.empty()) {
    cgroup_dir =
        TRY_VALUE(linux::cgroup_directory(cgroup_mount, spec.linux->cgroups_path, options.id));
    cgroup_fd = TRY_VALUE(linux::create_cgroup(cgroup_dir, created_cgroups));
  } else if (!limits.empty()) {
    return make_error(
        "{}: this host has no cgroup v2 hierarchy, and berth applies limits only "
        "through cgroup v2",
        limits.front().field);
  }
  Defer remove_cgroups([&] {
    for (auto it = created_cgroups.rbegin(); it != created_cgroups.rend(); ++it)
      (void)linux::remove_cgroup(*it);
  });
  if (!cgroup_dir.empty()) {
    // Limits are in place before init is cloned into the cgroup, so no
    // code of the container ever runs unlimited.
    TRY(linux::enable_controllers(cgroup_mount, cgroup_dir, limits));
    TRY(linux::write_limits(cgroup_dir, limits));
  }
  // Before clone3: init runs under the filter from its first instruction.
  TRY(linux::install_device_filter(device_policy, cgroup_fd.get(), cgroup_dir));

  ContainerState state;
  state.oci_version = spec.oci_version;
  state.id = options.id;
  state.bundle = bundle;
  state.rootfs = rootfs_path(bundle, spec.root.path);
  state.annotations = spec.annotations;

  auto [parent_sync, child_sync] = TRY_VALUE(SyncSocket::make_pair());
  int pidfd = -1;
  pid_t pid = -1;
  // Armed before clone3 returns, so that no error path below can leave a
  // half-made init behind.
  // (kill by pid, not pidfd: the pidfd's owner may be gone by then, and an
  // unreaped child's pid cannot be reused.)
  Defer kill_init([&] {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  });
  {
    auto switched = TRY_VALUE(linux::ParentNamespaceSwitch::enter(plan, *spec.linux));
    pid = clone_init(plan, cgroup_fd.get(), &pidfd);
    if (pid == 0) {
      dir.close_inherited_lock();
      cgroup_fd.reset();
      parent_sync.close();
      InitContext context;
      context.spec = &spec;
      context.id = options.id;
      context.namespaces = &plan;
      context.mounts.rootfs = state.rootfs;
      context.mounts.user_namespace = plan.has(NamespaceType::User);
      context.mounts.network_namespace = plan.has(NamespaceType::Network);
      context.mounts.cgroup_namespace = plan.has(NamespaceType::Cgroup);
      context.mounts.cgroup_host_path = cgroup_dir;
      context.mounts.mount_label = spec.linux->mount_label;
      context.no_pivot = options.no_pivot;
      context.no_new_keyring = options.no_new_keyring;
      context.preserve_fds = options.preserve_fds;
      const spec::Hooks& hooks = spec.hooks;
      context.create_hooks = !hooks.prestart.empty() || !hooks.create_runtime.empty() ||
                             !hooks.create_container.empty() || !hooks.start_container.empty();
      context.sync = &child_sync;
      context.exec_fifo = fifo_fd.release();
      context.seccomp = &seccomp;
      run_container_init(context);
    }
    if (pid < 0) return sys_error("clone3 the container's init (flags {:#x})", plan.clone_flags);
    TRY(switched.restore());
  }
  CreatedContainer created;
  created.pid = pid;
  created.pidfd.reset(pidfd);
  child_sync.close();
  state.pid = pid;

  if (plan.new_user) {
    TRY(linux::write_id_mappings(pid, *spec.linux));
    TRY(parent_sync.send(SyncMessageType::kMappingsDone));
  }
  if (auto status = drive_init(parent_sync, spec, options, state, keep_terminal, created);
      !status) {
    if (status.error().errno_value() == EPIPE) {
      int wait_status = 0;
      ::waitpid(pid, &wait_status, 0);
      kill_init.release();
      return make_error("container init {} before it was ready",
                        linux::describe_wait_status(wait_status));
    }
    return status.error();
  }

  StoredState stored;
  state.created = rfc3339_now(true);
  stored.state = state;
  stored.init_start_time = linux::process_start_time(pid);
  stored.cgroup_dir = cgroup_dir;
  stored.resources = spec::resources_to_json(resources);
  stored.own_pid_namespace = ((plan.clone_flags | plan.unshare_flags) & CLONE_NEWPID) != 0;
  stored.hooks = {{"poststart", nlohmann::json::array()}, {"poststop", nlohmann::json::array()}};
  for (const auto& [name, list] : {std::pair{"poststart", &spec.hooks.poststart},
                                   std::pair{"poststop", &spec.hooks.poststop}}) {
    for (const spec::Hook& hook : *list) {
      nlohmann::json h = {{"path", hook.path}, {"args", hook.args}, {"env", hook.env}};
      if (hook.timeout) h["timeout"] = *hook.timeout;
      stored.hooks[name].push_back(h);
    }
  }
  TRY(dir.save(stored));
  if (!options.pid_file.empty())
    TRY_CTX(write_file_atomic(options.pid_file, std::to_string(pid)), "write pid file");

  remove_dir.release();
  remove_cgroups.release();
  kill_init.release();
  log::debug("created container {} with init pid {}", options.id, pid);
  return created;
}

Status create_container(const std::string& state_root, const CreateOptions& options) {
  auto created = create_container_process(state_root, options, false);
  if (!created) return created.error();
  return ok();
}

}  // namespace berth::container
