// berth run and CVE-2019-5736 (linux/exe_protection.h has the scheme): a
// container whose process may hold CAP_SYS_PTRACE could reach berth's own
// binary through /proc/<init>/exe, so berth run re-executes itself from a
// sealed memfd copy first. Being that copy changes where berth-init is
// found, so that is decided here too.
#pragma once

#include <string>

#include "core/error.h"
#include "launcher/run_options.h"

namespace berth::launcher {

// berth-init lives beside berth (both in build/bin, or both installed). In
// the sealed copy /proc/self/exe is a memfd, so the path the original found
// is passed on in the environment and taken from there.
std::string init_binary_path();

// When the container `options` describe may hold CAP_SYS_PTRACE and this
// process is not the sealed copy yet, re-executes berth from one with the
// same arguments, passing init_binary on: returns only on failure. Returns
// ok() when berth may go on as it is.
Status reexec_from_sealed_copy_if_ptrace(const RunOptions& options, const std::string& init_binary);

}  // namespace berth::launcher
