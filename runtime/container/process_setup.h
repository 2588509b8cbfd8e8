// The steps every container process takes in the child, between entering
// the container and execve, shared by the container's init (init.cc) and a
// process exec'ed into a running container (exec.cc), so the two cannot
// drift apart.
#pragma once

#include <functional>
#include <string>

#include "core/error.h"
#include "linux/seccomp.h"
#include "spec/spec.h"

namespace berth::container {

// Receives the seccomp notify listener (a filter with SCMP_ACT_NOTIFY rules)
// to hand to the runtime, which passes it on to linux.seccomp.listenerPath.
using SeccompListenerSink = std::function<Status(int listener_fd)>;

// Identity and privileges, in the kernel's order: rlimits, oom score,
// bounding set, seccomp (before the uid switch unless noNewPrivileges),
// user, capability sets, umask, cwd, no_new_privs (then seccomp). seccomp
// may be null (no linux.seccomp).
Status set_up_process(const spec::Process& process, linux::SeccompFilter* seccomp,
                      const SeccompListenerSink& send_listener);

// After joining or creating the container's user namespace: become its root
// (uid and gid 0), which its mappings turn into the host ids they name.
Status become_root_in_user_namespace();

// A session keyring of the container's own ("_ses.<id>"), so the process
// does not share the caller's.
Status join_session_keyring(const std::string& id);

}  // namespace berth::container
