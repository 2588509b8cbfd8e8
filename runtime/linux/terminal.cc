#include "linux/terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "core/defer.h"
#include "core/fd_passing.h"
#include "core/files.h"
#include "linux/forwarded_signals.h"

namespace berth::linux {

namespace {

enum class ConsoleMount { kBindPeer, kLeave };

Result<UniqueFd> setup_terminal(const std::optional<spec::ConsoleSize>& size,
                                ConsoleMount console_mount) {
  UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return sys_error("open /dev/ptmx");
  if (::unlockpt(master.get()) < 0) return sys_error("unlockpt");
  // TIOCGPTPEER opens the peer through the master itself, not by a path
  // that the container's /dev/pts could redirect.
  UniqueFd peer(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!peer) return sys_error("open the pty peer (TIOCGPTPEER)");
  char peer_name[64];
  if (::ptsname_r(master.get(), peer_name, sizeof peer_name) != 0) return sys_error("ptsname");
  if (size) {
    struct winsize ws = {};
    ws.ws_row = static_cast<unsigned short>(size->height);
    ws.ws_col = static_cast<unsigned short>(size->width);
    if (::ioctl(master.get(), TIOCSWINSZ, &ws) < 0) return sys_error("set the console size");
  }
  if (console_mount == ConsoleMount::kBindPeer) {
    // /dev/console is the pty, as runc and the console spec expect. (O_NOFOLLOW:
    // an image's /dev/console symlink must not pick the mount point.)
    UniqueFd console(::open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!console) return sys_error("create /dev/console");
    console.reset();
    if (::mount(peer_name, "/dev/console", nullptr, MS_BIND, nullptr) < 0)
      return sys_error("bind {} on /dev/console", peer_name);
  }
  if (::setsid() < 0) return sys_error("setsid");
  if (::ioctl(peer.get(), TIOCSCTTY, 0) < 0)
    return sys_error("make {} the controlling terminal", peer_name);
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(peer.get(), fd) < 0) return sys_error("dup the pty onto fd {}", fd);
  return master;
}

}  // namespace

Result<UniqueFd> setup_container_terminal(const std::optional<spec::ConsoleSize>& size) {
  return setup_terminal(size, ConsoleMount::kBindPeer);
}

Result<UniqueFd> setup_process_terminal(const std::optional<spec::ConsoleSize>& size) {
  return setup_terminal(size, ConsoleMount::kLeave);
}

Status send_fd(int socket, int fd, const std::string& name) {
  struct iovec iov = {const_cast<char*>(name.data()), name.size()};
  TRY_CTX(send_with_fd(socket, &iov, 1, fd), "send fd {}", name);
  return ok();
}

Result<UniqueFd> receive_fd(int socket, std::string* name) {
  char data[256];
  struct iovec iov = {data, sizeof data};
  UniqueFd fd;
  size_t n = TRY_VALUE(receive_with_fd(socket, &iov, 1, &fd));
  if (!fd) return make_error("receive fd: no fd in the message");
  if (name) name->assign(data, n);
  return fd;
}

Status send_to_console_socket(const std::string& socket_path, int master) {
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return sys_error("create socket");
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return make_error("console socket path {} is too long", socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(sock.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
    return sys_error("connect to console socket {}", socket_path);
  TRY_CTX(send_fd(sock.get(), master, "/dev/ptmx"), "console socket {}", socket_path);
  return ok();
}

namespace {

// Move what is readable on from to to; false at EOF or error.
bool pump(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return false;
  return write_all(to, buf, static_cast<size_t>(n)).has_value();
}

}  // namespace

void copy_window_size(int from_fd, int master) {
  struct winsize ws;
  if (::ioctl(from_fd, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
}

Status relay_terminal(int master, int pidfd, pid_t pid) {
  struct termios saved;
  bool raw = ::isatty(0) && ::tcgetattr(0, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    ::cfmakeraw(&t);
    ::tcsetattr(0, TCSANOW, &t);
    copy_window_size(0, master);
  }
  Defer restore([&] {
    if (raw) ::tcsetattr(0, TCSANOW, &saved);
  });

  auto signals = TRY_VALUE(ForwardedSignals::block());

  bool stdin_open = true;
  for (;;) {
    struct pollfd fds[4] = {{master, POLLIN, 0},
                            {pidfd, POLLIN, 0},
                            {signals.fd(), POLLIN, 0},
                            {0, static_cast<short>(stdin_open ? POLLIN : 0), 0}};
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      return sys_error("poll");
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!pump(master, 1)) break;  // EIO: every holder of the peer closed it
    }
    if ((fds[2].revents & POLLIN) && signals.forward_next(pid) == SIGWINCH)
      copy_window_size(0, master);
    if (fds[3].revents & (POLLIN | POLLHUP)) {
      if (!pump(0, master)) stdin_open = false;
    }
    if (fds[1].revents & POLLIN) {
      // The process exited: drain what it wrote, then stop.
      while (true) {
        struct pollfd drain = {master, POLLIN, 0};
        if (::poll(&drain, 1, 0) <= 0 || !pump(master, 1)) break;
      }
      break;
    }
  }
  return ok();
}

}  // namespace berth::linux
