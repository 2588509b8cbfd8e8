#include "console_socket.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace berth::test::itest {

std::string ConsoleSocket::listen(const std::string& path) {
  path_ = path;
  listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_) return std::string("socket: ") + strerror(errno);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
    return "bind " + path + ": " + strerror(errno);
  if (::listen(listener_.get(), 1) < 0) return std::string("listen: ") + strerror(errno);
  return "";
}

UniqueFd ConsoleSocket::receive_master() {
  pollfd entry{listener_.get(), POLLIN, 0};
  if (::poll(&entry, 1, 5000) != 1) {
    ADD_FAILURE() << "the runtime never connected to the console socket";
    return UniqueFd();
  }
  UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!connection) {
    ADD_FAILURE() << "accept: " << strerror(errno);
    return UniqueFd();
  }
  char data[256];
  iovec io{data, sizeof data};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  if (::recvmsg(connection.get(), &message, MSG_CMSG_CLOEXEC) < 0) {
    ADD_FAILURE() << "recvmsg: " << strerror(errno);
    return UniqueFd();
  }
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (!header || header->cmsg_type != SCM_RIGHTS) {
    ADD_FAILURE() << "the console socket carried no fd";
    return UniqueFd();
  }
  size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
  int fds[4] = {-1, -1, -1, -1};
  std::memcpy(fds, CMSG_DATA(header), std::min<size_t>(count, 4) * sizeof(int));
  for (size_t i = 1; i < std::min<size_t>(count, 4); ++i) ::close(fds[i]);
  EXPECT_EQ(count, 1u) << "expected exactly one fd";
  return UniqueFd(fds[0]);
}

}  // namespace berth::test::itest
