// The parent side of container creation, shared by `create` and `run`.
#pragma once

#include <sys/types.h>

#include "container/container.h"
#include "core/unique_fd.h"

namespace berth::container {

struct CreatedContainer {
  pid_t pid = 0;
  UniqueFd pidfd;       // the init's pidfd (the caller is its parent)
  UniqueFd pty_master;  // with process.terminal and no console socket
};

// Creates the container and leaves its init waiting for `start`. With
// keep_terminal, a pty master that has no console socket to go to is
// returned instead of being an error (for `run`).
Result<CreatedContainer> create_container_process(const std::string& state_root,
                                                  const CreateOptions& options, bool keep_terminal);

}  // namespace berth::container
