#include "container/init.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/container.h"
#include "container/process_setup.h"
#include "linux/hooks.h"
#include "linux/process.h"
#include "linux/terminal.h"

namespace berth::container {

namespace {

using spec::NamespaceType;

// The container's filesystem and kernel settings: the steps up to the rootfs
// switch run while the host's filesystem is still visible, createContainer
// hooks just before it.
Status build_filesystem(InitContext& context, std::string& hook_state) {
  const spec::Spec& spec = *context.spec;
  TRY_CTX(linux::prepare_rootfs_mount(spec, context.mounts), "prepare rootfs");
  TRY(linux::mount_spec_mounts(spec, context.mounts));
  TRY_CTX(linux::populate_dev(spec, context.mounts), "populate /dev");
  if (context.create_hooks) {
    TRY(context.sync->send(SyncMessageType::kHooksRequest));
    auto done = TRY_VALUE(context.sync->expect(SyncMessageType::kHooksDone));
    hook_state = std::move(done.payload);
    TRY(linux::run_hooks("createContainer", spec.hooks.create_container, hook_state));
  }
  TRY_CTX(linux::enter_rootfs(context.mounts, context.no_pivot), "{} into rootfs {}",
          context.no_pivot ? "chroot" : "pivot_root", context.mounts.rootfs);
  // Sysctls are written through /proc/sys before finish_rootfs makes it
  // read-only (it is in the default readonlyPaths), as runc orders them.
  TRY(linux::apply_kernel_settings(spec));
  TRY_CTX(linux::finish_rootfs(spec), "finish rootfs");
  return ok();
}

// Everything up to kReady; an error here reaches `create` as its message.
Result<std::string> prepare(InitContext& context, std::string& hook_state) {
  const spec::Spec& spec = *context.spec;
  linux::NamespacePlan& plan = *context.namespaces;
  if (plan.new_user) TRY(context.sync->expect(SyncMessageType::kMappingsDone));
  TRY(linux::enter_namespaces(plan));
  if (plan.has(NamespaceType::User)) TRY(become_root_in_user_namespace());
  if (!context.no_new_keyring) TRY(join_session_keyring(context.id));
  TRY(build_filesystem(context, hook_state));
  if (spec.process->terminal) {
    auto master = TRY_VALUE(linux::setup_container_terminal(spec.process->console_size));
    TRY(context.sync->send(SyncMessageType::kPtyMaster, {}, master.get()));
  }
  auto executable = TRY_VALUE(linux::find_executable(spec.process->args[0], spec.process->env));
  linux::SeccompFilter* seccomp = context.seccomp->has_value() ? &**context.seccomp : nullptr;
  TRY(set_up_process(*spec.process, seccomp, [&context](int listener) {
    return context.sync->send(SyncMessageType::kSeccompListener, {}, listener);
  }));
  return executable;
}

[[noreturn]] void die(const Error& error) {
  std::string line = "berth-runtime init: " + error.message() + "\n";
  (void)!::write(2, line.data(), line.size());
  _exit(1);
}

// Block until `start` opens the fifo for reading. The O_PATH fd was
// opened on the host before pivot_root; reopening it through /proc/self/fd
// works from inside the new root.
void wait_for_start(InitContext& context) {
  std::string fifo = fmt::format("/proc/self/fd/{}", context.exec_fifo);
  int start_fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
  if (start_fd < 0) die(sys_error("open exec fifo {}", fifo));
  if (::write(start_fd, "0", 1) != 1) die(sys_error("write exec fifo"));
  // start_fd stays open, close-on-exec: `start` waits for its end-of-file,
  // so it returns (and runs the poststart hooks) only once the user's
  // process is exec'ed, after the startContainer hooks, as the runtime
  // spec orders them.
  ::close(context.exec_fifo);
}

void run_start_container_hooks(const spec::Spec& spec, const std::string& hook_state) {
  if (spec.hooks.start_container.empty()) return;
  // The state the parent sent for the create hooks, now "created".
  nlohmann::json state = nlohmann::json::parse(hook_state, nullptr, false);
  if (state.is_object()) state["status"] = to_string(ContainerStatus::Created);
  if (auto status = linux::run_hooks("startContainer", spec.hooks.start_container, state.dump());
      !status)
    die(status.error());
}

}  // namespace

void run_container_init(InitContext& context) {
  // Until kReady the parent is waiting on us: if it dies, so do we. (Had
  // it died before this line, our next sync message fails with EPIPE; in a
  // new pid namespace getppid() is 0, so it cannot tell.)
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Non-dumpable: container processes must not reach our /proc/<pid>/exe,
  // fds or memory (CVE-2019-5736; see linux/exe_protection.h).
  ::prctl(PR_SET_DUMPABLE, 0);

  std::string hook_state;
  auto executable = prepare(context, hook_state);
  if (!executable) {
    (void)context.sync->send_error(executable.error());
    _exit(1);
  }
  // Clear the parent-death signal before saying ready: `create` exits as
  // soon as it reads kReady, and must not take us with it.
  ::prctl(PR_SET_PDEATHSIG, 0);
  if (!context.sync->send(SyncMessageType::kReady)) _exit(1);
  context.sync->close();

  wait_for_start(context);
  run_start_container_hooks(*context.spec, hook_state);
  // Nothing of the runtime's may leak into the container's process: every
  // fd above stdio and the --preserve-fds ones is closed on exec.
  linux::close_runtime_fds_on_exec(context.preserve_fds);
  linux::reset_signals();
  Error error = linux::exec_process(executable.value(), *context.spec->process);
  std::string line = "berth-runtime init: " + error.message() + "\n";
  (void)!::write(2, line.data(), line.size());
  _exit(127);
}

}  // namespace berth::container
