// Docker's defaults restated as data, from moby 25.0 (with the February 2024
// profile update, moby#47344): the capability set of oci/caps/defaults.go,
// the masked and read-only paths of oci/defaults.go, and the seccomp
// profile of profiles/seccomp/default.json.
//
// Docker keeps its profile as one document whose rules carry conditions
// (includes/excludes: capabilities, architectures, a minimum kernel) and
// resolves it for each container into a plain linux.seccomp object. The
// table below keeps the profile's rules and their order; applies() does
// Docker's resolution: a rule with includes.caps needs every listed
// capability in the bounding set, one with excludes.caps is dropped if any is
// there. The architecture conditions are resolved at compile time, for the
// architecture berth is built for.
//
// Names this host's libseccomp does not know are listed all the same: the
// runtime skips them when it compiles the filter, as runc does, so a newer
// libseccomp allows them without a change here.
#include "launcher/docker_defaults.h"

#include <sched.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string_view>

namespace berth::launcher {
namespace {

using nlohmann::json;

constexpr std::string_view kAllow = "SCMP_ACT_ALLOW";
constexpr std::string_view kErrno = "SCMP_ACT_ERRNO";

// ---------------------------------------------------------------------------
// The architecture part. Docker's archMap adds, for the native architecture,
// the ones its CPU also runs (a 64-bit x86 kernel runs i386 and x32
// binaries), so a container cannot escape the filter through the other
// system-call table: each gets its own section of the same rules.

#if defined(__x86_64__)
constexpr std::string_view kArchitectures[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                                               "SCMP_ARCH_X32"};
// includes.arches: arch_prctl for amd64 and x32, modify_ldt for amd64, x32
// and x86 (thread-local storage and the LDT that old 32-bit code needs).
constexpr std::string_view kArchSyscalls[] = {"arch_prctl", "modify_ldt"};
#elif defined(__aarch64__)
constexpr std::string_view kArchitectures[] = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
// includes.arches arm, arm64: the ARM-only calls (cache flushing, TLS).
constexpr std::string_view kArchSyscalls[] = {"arm_fadvise64_64", "arm_sync_file_range",
                                              "sync_file_range2", "breakpoint",
                                              "cacheflush",       "set_tls"};
#else
// s390x orders clone's arguments differently, ppc64le and riscv64 have calls
// of their own: read profiles/seccomp/default.json before adding one here.
#error "Docker's seccomp profile is written out for x86_64 and aarch64 only"
#endif

// ---------------------------------------------------------------------------
// The syscalls, grouped as the profile groups them.

// Allowed whatever the container's capabilities: everything an ordinary
// process needs, including the 32-bit and time64 variants for the other
// architectures of the filter. What is missing (keyctl, add_key, kexec_*,
// userfaultfd, swapon, ...) is refused with EPERM by the default action.
// cachestat (Linux 6.5), fchmodat2, map_shadow_stack (6.6) and futex_wake,
// futex_wait, futex_requeue (6.7) need libseccomp 2.5.5. In the profile's
// order, a paragraph per initial letter.
// clang-format off
constexpr std::string_view kAlwaysAllowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm",
    "bind", "brk",
    "cachestat", "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime",
    "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
    "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
    "copy_file_range", "creat",
    "dup", "dup2", "dup3",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
    "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit",
    "exit_group",
    "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir",
    "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64",
    "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
    "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
    "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
    "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32",
    "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
    "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32",
    "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid",
    "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
    "getxattr",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl",
    "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get",
    "ioprio_set", "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup",
    "ipc",
    "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32",
    "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr",
    "lseek", "lsetxattr", "lstat", "lstat64",
    "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir",
    "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv",
    "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
    "open", "openat", "openat2",
    "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
    "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev",
    "pwritev2",
    "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
    "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat",
    "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
    "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups",
    "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid",
    "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
    "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
    "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
    "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice",
    "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "sysinfo",
    "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
    "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64",
    "utimes",
    "vfork", "vmsplice",
    "wait4", "waitid", "waitpid", "write", "writev",
};
// clang-format on

// includes.minKernel 4.8: before 4.8 a ptraced process could use ptrace to
// skip its seccomp filter, so Docker allows ptrace without CAP_SYS_PTRACE
// only on kernels that run the filter again after the tracer's changes.
constexpr std::string_view kTracingSinceKernel4_8[] = {"process_vm_readv", "process_vm_writev",
                                                       "ptrace"};

// socket with an argument rule (AF_VSOCK is refused: host-guest sockets
// reach every VM on the host, across network namespaces).
constexpr std::string_view kSocket[] = {"socket"};

// personality only with the values ordinary programs use: PER_LINUX,
// PER_LINUX32, UNAME26, both, and 0xffffffff (query). Other personalities
// change the kernel's behaviour (e.g. READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE).
constexpr std::string_view kPersonality[] = {"personality"};

// The capability-gated groups (includes.caps): syscalls the kernel would
// refuse without the capability anyway, so the filter only shrinks the
// kernel code a container can reach.
constexpr std::string_view kWithDacReadSearch[] = {"open_by_handle_at"};  // the "shocker" escape
constexpr std::string_view kWithSysAdmin[] = {
    "bpf",           "clone",         "clone3",      "fanotify_init",   "fsconfig",
    "fsmount",       "fsopen",        "fspick",      "lookup_dcookie",  "mount",
    "mount_setattr", "move_mount",    "open_tree",   "perf_event_open", "quotactl",
    "quotactl_fd",   "setdomainname", "sethostname", "setns",           "syslog",
    "umount",        "umount2",       "unshare",
};
constexpr std::string_view kWithSysBoot[] = {"reboot"};
constexpr std::string_view kWithSysChroot[] = {"chroot"};
constexpr std::string_view kWithSysModule[] = {"delete_module", "init_module", "finit_module"};
constexpr std::string_view kWithSysPacct[] = {"acct"};
constexpr std::string_view kWithSysPtrace[] = {
    "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"};
constexpr std::string_view kWithSysRawio[] = {"iopl", "ioperm"};
constexpr std::string_view kWithSysTime[] = {"settimeofday", "stime", "clock_settime",
                                             "clock_settime64"};
constexpr std::string_view kWithSysTtyConfig[] = {"vhangup"};
constexpr std::string_view kWithSysNice[] = {"get_mempolicy", "mbind", "set_mempolicy",
                                             "set_mempolicy_home_node"};
constexpr std::string_view kWithSyslog[] = {"syslog"};
constexpr std::string_view kWithBpf[] = {"bpf"};
constexpr std::string_view kWithPerfmon[] = {"perf_event_open"};

// Without CAP_SYS_ADMIN (excludes.caps): clone only without the flags that
// create namespaces, and clone3 fails with ENOSYS instead of EPERM, because
// seccomp cannot read clone3's flags (they are behind a pointer) and ENOSYS
// makes glibc and others fall back to clone, where the flags are checked.
constexpr std::string_view kClone[] = {"clone"};
constexpr std::string_view kClone3[] = {"clone3"};
constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

struct Arg {
  uint32_t index = 0;
  uint64_t value = 0;
  std::string_view op;
  uint64_t value_two = 0;
};

struct Rule {
  std::span<const std::string_view> names;
  std::string_view action = kAllow;
  std::optional<uint32_t> errno_ret;
  std::optional<Arg> arg;
  std::string_view with_cap;      // includes.caps
  std::string_view without_cap;   // excludes.caps
  bool needs_kernel_4_8 = false;  // includes.minKernel
};

// The profile's rules in its order.
const Rule kRules[] = {
    {.names = kAlwaysAllowed},
    {.names = kTracingSinceKernel4_8, .needs_kernel_4_8 = true},
    {.names = kSocket, .arg = Arg{.index = 0, .value = AF_VSOCK, .op = "SCMP_CMP_NE"}},
    {.names = kPersonality, .arg = Arg{.index = 0, .value = PER_LINUX, .op = "SCMP_CMP_EQ"}},
    {.names = kPersonality, .arg = Arg{.index = 0, .value = PER_LINUX32, .op = "SCMP_CMP_EQ"}},
    {.names = kPersonality, .arg = Arg{.index = 0, .value = UNAME26, .op = "SCMP_CMP_EQ"}},
    {.names = kPersonality,
     .arg = Arg{.index = 0, .value = uint64_t{UNAME26} | PER_LINUX32, .op = "SCMP_CMP_EQ"}},
    {.names = kPersonality, .arg = Arg{.index = 0, .value = 0xffffffff, .op = "SCMP_CMP_EQ"}},
    {.names = kArchSyscalls},
    {.names = kWithDacReadSearch, .with_cap = "CAP_DAC_READ_SEARCH"},
    {.names = kWithSysAdmin, .with_cap = "CAP_SYS_ADMIN"},
    // For MASKED_EQ the value is the mask and valueTwo what the masked
    // argument must equal: no namespace flag set.
    {.names = kClone,
     .arg = Arg{.index = 0, .value = kNamespaceFlags, .op = "SCMP_CMP_MASKED_EQ", .value_two = 0},
     .without_cap = "CAP_SYS_ADMIN"},
    {.names = kClone3, .action = kErrno, .errno_ret = ENOSYS, .without_cap = "CAP_SYS_ADMIN"},
    {.names = kWithSysBoot, .with_cap = "CAP_SYS_BOOT"},
    {.names = kWithSysChroot, .with_cap = "CAP_SYS_CHROOT"},
    {.names = kWithSysModule, .with_cap = "CAP_SYS_MODULE"},
    {.names = kWithSysPacct, .with_cap = "CAP_SYS_PACCT"},
    {.names = kWithSysPtrace, .with_cap = "CAP_SYS_PTRACE"},
    {.names = kWithSysRawio, .with_cap = "CAP_SYS_RAWIO"},
    {.names = kWithSysTime, .with_cap = "CAP_SYS_TIME"},
    {.names = kWithSysTtyConfig, .with_cap = "CAP_SYS_TTY_CONFIG"},
    {.names = kWithSysNice, .with_cap = "CAP_SYS_NICE"},
    {.names = kWithSyslog, .with_cap = "CAP_SYSLOG"},
    {.names = kWithBpf, .with_cap = "CAP_BPF"},
    {.names = kWithPerfmon, .with_cap = "CAP_PERFMON"},
};

// Docker compares the running kernel's release with the rule's minimum. A
// release that cannot be read counts as older: the rule then stays out and
// the syscalls are refused, the safe side.
bool kernel_is_at_least(int major, int minor) {
  utsname name{};
  if (::uname(&name) != 0) return false;
  int running_major = 0;
  int running_minor = 0;
  if (std::sscanf(name.release, "%d.%d", &running_major, &running_minor) != 2) return false;
  return running_major > major || (running_major == major && running_minor >= minor);
}

bool has(const std::vector<std::string>& capabilities, std::string_view capability) {
  return std::find(capabilities.begin(), capabilities.end(), capability) != capabilities.end();
}

bool applies(const Rule& rule, const std::vector<std::string>& capabilities) {
  if (!rule.with_cap.empty() && !has(capabilities, rule.with_cap)) return false;
  if (!rule.without_cap.empty() && has(capabilities, rule.without_cap)) return false;
  if (rule.needs_kernel_4_8 && !kernel_is_at_least(4, 8)) return false;
  return true;
}

json to_json(const Rule& rule) {
  json names = json::array();
  for (std::string_view name : rule.names) names.push_back(name);
  json out = {{"names", std::move(names)}, {"action", rule.action}};
  if (rule.errno_ret) out["errnoRet"] = *rule.errno_ret;
  if (rule.arg) {
    json arg = {{"index", rule.arg->index}, {"value", rule.arg->value}, {"op", rule.arg->op}};
    if (rule.arg->value_two != 0) arg["valueTwo"] = rule.arg->value_two;
    out["args"] = json::array({std::move(arg)});
  }
  return out;
}

}  // namespace

const std::vector<std::string>& docker_default_capabilities() {
  static const std::vector<std::string> kCapabilities = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE",
  };
  return kCapabilities;
}

json docker_default_seccomp(const std::vector<std::string>& capabilities) {
  json architectures = json::array();
  for (std::string_view architecture : kArchitectures) architectures.push_back(architecture);
  json syscalls = json::array();
  for (const Rule& rule : kRules) {
    if (applies(rule, capabilities)) syscalls.push_back(to_json(rule));
  }
  return {
      {"defaultAction", kErrno},
      {"defaultErrnoRet", EPERM},
      {"architectures", std::move(architectures)},
      {"syscalls", std::move(syscalls)},
  };
}

const std::vector<std::string>& docker_masked_paths() {
  // Kernel memory and keys (kcore, keys), timing side channels (timer_list,
  // sched_debug, latency_stats, powercap's energy counters), host hardware
  // (acpi, asound, scsi, firmware tables).
  static const std::vector<std::string> kMasked = {
      "/proc/asound",
      "/proc/acpi",
      "/proc/kcore",
      "/proc/keys",
      "/proc/latency_stats",
      "/proc/timer_list",
      "/proc/timer_stats",
      "/proc/sched_debug",
      "/proc/scsi",
      "/sys/firmware",
      "/sys/devices/virtual/powercap",
  };
  return kMasked;
}

const std::vector<std::string>& docker_readonly_paths() {
  // Host-wide knobs that /proc exposes to every namespace.
  static const std::vector<std::string> kReadonly = {
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
  };
  return kReadonly;
}

}  // namespace berth::launcher
