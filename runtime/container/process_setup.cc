#include "container/process_setup.h"

#include <linux/keyctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/capabilities.h"
#include "linux/process.h"
#include "linux/rlimits.h"

namespace berth::container {

namespace {

Status load_seccomp(linux::SeccompFilter& seccomp, const SeccompListenerSink& send_listener) {
  auto listener = TRY_VALUE(seccomp.load());
  if (listener) TRY(send_listener(listener.get()));
  return ok();
}

}  // namespace

// The order is the kernel's: the bounding set is reduced while CAP_SETPCAP
// is held; a seccomp filter without no_new_privs needs CAP_SYS_ADMIN, so it
// is loaded before the capabilities go (with no_new_privs it is loaded
// last, restricting as little set-up as possible); keep-caps carries the
// permitted set over setuid().
Status set_up_process(const spec::Process& process, linux::SeccompFilter* seccomp,
                      const SeccompListenerSink& send_listener) {
  TRY(linux::apply_rlimits(process.rlimits));
  if (process.oom_score_adj) TRY(linux::apply_oom_score_adj(*process.oom_score_adj));
  if (process.capabilities) TRY(linux::drop_bounding_capabilities(*process.capabilities));
  if (seccomp && !process.no_new_privileges)
    TRY_CTX(load_seccomp(*seccomp, send_listener), "load seccomp filter");
  if (process.capabilities) TRY(linux::keep_capabilities_across_setuid());
  TRY(linux::switch_user(process.user));
  if (process.capabilities) TRY(linux::apply_capability_sets(*process.capabilities));
  if (process.user.umask) ::umask(static_cast<mode_t>(*process.user.umask));
  if (::chdir(process.cwd.c_str()) < 0) return sys_error("chdir to cwd {}", process.cwd);
  if (process.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return sys_error("set no_new_privs");
  if (seccomp && process.no_new_privileges)
    TRY_CTX(load_seccomp(*seccomp, send_listener), "load seccomp filter");
  return ok();
}

Status become_root_in_user_namespace() {
  // After uid_map is written our credentials still carry the host ids;
  // switching to 0 inside the namespace maps them through it.
  if (::setresgid(0, 0, 0) < 0) return sys_error("setgid 0 in the user namespace");
  if (::setresuid(0, 0, 0) < 0) return sys_error("setuid 0 in the user namespace");
  return ok();
}

Status join_session_keyring(const std::string& id) {
  // runc does the same unless --no-new-keyring.
  std::string name = "_ses." + id;
  if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str()) < 0 && errno != ENOSYS &&
      errno != EDQUOT)
    return sys_error("join a new session keyring");
  return ok();
}

}  // namespace berth::container
