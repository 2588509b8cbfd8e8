// The receiving end of --console-socket, as containerd's shim has it: a
// listening unix socket to which the runtime sends the pty master (one fd,
// SCM_RIGHTS). Used by the terminal and exec suites.
#pragma once

#include <chrono>
#include <string>

#include "core/unique_fd.h"

namespace berth::itest {

class ConsoleSocket {
 public:
  // Listens on path; an empty message means it does, else what failed.
  std::string listen(const std::string& path);
  const std::string& path() const { return path_; }

  // The one fd the runtime sent (the runtime connects during create or
  // exec and the connection waits in the backlog, so accepting later is
  // fine). Adds a test failure and returns an invalid fd otherwise.
  UniqueFd receive_master();

 private:
  std::string path_;
  UniqueFd listener_;
};

// What the terminal on master shows until `until` appears, the slave side
// is gone (EIO), or the timeout passes.
std::string read_terminal_until(int master, const std::string& until,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace berth::itest
