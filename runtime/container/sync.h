// The parent <-> child protocol of `create`, over a SOCK_SEQPACKET
// socketpair: one message per packet, so boundaries need no framing.
//
//   parent (berth-runtime create)               child (the container's init)
//   ---------------------------------           --------------------------------
//   clone3(namespaces, INTO_CGROUP) ----------> non-dumpable, parent-death signal
//   [new user ns] write uid_map, gid_map
//   kMappingsDone ----------------------------> join/unshare namespaces, mounts, /dev
//                 <---------------------------- kHooksRequest   [if any create hooks]
//   prestart, createRuntime hooks
//   kHooksDone (state JSON) ------------------> createContainer hooks, pivot_root,
//                                               hostname, sysctls, masked/readonly paths
//                 <---------------------------- kPtyMaster + fd [process.terminal]
//   pass the master to --console-socket         rlimits, seccomp, user, caps
//                 <---------------------------- kSeccompListener + fd [SCMP_ACT_NOTIFY]
//   pass it to linux.seccomp.listenerPath
//                 <---------------------------- kReady
//   write pid file and state.json, exit         block opening exec.fifo (until start)
//
// At any step the child may instead send kError (errno, the error's kind and
// the message of the step that failed) and exit; the parent reports exactly
// that error. If the child dies without a word (or, in exec, execs: the
// socket is close-on-exec), the parent receives kEndOfStream: a value of its
// own, never an errno, so that a real EPIPE from some other step cannot be
// taken for the child's death.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/unique_fd.h"

namespace berth::container {

enum class SyncMessageType : uint32_t {
  // Never sent: what receive() returns when the peer has closed its end.
  kEndOfStream = 0,
  kMappingsDone,
  kHooksRequest,
  kHooksDone,
  kPtyMaster,
  kSeccompListener,
  kReady,
  kError,
};

struct SyncMessage {
  SyncMessageType type{};
  int errno_value = 0;
  ErrorKind kind = ErrorKind::kOther;  // with kError
  std::string payload;
  UniqueFd fd;  // only with kPtyMaster and kSeccompListener

  // A kError message as the error the peer sent.
  Error error() const { return Error(payload, errno_value, kind); }
};

class SyncSocket {
 public:
  static Result<std::pair<SyncSocket, SyncSocket>> make_pair();
  explicit SyncSocket(UniqueFd fd) : fd_(std::move(fd)) {}

  Status send(SyncMessageType type, const std::string& payload = {}, int fd_to_pass = -1);
  // kError with the error's errno, kind and message.
  Status send_error(const Error& error);
  // The next message, or kEndOfStream once the peer has closed its end; an
  // error only when receiving itself fails.
  Result<SyncMessage> receive();
  // Receive and insist on type; a kError from the peer becomes the result,
  // and so does end-of-stream, as an error naming the peer's silence.
  Result<SyncMessage> expect(SyncMessageType type);

  void close() { fd_.reset(); }
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

}  // namespace berth::container
