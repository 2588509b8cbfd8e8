// exec: a new process in a running container, as `runc exec`.
//
// The parent is the caller (`berth-runtime exec`); the child becomes the new
// process. They talk over a SOCK_SEQPACKET pair with sync.h's messages:
//
//   parent (berth-runtime exec)                  child (the new process)
//   ---------------------------------            --------------------------------
//   lock <root>/<id>, check the status,
//   pidfd of init (start time checked),
//   open /proc/<init>/ns/*, compile seccomp
//   setns pid, time (they apply to children)
//   clone3(INTO_CGROUP, PIDFD) ----------------> non-dumpable, parent-death signal
//   back to our own pid and time namespaces      setns user (then uid 0 in it), ipc,
//                                                uts, net, cgroup, mnt; session keyring
//                 <----------------------------- kPtyMaster + fd        [process.terminal]
//   to --console-socket, or kept for the relay   rlimits, bounding set, seccomp, user,
//                                                capability sets, umask, cwd, no_new_privs
//                 <----------------------------- kSeccompListener + fd  [SCMP_ACT_NOTIFY]
//   to linux.seccomp.listenerPath
//                 <----------------------------- kReady: execve comes next
//                 <----------------------------- end-of-stream: execve succeeded (the
//                                                socket is close-on-exec)
//   unlock, pid file; supervise, or return (detach)
//
// Any step may instead send kError (errno, kind and the message of the step
// that failed) and exit, execve's own failure included: a missing binary
// arrives with kind kExecNotFound and one that may not be executed with
// kExecPermissionDenied, so a launcher can turn them into 127 and 126.
// kEndOfStream before kReady means the child died without a word.
#include "container/exec.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <optional>
#include <sstream>

#include "container/process_setup.h"
#include "container/state.h"
#include "container/sync.h"
#include "core/files.h"
#include "core/log.h"
#include "linux/cgroup.h"
#include "linux/child_process.h"
#include "linux/exe_protection.h"
#include "linux/namespaces.h"
#include "linux/process.h"
#include "linux/seccomp.h"
#include "linux/terminal.h"

namespace berth::container {

namespace {

using spec::NamespaceType;

Status check_options(const ExecOptions& options) {
  const spec::Process& process = options.process;
  if (process.args.empty()) return make_error("process args cannot be empty");
  if (process.cwd.empty() || process.cwd[0] != '/')
    return make_error("process cwd \"{}\" must be an absolute path", process.cwd);
  // runc's rules: a detached terminal needs somewhere to go, and the console
  // socket is only for a detached terminal (a foreground one is relayed).
  if (process.terminal && options.detach && options.console_socket.empty())
    return make_error(
        "a terminal (--tty) needs a console socket (--console-socket) when the process runs "
        "detached");
  if (!options.console_socket.empty() && (!options.detach || !process.terminal))
    return make_error(
        "a console socket (--console-socket) is only used with --detach and a terminal (--tty)");
  return ok();
}

Error not_running(const std::string& id) {
  return Error(fmt::format("container \"{}\" is not running", id), ESRCH);
}

// What the process gets from the container when its Process does not say,
// as runc's libcontainer does: the container's capabilities (a Process
// without them would otherwise keep all of ours), rlimits and oom score.
spec::Process with_container_defaults(const spec::Process& given, const spec::Spec& spec) {
  spec::Process process = given;
  if (!spec.process) return process;
  if (!process.capabilities) process.capabilities = spec.process->capabilities;
  if (process.rlimits.empty()) process.rlimits = spec.process->rlimits;
  if (!process.oom_score_adj) process.oom_score_adj = spec.process->oom_score_adj;
  return process;
}

// The cgroup v2 directory init is in now (the host's view), for when the
// container's own cgroup cannot take a process.
Result<std::string> current_cgroup_dir(pid_t pid) {
  std::string mount = TRY_VALUE(linux::find_cgroup2_mount());
  auto content = TRY_VALUE(read_file(fmt::format("/proc/{}/cgroup", pid)));
  std::istringstream lines(content);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind("0::", 0) == 0 && !mount.empty()) return mount + line.substr(3);
  return make_error("process {} is in no cgroup v2", pid);
}

// --- the child -------------------------------------------------------------

struct ExecChild {
  std::string id;
  const spec::Process* process = nullptr;
  linux::NamespacePlan* namespaces = nullptr;
  linux::SeccompFilter* seccomp = nullptr;  // null: no linux.seccomp
  SyncSocket* sync = nullptr;
  int preserve_fds = 0;
};

// Everything up to kReady; an error here becomes exec's error.
Result<std::string> prepare_child(ExecChild& child) {
  linux::NamespacePlan& plan = *child.namespaces;
  TRY(linux::enter_namespaces(plan));
  if (plan.has(NamespaceType::User)) TRY(become_root_in_user_namespace());
  TRY(join_session_keyring(child.id));
  const spec::Process& process = *child.process;
  if (process.terminal) {
    // Opened after joining the mount namespace: the pty is the container's
    // own devpts instance, as init's is.
    auto master = TRY_VALUE(linux::setup_process_terminal(process.console_size));
    TRY(child.sync->send(SyncMessageType::kPtyMaster, {}, master.get()));
  }
  auto executable = TRY_VALUE(linux::find_executable(process.args[0], process.env));
  TRY(set_up_process(process, child.seccomp, [&child](int listener) {
    return child.sync->send(SyncMessageType::kSeccompListener, {}, listener);
  }));
  return executable;
}

[[noreturn]] void run_exec_child(ExecChild& child) {
  // Until execve the parent is waiting on us: if it dies, so do we.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Non-dumpable before entering the container: its processes must not
  // reach our /proc/<pid>/exe, fds or memory (CVE-2019-5736).
  ::prctl(PR_SET_DUMPABLE, 0);
  auto executable = prepare_child(child);
  if (!executable) {
    (void)child.sync->send_error(executable.error());
    _exit(1);
  }
  if (!child.sync->send(SyncMessageType::kReady)) _exit(1);
  // Nothing of the runtime's may leak into the process: every fd above
  // stdio and the --preserve-fds ones is closed on exec, the sync socket
  // included (its end-of-file tells the parent that execve succeeded).
  linux::close_runtime_fds_on_exec(child.preserve_fds);
  linux::reset_signals();
  // A detached process outlives the runtime.
  ::prctl(PR_SET_PDEATHSIG, 0);
  Error error = linux::exec_process(executable.value(), *child.process);
  (void)child.sync->send_error(error);
  _exit(127);
}

// --- the parent ------------------------------------------------------------

struct ChildReport {
  bool execed = false;  // false: the child died before kReady
  UniqueFd pty_master;  // process.terminal without a console socket
};

// Talk to the child until it has exec'ed (see the protocol at the top).
Result<ChildReport> drive_child(SyncSocket& sync, const spec::Spec& spec, const StoredState& stored,
                                const ExecOptions& options) {
  ChildReport report;
  bool ready = false;
  for (;;) {
    auto message = TRY_VALUE(sync.receive());
    switch (message.type) {
      case SyncMessageType::kEndOfStream:
        report.execed = ready;
        return report;
      case SyncMessageType::kError:
        return message.error();
      case SyncMessageType::kPtyMaster:
        if (!options.console_socket.empty())
          TRY(linux::send_to_console_socket(options.console_socket, message.fd.get()));
        else
          report.pty_master = std::move(message.fd);
        break;
      case SyncMessageType::kSeccompListener: {
        ContainerState state = stored.state;
        state.status = ContainerStatus::Running;
        const std::string& path = spec.linux->seccomp->listener_path;
        TRY_CTX(linux::send_seccomp_listener(path, message.fd.get(), state.to_json().dump()),
                "linux.seccomp.listenerPath {}", path);
        break;
      }
      case SyncMessageType::kReady:
        ready = true;
        break;
      default:
        return make_error("sync protocol: unexpected message {}",
                          static_cast<uint32_t>(message.type));
    }
  }
}

void warn_unsupported(const spec::Process& process) {
  if (!process.apparmor_profile.empty())
    log::warning("AppArmor profile \"{}\" is not applied: berth has no AppArmor support",
                 process.apparmor_profile);
  if (!process.selinux_label.empty())
    log::warning("SELinux label \"{}\" is not applied: berth has no SELinux support",
                 process.selinux_label);
}

// The container as exec finds it. The directory stays locked until the
// process has exec'ed, so that no delete can pull the container from under
// the set-up; not while it runs.
struct ExecTarget {
  std::optional<ContainerDirectory> dir;
  StoredState stored;
  spec::Spec spec;  // the bundle's config.json, as `create` read it
};

Result<ExecTarget> load_running_container(const std::string& state_root,
                                          const ExecOptions& options) {
  TRY(check_options(options));
  ExecTarget target;
  target.dir.emplace(TRY_VALUE(ContainerDirectory::open(state_root, options.id)));
  target.stored = TRY_VALUE(target.dir->load());
  // runc 1.1 refuses only stopped and paused containers: a created one,
  // whose init still waits for `start`, has its namespaces and cgroup, and
  // takes an exec as a running one does.
  switch (current_status(target.stored, *target.dir)) {
    case ContainerStatus::Stopped:
      return Error(fmt::format("cannot exec in a stopped container \"{}\"", options.id), ESRCH);
    case ContainerStatus::Paused:
      // Its cgroup is frozen: the new process would freeze before it ran.
      return make_error("cannot exec in a paused container \"{}\"", options.id);
    default:
      break;
  }
  // The container-level settings (namespaces, seccomp) come from the
  // bundle's config.json.
  const std::string& bundle = target.stored.state.bundle;
  target.spec = TRY_VALUE(spec::load_spec(bundle));
  if (!target.spec.linux) return make_error("{}/config.json: linux: required", bundle);
  return target;
}

spec::Process process_to_run(const ExecOptions& options, const spec::Spec& spec) {
  spec::Process process = with_container_defaults(options.process, spec);
  // A pty relayed to our terminal gets its size before the process runs
  // (copying it after the exec would race the process's first look).
  struct winsize size = {};
  if (process.terminal && !process.console_size && options.console_socket.empty() &&
      !options.detach && ::ioctl(0, TIOCGWINSZ, &size) == 0 && size.ws_row > 0)
    process.console_size = spec::ConsoleSize{size.ws_row, size.ws_col};
  warn_unsupported(process);
  return process;
}

// Our child sits in the container's pid namespace until its execve: a
// process there that may ptrace us must find a sealed copy of the binary.
Status reexec_if_process_may_ptrace(const spec::Spec& spec, const spec::Process& process) {
  spec::Spec as_exec = spec;
  as_exec.process = process;
  if ((linux::container_may_ptrace_runtime(spec) || linux::container_may_ptrace_runtime(as_exec)) &&
      !linux::running_from_sealed_copy())
    return linux::reexec_from_sealed_copy();
  return ok();
}

// What the new process joins: init's namespaces, cgroup and seccomp filter.
struct JoinedContainer {
  linux::NamespacePlan namespaces;
  std::optional<linux::SeccompFilter> seccomp;
  UniqueFd cgroup_fd;  // invalid without cgroup v2
};

Result<JoinedContainer> open_container(const ExecTarget& target, const std::string& id) {
  const StoredState& stored = target.stored;
  UniqueFd init_pidfd = TRY_VALUE(open_init_pidfd(stored));
  std::vector<NamespaceType> types;
  for (const spec::Namespace& ns : target.spec.linux->namespaces) types.push_back(ns.type);
  auto plan = linux::plan_joining_process(stored.state.pid, types);
  // The fds were opened by pid: they are init's if init is still alive now.
  if (TRY_VALUE(linux::wait_for_exit(init_pidfd.get(), 0))) return not_running(id);
  if (!plan) return plan.error().add_context("open the container's namespaces");
  JoinedContainer joined;
  joined.namespaces = std::move(plan.value());
  if (target.spec.linux->seccomp)
    joined.seccomp.emplace(TRY_VALUE(linux::SeccompFilter::compile(*target.spec.linux->seccomp)));
  if (!stored.cgroup_dir.empty())
    joined.cgroup_fd = TRY_VALUE(open_file(stored.cgroup_dir, O_RDONLY | O_DIRECTORY));
  return joined;
}

// clone3 the child into the container's cgroup (CLONE_INTO_CGROUP: it is
// there before it runs any code); it runs run_exec_child and never comes
// back here.
Result<linux::ChildProcess> clone_exec_child(ExecChild& child, JoinedContainer& joined,
                                             ExecTarget& target, SyncSocket& parent_sync,
                                             const std::string& id) {
  auto switched =
      TRY_VALUE(linux::ParentNamespaceSwitch::enter(joined.namespaces, *target.spec.linux));
  auto in_child = [&] {
    target.dir->close_inherited_lock();
    parent_sync.close();
    run_exec_child(child);
  };
  auto cloned = linux::clone_child({0, joined.cgroup_fd.get()}, in_child);
  if (!cloned && cloned.error().errno_value() == EBUSY && joined.cgroup_fd) {
    // cgroup v2's "no internal processes" rule: the container's cgroup has
    // children with controllers enabled. Join init where it is now, as
    // runc 1.1 falls back to.
    std::string fallback = TRY_VALUE(current_cgroup_dir(target.stored.state.pid));
    joined.cgroup_fd = TRY_VALUE(open_file(fallback, O_RDONLY | O_DIRECTORY));
    cloned = linux::clone_child({0, joined.cgroup_fd.get()}, in_child);
  }
  if (!cloned)
    return cloned.error().add_context(fmt::format("start the process in container \"{}\"", id));
  TRY(switched.restore());
  return cloned;
}

}  // namespace

Result<int> exec_in_container(const std::string& state_root, const ExecOptions& options) {
  ExecTarget target = TRY_VALUE(load_running_container(state_root, options));
  spec::Process process = process_to_run(options, target.spec);
  TRY(reexec_if_process_may_ptrace(target.spec, process));
  JoinedContainer joined = TRY_VALUE(open_container(target, options.id));

  auto [parent_sync, child_sync] = TRY_VALUE(SyncSocket::make_pair());
  ExecChild child;
  child.id = options.id;
  child.process = &process;
  child.namespaces = &joined.namespaces;
  child.seccomp = joined.seccomp ? &*joined.seccomp : nullptr;
  child.sync = &child_sync;
  child.preserve_fds = options.preserve_fds;
  auto process_child = TRY_VALUE(clone_exec_child(child, joined, target, parent_sync, options.id));
  child_sync.close();

  auto report = TRY_VALUE(drive_child(parent_sync, target.spec, target.stored, options));
  if (!report.execed) {
    int wait_status = TRY_VALUE(process_child.wait());
    return make_error("the process {} before its exec", linux::describe_wait_status(wait_status));
  }
  target.dir.reset();
  log::debug("exec'ed {} in container {} as pid {}", process.args[0], options.id,
             process_child.pid());
  if (!options.pid_file.empty())
    TRY_CTX(write_file_atomic(options.pid_file, std::to_string(process_child.pid())),
            "write pid file");
  if (options.detach) {
    // Not waited for: once we exit, the process is re-parented, as runc's.
    process_child.release();
    return 0;
  }
  if (report.pty_master) linux::copy_window_size(0, report.pty_master.get());
  return linux::supervise(process_child, {.pty_master = report.pty_master.get()});
}

}  // namespace berth::container
