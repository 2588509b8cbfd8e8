#include "container/sync.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>
#include <memory>

#include "core/fd_passing.h"

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
  TRY_CTX(send_with_fd(fd_.get(), iov, 2, fd_to_pass), "send to the sync socket");
  return ok();
}

Result<SyncMessage> SyncSocket::receive() {
  // Not zero-filled: only the pages a message touches are ever faulted in.
  std::unique_ptr<char[]> buffer(new char[kMaxMessage]);
  struct iovec iov = {buffer.get(), kMaxMessage};
  SyncMessage message;
  auto received = receive_with_fd(fd_.get(), &iov, 1, &message.fd);
  if (!received) return received.error().add_context("receive from the sync socket");
  size_t n = received.value();
  if (n == 0) return Error("the other end of the sync socket closed without a word", EPIPE);
  if (n < sizeof(Header)) return make_error("short sync message");
  Header header;
  std::memcpy(&header, buffer.get(), sizeof header);
  message.type = static_cast<SyncMessageType>(header.type);
  message.errno_value = header.errno_value;
  message.payload.assign(buffer.get() + sizeof header, n - sizeof header);
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
