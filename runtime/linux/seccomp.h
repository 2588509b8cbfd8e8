// seccomp filters from the spec, through libseccomp.
//
// The filter is compiled in the runtime process before clone (so a bad
// profile fails `create` early and costs nothing in the child) and loaded
// in the child as the last step before execve, so it never restricts the
// runtime's own set-up.
#pragma once

#include <seccomp.h>

#include <string>

#include "core/c_handle.h"
#include "core/error.h"
#include "core/unique_fd.h"
#include "spec/spec.h"

namespace berth::linux {

class SeccompFilter {
 public:
  // Compile the spec's profile: default action, rules with argument
  // conditions, extra architectures, flags. Unknown syscall names on this
  // architecture are skipped (as runc and crun do); everything else that
  // libseccomp refuses fails with the rule's index and syscall named.
  static Result<SeccompFilter> compile(const spec::Seccomp& profile);

  // Install the filter in the calling process. Requires no_new_privs or
  // CAP_SYS_ADMIN. With an SCMP_ACT_NOTIFY rule, returns the listener fd
  // (otherwise an invalid UniqueFd).
  Result<UniqueFd> load();

  // The generated BPF as readable pseudo-code (seccomp_export_pfc), for
  // tests and --debug.
  Result<std::string> export_pfc() const;

  bool uses_notify() const { return uses_notify_; }

 private:
  SeccompFilter(scmp_filter_ctx context, bool uses_notify);
  // scmp_filter_ctx is libseccomp's name for a void*.
  CHandle<void, seccomp_release> context_;
  bool uses_notify_ = false;
};

// Send the notify listener fd to the spec's listenerPath (a unix socket),
// with the container state JSON as payload, as the runtime spec describes.
Status send_seccomp_listener(const std::string& listener_path, int listener_fd,
                             const std::string& state_json);

}  // namespace berth::linux
