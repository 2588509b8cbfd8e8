// process.terminal: the container's pty.
//
// The child opens /dev/ptmx after pivot_root, so the pty belongs to the
// container's own devpts instance; it makes the peer its controlling
// terminal and stdio, bind-mounts it on /dev/console, and hands the master
// to the runtime (over the sync socket), which passes it on to
// --console-socket or, for `run` without one, relays it to its own terminal.
#pragma once

#include <string>

#include "core/error.h"
#include "core/unique_fd.h"
#include "spec/spec.h"

namespace berth::linux {

// In the child: returns the master; the peer becomes fds 0-2 and the
// controlling terminal of a new session.
Result<UniqueFd> setup_container_terminal(const std::optional<spec::ConsoleSize>& size);
// The same for a process exec'ed into a running container, after it joined
// the container's mount namespace: /dev/console stays the init's.
Result<UniqueFd> setup_process_terminal(const std::optional<spec::ConsoleSize>& size);

// Send fd with SCM_RIGHTS over a unix socket (one fd, a short name as data).
Status send_fd(int socket, int fd, const std::string& name);
// Receive one fd sent by send_fd; the payload is stored in name if given.
Result<UniqueFd> receive_fd(int socket, std::string* name = nullptr);

// Connect to --console-socket and send the pty master.
Status send_to_console_socket(const std::string& socket_path, int master);

// Give the pty the window size of the terminal on from_fd (if it is one).
// `run` does this before `start`, so the container's first look at its
// terminal already sees the caller's size.
void copy_window_size(int from_fd, int master);

// Relay between the caller's stdin/stdout and master until the container's
// process exits (its pidfd becomes readable) and its output is drained.
// Puts a terminal stdin in raw mode (restored on return) and keeps the
// pty's window size in step with it. Signals the runtime receives are
// forwarded to pid.
Status relay_terminal(int master, int pidfd, pid_t pid);

}  // namespace berth::linux
