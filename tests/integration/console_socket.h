// The receiving end of --console-socket, as containerd's shim has it: a
// listening unix socket to which the runtime sends the pty master (one fd,
// SCM_RIGHTS). Used by the terminal and exec suites, which read the master
// with tests/support's read_terminal_until.
#pragma once

#include <string>

#include "core/unique_fd.h"

namespace berth::test::itest {

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

}  // namespace berth::test::itest
