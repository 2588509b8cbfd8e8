#include "container/create.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "container/init.h"
#include "container/state.h"
#include "container/sync.h"
#include "core/c_handle.h"
#include "core/clock.h"
#include "core/defer.h"
#include "core/files.h"
#include "core/log.h"
#include "linux/cgroup.h"
#include "linux/cgroup_limits.h"
#include "linux/child_process.h"
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
  CHandle<char, ::free> resolved(::realpath(bundle.c_str(), nullptr));
  if (!resolved) return sys_error("bundle {}", bundle);
  return std::string(resolved.get());
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

// The spec and everything create converts from it before anything is made:
// a limit cgroup v2 cannot express or a bad namespace path fails here, with
// nothing to undo.
struct LoadedBundle {
  std::string bundle;  // absolute
  spec::Spec spec;
  spec::Resources resources;
  std::vector<linux::CgroupWrite> limits;
  linux::NamespacePlan namespaces;
  std::optional<linux::SeccompFilter> seccomp;
  linux::DevicePolicy device_policy;
};

Result<LoadedBundle> load_and_check(const CreateOptions& options, bool keep_terminal) {
  TRY(validate_container_id(options.id));
  LoadedBundle loaded;
  loaded.bundle = TRY_VALUE(absolute_bundle(options.bundle));
  loaded.spec = TRY_VALUE(spec::load_spec(loaded.bundle));
  const spec::Spec& spec = loaded.spec;
  TRY(check_spec_is_runnable(spec, options, keep_terminal));
  if (linux::container_may_ptrace_runtime(spec) && !linux::running_from_sealed_copy())
    return linux::reexec_from_sealed_copy();
  loaded.resources = TRY_VALUE(spec::parse_resources(spec.linux->resources, "linux.resources"));
  loaded.limits = TRY_VALUE(linux::cgroup_writes(loaded.resources, "linux.resources"));
  loaded.namespaces = TRY_VALUE(linux::plan_namespaces(*spec.linux));
  if (spec.linux->seccomp)
    loaded.seccomp.emplace(TRY_VALUE(linux::SeccompFilter::compile(*spec.linux->seccomp)));
  loaded.device_policy = TRY_VALUE(linux::device_policy(*spec.linux));
  return loaded;
}

// <state>/exec.fifo, and an O_PATH fd of it for init, which opens it for
// writing to wait for `start`.
Result<UniqueFd> make_exec_fifo(const ContainerDirectory& dir) {
  std::string fifo = dir.fifo_path();
  // 0622 exactly, whatever the umask: init reopens the fifo for writing
  // after switching to the container's user, who may not be root.
  if (::mkfifo(fifo.c_str(), 0622) < 0) return sys_error("mkfifo {}", fifo);
  if (::chmod(fifo.c_str(), 0622) < 0) return sys_error("chmod {}", fifo);
  return open_file(fifo, O_PATH);
}

// The container's cgroup while create runs: removed again, with every
// parent directory this create made, unless released.
struct ContainerCgroup {
  std::string dir;  // "" on a host without cgroup v2
  UniqueFd fd;      // for CLONE_INTO_CGROUP
  std::vector<std::string> created;

  ContainerCgroup() = default;
  ContainerCgroup(ContainerCgroup&&) = default;  // leaves other.created empty
  ~ContainerCgroup() {
    for (auto it = created.rbegin(); it != created.rend(); ++it) (void)linux::remove_cgroup(*it);
  }
  void release() { created.clear(); }
};

Result<ContainerCgroup> set_up_cgroup(const LoadedBundle& loaded, const std::string& id) {
  ContainerCgroup cgroup;
  std::string mount = TRY_VALUE(linux::find_cgroup2_mount());
  if (!mount.empty()) {
    cgroup.dir = TRY_VALUE(linux::cgroup_directory(mount, loaded.spec.linux->cgroups_path, id));
    cgroup.fd = TRY_VALUE(linux::create_cgroup(cgroup.dir, cgroup.created));
    // Limits are in place before init is cloned into the cgroup, so no
    // code of the container ever runs unlimited.
    TRY(linux::enable_controllers(mount, cgroup.dir, loaded.limits));
    TRY(linux::write_limits(cgroup.dir, loaded.limits));
  } else if (!loaded.limits.empty()) {
    return make_error(
        "{}: this host has no cgroup v2 hierarchy, and berth applies limits only "
        "through cgroup v2",
        loaded.limits.front().field);
  }
  // Before clone3: init runs under the filter from its first instruction.
  TRY(linux::install_device_filter(loaded.device_policy, cgroup.fd.get(), cgroup.dir));
  return cgroup;
}

ContainerState initial_state(const LoadedBundle& loaded, const std::string& id) {
  ContainerState state;
  state.oci_version = loaded.spec.oci_version;
  state.id = id;
  state.bundle = loaded.bundle;
  state.rootfs = rootfs_path(loaded.bundle, loaded.spec.root.path);
  state.annotations = loaded.spec.annotations;
  return state;
}

// What init needs, made before clone3 (the child only reads it).
InitContext init_context(LoadedBundle& loaded, const ContainerState& state,
                         const std::string& cgroup_dir, const CreateOptions& options) {
  const spec::Spec& spec = loaded.spec;
  const linux::NamespacePlan& plan = loaded.namespaces;
  InitContext context;
  context.spec = &spec;
  context.id = options.id;
  context.namespaces = &loaded.namespaces;
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
  context.seccomp = &loaded.seccomp;
  return context;
}

// clone3 init into its new namespaces and the cgroup; the child runs
// run_container_init and never comes back here.
Result<linux::ChildProcess> clone_init(InitContext& context, const LoadedBundle& loaded,
                                       ContainerCgroup& cgroup, ContainerDirectory& dir,
                                       SyncSocket& parent_sync) {
  const linux::NamespacePlan& plan = loaded.namespaces;
  auto switched = TRY_VALUE(linux::ParentNamespaceSwitch::enter(plan, *loaded.spec.linux));
  linux::CloneRequest request = {static_cast<uint64_t>(plan.clone_flags), cgroup.fd.get()};
  auto init = linux::clone_child(request, [&] {
    dir.close_inherited_lock();
    cgroup.fd.reset();
    parent_sync.close();
    run_container_init(context);
  });
  if (!init) return init.error().add_context("start the container's init");
  TRY(switched.restore());
  return init;
}

// Talk to init until it is ready (see the protocol in sync.h).
Status drive_init(SyncSocket& sync, const spec::Spec& spec, const CreateOptions& options,
                  const ContainerState& state, bool keep_terminal, CreatedContainer& created) {
  for (;;) {
    auto message = TRY_VALUE(sync.receive());
    switch (message.type) {
      case SyncMessageType::kEndOfStream: {
        // init died without a word (what it could say went to its stderr).
        int wait_status = TRY_VALUE(created.init.wait());
        return make_error("container init {} before it was ready",
                          linux::describe_wait_status(wait_status));
      }
      case SyncMessageType::kError:
        return message.error();
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

// What `start`, `state`, `delete` read back.
StoredState stored_state(const LoadedBundle& loaded, ContainerState state,
                         const std::string& cgroup_dir, pid_t pid) {
  const linux::NamespacePlan& plan = loaded.namespaces;
  StoredState stored;
  state.created = rfc3339_now(true);
  stored.state = std::move(state);
  stored.init_start_time = linux::process_start_time(pid);
  stored.cgroup_dir = cgroup_dir;
  stored.resources = spec::resources_to_json(loaded.resources);
  stored.own_pid_namespace = ((plan.clone_flags | plan.unshare_flags) & CLONE_NEWPID) != 0;
  stored.hooks = {{"poststart", nlohmann::json::array()}, {"poststop", nlohmann::json::array()}};
  const spec::Hooks& hooks = loaded.spec.hooks;
  for (const auto& [name, list] :
       {std::pair{"poststart", &hooks.poststart}, std::pair{"poststop", &hooks.poststop}}) {
    for (const spec::Hook& hook : *list) {
      nlohmann::json h = {{"path", hook.path}, {"args", hook.args}, {"env", hook.env}};
      if (hook.timeout) h["timeout"] = *hook.timeout;
      stored.hooks[name].push_back(h);
    }
  }
  return stored;
}

}  // namespace

// The steps of create, in order. Each guard (state dir, cgroup, init)
// undoes its step if a later one fails.
Result<CreatedContainer> create_container_process(const std::string& state_root,
                                                  const CreateOptions& options,
                                                  bool keep_terminal) {
  LoadedBundle loaded = TRY_VALUE(load_and_check(options, keep_terminal));
  auto dir = TRY_VALUE(ContainerDirectory::create(state_root, options.id));
  Defer remove_dir([&] { (void)dir.remove(); });
  UniqueFd fifo = TRY_VALUE(make_exec_fifo(dir));
  ContainerCgroup cgroup = TRY_VALUE(set_up_cgroup(loaded, options.id));
  ContainerState state = initial_state(loaded, options.id);

  auto [parent_sync, child_sync] = TRY_VALUE(SyncSocket::make_pair());
  InitContext context = init_context(loaded, state, cgroup.dir, options);
  context.sync = &child_sync;
  context.exec_fifo = fifo.get();
  CreatedContainer created;
  created.init = TRY_VALUE(clone_init(context, loaded, cgroup, dir, parent_sync));
  child_sync.close();
  state.pid = created.init.pid();

  if (loaded.namespaces.new_user) {
    TRY(linux::write_id_mappings(state.pid, *loaded.spec.linux));
    TRY(parent_sync.send(SyncMessageType::kMappingsDone));
  }
  TRY(drive_init(parent_sync, loaded.spec, options, state, keep_terminal, created));

  TRY(dir.save(stored_state(loaded, state, cgroup.dir, state.pid)));
  if (!options.pid_file.empty())
    TRY_CTX(write_file_atomic(options.pid_file, std::to_string(state.pid)), "write pid file");
  remove_dir.release();
  cgroup.release();
  log::debug("created container {} with init pid {}", options.id, state.pid);
  return created;
}

Status create_container(const std::string& state_root, const CreateOptions& options) {
  auto created = create_container_process(state_root, options, false);
  if (!created) return created.error();
  // init waits for `start`, in a process of its own.
  created->init.release();
  return ok();
}

}  // namespace berth::container
