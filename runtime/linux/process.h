// The container process's identity and the final exec.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "spec/spec.h"

namespace berth::linux {

// setgroups(additionalGids), setresgid, setresuid: gid first, while we may
// still change it (setuid drops CAP_SETGID).
Status switch_user(const spec::User& user);

// args[0] as execve will run it: a name without "/" is looked up in the PATH
// of the process's env (runc does the same, and reports a missing binary
// at create time rather than after start). The error's kind says which of
// Docker's exit statuses it is: kExecNotFound or kExecPermissionDenied.
Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env);

// Reset signal dispositions and the mask the runtime may have inherited or
// set, so the container's process starts with the defaults.
void reset_signals();

// --preserve-fds N: fds 3 .. 3+N-1 of the caller pass on to the container's
// process. Fails naming the first that is not open.
Status check_preserved_fds(int count);
// Just before execve: every fd from 3+preserved up is closed on exec
// (nothing of the runtime's may leak into the container), and the
// preserved ones are not.
void close_runtime_fds_on_exec(int preserved);

// execve; only returns on failure, with kind kExecNotFound (ENOENT: e.g. a
// script's interpreter is missing) or kExecPermissionDenied (EACCES).
Error exec_process(const std::string& path, const spec::Process& process);

// A waitpid status as a shell's exit status: the code, or 128+N when killed
// by signal N.
int exit_status(int wait_status);
// "exited with status 1", "killed by signal 9".
std::string describe_wait_status(int wait_status);

// Start time of pid from /proc/<pid>/stat (0 if gone), and whether it is a
// zombie. With the pid, it names a process across pid reuse.
unsigned long long process_start_time(pid_t pid, bool* zombie = nullptr);

// hostname, domainname, and sysctls written under /proc/sys.
Status apply_kernel_settings(const spec::Spec& spec);

}  // namespace berth::linux
