// Protection of the host's berth-runtime binary from the container
// (CVE-2019-5736: a container process opened /proc/<runtime pid>/exe while
// the runtime was inside the container's namespaces, and wrote the host's
// binary through it once the runtime exited). docs/security.md explains the
// whole scheme; in short:
//
//  1. every runtime process that enters a container's namespaces makes
//     itself non-dumpable first, so /proc/<pid>/exe, /fd, /mem and ptrace
//     are refused to processes lacking CAP_SYS_PTRACE in the runtime's own
//     (host) user namespace (ptrace(2), "Ptrace access mode checking");
//  2. when the container's process may hold CAP_SYS_PTRACE (it is in its
//     capability sets and there is no new user namespace), the runtime
//     first re-executes itself from a sealed memfd copy, so what
//     /proc/<pid>/exe reaches is a copy that cannot be written (F_SEAL_WRITE)
//     and not the host's file.
#pragma once

#include "core/error.h"
#include "spec/spec.h"

namespace berth::linux {

// True when this process runs from a sealed memfd copy of the binary.
bool running_from_sealed_copy();

// Does the container's process get CAP_SYS_PTRACE over the runtime's user
// namespace (step 2 above)?
bool container_may_ptrace_runtime(const spec::Spec& spec);

// Re-exec the current binary from a sealed memfd copy with the same argv
// and environment. Returns only on failure.
Error reexec_from_sealed_copy();

}  // namespace berth::linux
