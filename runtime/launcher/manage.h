// What the launcher does to containers after `run`: stop, kill, rm, exec
// and logs, with Docker's semantics. Containers are named by id, id
// prefix or name.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "launcher/records.h"

namespace berth::launcher {

// SIGTERM, then SIGKILL after timeout_seconds; returns once the container
// is finished (its exit recorded, its rootfs unmounted).
Status stop_container(const ContainerRecords& records, const std::string& reference,
                      int timeout_seconds);
Status signal_container(const ContainerRecords& records, const std::string& reference,
                        const std::string& signal);
// A running container is refused unless force, which kills it first. Also
// cleans up after a monitor that was killed.
Status remove_container(const ContainerRecords& records, const std::string& reference, bool force);

struct ExecRequest {
  std::vector<std::string> command;
  std::vector<std::string> env;
  std::string workdir;
  std::string user;
  bool interactive = false;
  bool tty = false;
  bool detach = false;
};
// The process's exit status (126/127 when it cannot be run).
Result<int> exec_in_container(const ContainerRecords& records, const std::string& reference,
                              const ExecRequest& request);

// Writes the container's log to stdout; with follow, keeps writing what
// comes until the container exits.
Status print_logs(const ContainerRecords& records, const std::string& reference, bool follow);

}  // namespace berth::launcher
