// The parent side of container creation, shared by `create` and `run`.
#pragma once

#include <sys/types.h>

#include "container/container.h"
#include "core/unique_fd.h"
#include "linux/child_process.h"

namespace berth::container {

struct CreatedContainer {
  // The caller is init's parent: it is killed and reaped with this owner
  // unless released (create) or supervised to its end (run).
  linux::ChildProcess init;
  UniqueFd pty_master;  // with process.terminal and no console socket
};

// Creates the container and leaves its init waiting for `start`. With
// keep_terminal, a pty master that has no console socket to go to is
// returned instead of being an error (for `run`).
//
// The steps: load the bundle and convert what it asks for (nothing made
// yet); the state dir and exec.fifo; the cgroup with its limits and device
// filter; clone3 init into its namespaces and the cgroup; drive it through
// the sync protocol (sync.h) until it is ready; record state.json and the
// pid file. A failing step undoes the ones before it.
Result<CreatedContainer> create_container_process(const std::string& state_root,
                                                  const CreateOptions& options, bool keep_terminal);

}  // namespace berth::container
