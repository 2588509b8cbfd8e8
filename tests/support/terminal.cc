#include "support/terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace berth::test {

Pty open_pty(unsigned short rows, unsigned short cols) {
  int master = -1, slave = -1;
  struct winsize size = {};
  size.ws_row = rows;
  size.ws_col = cols;
  if (::openpty(&master, &slave, nullptr, nullptr, &size) != 0)
    throw std::runtime_error(std::string("openpty: ") + std::strerror(errno));
  Pty pty{UniqueFd(master), UniqueFd(slave)};
  ::fcntl(master, F_SETFD, FD_CLOEXEC);
  ::fcntl(slave, F_SETFD, FD_CLOEXEC);
  return pty;
}

bool read_terminal_until(int master, std::string& seen, const std::string& until, size_t from,
                         std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (seen.size() > from && seen.find(until, from) != std::string::npos) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd entry{master, POLLIN, 0};
    if (::poll(&entry, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    ssize_t n = ::read(master, buffer, sizeof buffer);
    if (n <= 0) return false;
    seen.append(buffer, static_cast<size_t>(n));
  }
}

std::string read_terminal_until(int master, const std::string& until,
                                std::chrono::milliseconds timeout) {
  std::string seen;
  read_terminal_until(master, seen, until, 0, timeout);
  return seen;
}

}  // namespace berth::test
