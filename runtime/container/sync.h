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
// At any step the child may instead send kError (errno + the message of
// the step that failed) and exit; the parent reports exactly that message.
// If the child dies without a word, the parent sees end-of-file.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/unique_fd.h"

namespace berth::container {

enum class SyncMessageType : uint32_t {
  kMappingsDone = 1,
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
  std::string payload;
  UniqueFd fd;  // only with kPtyMaster and kSeccompListener
};

class SyncSocket {
 public:
  static Result<std::pair<SyncSocket, SyncSocket>> make_pair();
  explicit SyncSocket(UniqueFd fd) : fd_(std::move(fd)) {}

  Status send(SyncMessageType type, const std::string& payload = {}, int errno_value = 0,
              int fd_to_pass = -1);
  Status send_error(const Error& error) {
    return send(SyncMessageType::kError, error.message(), error.errno_value());
  }
  // Receive the next message; end-of-file is an error naming the peer's death.
  Result<SyncMessage> receive();
  // Receive and insist on type; a kError from the peer becomes the result.
  Result<SyncMessage> expect(SyncMessageType type);

  void close() { fd_.reset(); }
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

}  // namespace berth::container
