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
  int32_t kind;  // ErrorKind, with kError
};

constexpr size_t kMaxMessage = 1 << 20;

Status send_message(int socket, const Header& header, const std::string& payload, int fd) {
  struct iovec iov[2] = {{const_cast<Header*>(&header), sizeof header},
                         {const_cast<char*>(payload.data()), payload.size()}};
  TRY_CTX(send_with_fd(socket, iov, 2, fd), "send to the sync socket");
  return ok();
}

}  // namespace

Result<std::pair<SyncSocket, SyncSocket>> SyncSocket::make_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
    return sys_error("create the sync socket pair");
  return std::make_pair(SyncSocket(UniqueFd(fds[0])), SyncSocket(UniqueFd(fds[1])));
}

Status SyncSocket::send(SyncMessageType type, const std::string& payload, int fd_to_pass) {
  return send_message(fd_.get(), {static_cast<uint32_t>(type), 0, 0}, payload, fd_to_pass);
}

Status SyncSocket::send_error(const Error& error) {
  Header header = {static_cast<uint32_t>(SyncMessageType::kError), error.errno_value(),
                   static_cast<int32_t>(error.kind())};
  return send_message(fd_.get(), header, error.message(), -1);
}

Result<SyncMessage> SyncSocket::receive() {
  // Not zero-filled: only the pages a message touches are ever faulted in.
  std::unique_ptr<char[]> buffer(new char[kMaxMessage]);
  struct iovec iov = {buffer.get(), kMaxMessage};
  SyncMessage message;
  auto received = receive_with_fd(fd_.get(), &iov, 1, &message.fd);
  if (!received) return received.error().add_context("receive from the sync socket");
  size_t n = received.value();
  if (n == 0) {
    message.type = SyncMessageType::kEndOfStream;
    return message;
  }
  if (n < sizeof(Header)) return make_error("short sync message");
  Header header;
  std::memcpy(&header, buffer.get(), sizeof header);
  message.type = static_cast<SyncMessageType>(header.type);
  // Only receive() makes kEndOfStream: a peer cannot fake its own silence.
  if (message.type == SyncMessageType::kEndOfStream)
    return make_error("sync protocol: message type {}", header.type);
  message.errno_value = header.errno_value;
  message.kind = static_cast<ErrorKind>(header.kind);
  message.payload.assign(buffer.get() + sizeof header, n - sizeof header);
  return message;
}

Result<SyncMessage> SyncSocket::expect(SyncMessageType type) {
  auto message = TRY_VALUE(receive());
  if (message.type == SyncMessageType::kError) return message.error();
  if (message.type == SyncMessageType::kEndOfStream)
    return make_error("the other end of the sync socket closed without a word");
  if (message.type != type)
    return make_error("sync protocol: expected message {}, got {}", static_cast<uint32_t>(type),
                      static_cast<uint32_t>(message.type));
  return message;
}

}  // namespace berth::container
