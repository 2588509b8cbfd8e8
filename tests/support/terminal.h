// Pseudo-terminals for the tests that run a program on a terminal (with
// BackgroundProcess::start's terminal) or receive a container's pty master.
#pragma once

#include <chrono>
#include <string>

#include "core/unique_fd.h"

namespace berth::test {

struct Pty {
  UniqueFd master;
  UniqueFd slave;  // close it once the program has it, so the master reads EIO when it is gone
};
// A pty pair, both ends close-on-exec, with the window size rows x cols.
// Throws std::runtime_error if it cannot.
Pty open_pty(unsigned short rows, unsigned short cols);

// Reads from master, appending to seen, until seen holds `until` at or after
// offset from, the slave side is gone (EIO), or the timeout passes. True if
// `until` was seen.
bool read_terminal_until(int master, std::string& seen, const std::string& until, size_t from,
                         std::chrono::milliseconds timeout);
// What the terminal on master shows until `until` appears, the slave side
// is gone, or the timeout passes.
std::string read_terminal_until(int master, const std::string& until,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace berth::test
