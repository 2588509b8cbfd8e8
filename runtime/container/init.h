// The container's init: everything between clone3 and execve, in the child.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "container/sync.h"
#include "core/unique_fd.h"
#include "linux/mounts.h"
#include "linux/namespaces.h"
#include "linux/seccomp.h"
#include "spec/spec.h"

namespace berth::container {

struct InitContext {
  const spec::Spec* spec = nullptr;
  std::string id;
  linux::NamespacePlan* namespaces = nullptr;
  linux::MountContext mounts;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;       // fds 3 .. 3+N-1 pass on to the process
  bool create_hooks = false;  // any prestart/createRuntime/createContainer/startContainer hook
  SyncSocket* sync = nullptr;
  int exec_fifo = -1;  // O_PATH fd of <state>/exec.fifo
  std::optional<linux::SeccompFilter>* seccomp = nullptr;
};

// Runs the set-up steps in order and execs the user's process; never
// returns. A failing step is reported over the sync socket (before kReady)
// or on stderr (after), and the child exits with status 1 (127 if exec fails).
[[noreturn]] void run_container_init(InitContext& context);

}  // namespace berth::container
