#include "container/sync.h"

#include <sys/socket.h>

#include <cstring>
#include <memory>

namespace berth::container {

namespace {

struct Header {
  uint32_t type;
  int32_t errno_value;
};

constexpr size_t kMaxMessage = 1 << 20;

}  // namespace

Result<std::pair<SyncSocket, SyncSocket>> SyncSocket::make_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
    return sys_error("create the sync socket pair");
  return std::make_pair(SyncSocket(UniqueFd(fds[0])), SyncSocket(UniqueFd(fds[1])));
}

Status SyncSocket::send(SyncMessageType type, const std::string& payload, int errno_value,
                        int fd_to_pass) {
  Header header = {static_cast<uint32_t>(type), errno_value};
  struct iovec iov[2] = {{&header, sizeof header},
                         {const_cast<char*>(payload.data()), payload.size()}};
  struct msghdr msg = {};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd_to_pass >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd_to_pass, sizeof(int));
  }
  while (::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return sys_error("send to the sync socket");
  }
  return ok();
}

Result<SyncMessage> SyncSocket::receive() {
  // Not zero-filled: only the pages a message touches are ever faulted in.
  std::unique_ptr<char[]> buffer(new char[kMaxMessage]);
  struct iovec iov = {buffer.get(), kMaxMessage};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno != EINTR) return sys_error("receive from the sync socket");
  }
  if (n == 0) return Error("the other end of the sync socket closed without a word", EPIPE);
  if (static_cast<size_t>(n) < sizeof(Header)) return make_error("short sync message");
  Header header;
  std::memcpy(&header, buffer.get(), sizeof header);
  SyncMessage message;
  message.type = static_cast<SyncMessageType>(header.type);
  message.errno_value = header.errno_value;
  message.payload.assign(buffer.get() + sizeof header, static_cast<size_t>(n) - sizeof header);
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      message.fd.reset(fd);
    }
  }
  return message;
}

Result<SyncMessage> SyncSocket::expect(SyncMessageType type) {
  auto message = TRY_VALUE(receive());
  if (message.type == SyncMessageType::kError) return Error(message.payload, message.errno_value);
  if (message.type != type)
    return make_error("sync protocol: expected message {}, got {}", static_cast<uint32_t>(type),
                      static_cast<uint32_t>(message.type));
  return message;
}

}  // namespace berth::container
