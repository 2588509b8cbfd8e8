// Passing one fd over a unix socket with SCM_RIGHTS, alongside data. Used by
// the create protocol (container/sync) and the console socket (linux/terminal).
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include "core/error.h"
#include "core/unique_fd.h"

namespace berth {

// sendmsg of iov, with fd attached when fd >= 0. MSG_NOSIGNAL: a peer that
// went away is an error to report, not a SIGPIPE.
Status send_with_fd(int socket, const struct iovec* iov, size_t iov_count, int fd);

// recvmsg into iov; an attached fd (received close-on-exec) goes to *fd.
// Returns the number of data bytes (0: the peer closed the socket).
Result<size_t> receive_with_fd(int socket, const struct iovec* iov, size_t iov_count, UniqueFd* fd);

}  // namespace berth
