#include "linux/seccomp.h"

#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <utility>

#include "core/files.h"
#include "core/log.h"

namespace berth::linux {
namespace {

using spec::SeccompAction;
using spec::SeccompOperator;

// SCMP_ACT_ERRNO and SCMP_ACT_TRACE carry their value in the low 16 bits of
// the action; anything larger would be silently truncated by libseccomp.
constexpr uint32_t kMaxActionData = 0xffff;

// libseccomp returns negated errno values rather than setting errno.
Error libseccomp_error(const std::string& what, int rc) {
  return Error::from_errno_value(what, -rc);
}

// As runc: ERRNO and TRACE without errnoRet return EPERM.
Result<uint32_t> scmp_action(SeccompAction action, std::optional<uint32_t> errno_ret) {
  const uint32_t data = errno_ret.value_or(EPERM);
  if ((action == SeccompAction::Errno || action == SeccompAction::Trace) && data > kMaxActionData)
    return make_error("errnoRet {} does not fit in the 16 bits seccomp returns", data);
  switch (action) {
    case SeccompAction::Kill:
    case SeccompAction::KillThread:
      return SCMP_ACT_KILL_THREAD;
    case SeccompAction::KillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::Trap:
      return SCMP_ACT_TRAP;
    case SeccompAction::Errno:
      return SCMP_ACT_ERRNO(data);
    case SeccompAction::Trace:
      return SCMP_ACT_TRACE(data);
    case SeccompAction::Allow:
      return SCMP_ACT_ALLOW;
    case SeccompAction::Log:
      return SCMP_ACT_LOG;
    case SeccompAction::Notify:
      return SCMP_ACT_NOTIFY;
  }
  return make_error("unknown seccomp action {}", static_cast<int>(action));
}

scmp_compare scmp_operator(SeccompOperator op) {
  switch (op) {
    case SeccompOperator::NotEqual:
      return SCMP_CMP_NE;
    case SeccompOperator::LessThan:
      return SCMP_CMP_LT;
    case SeccompOperator::LessEqual:
      return SCMP_CMP_LE;
    case SeccompOperator::EqualTo:
      return SCMP_CMP_EQ;
    case SeccompOperator::GreaterEqual:
      return SCMP_CMP_GE;
    case SeccompOperator::GreaterThan:
      return SCMP_CMP_GT;
    case SeccompOperator::MaskedEqual:
      return SCMP_CMP_MASKED_EQ;
  }
  return _SCMP_CMP_MIN;  // rejected by libseccomp with EINVAL, reported per rule
}

Status set_attribute(scmp_filter_ctx ctx, scmp_filter_attr attribute, uint32_t value,
                     const std::string& what) {
  int rc = seccomp_attr_set(ctx, attribute, value);
  if (rc < 0) return libseccomp_error(what, rc);
  return ok();
}

// The spec's flag names are seccomp(2)'s; libseccomp sets them through
// filter attributes.
Status apply_filter_flag(scmp_filter_ctx ctx, const std::string& flag) {
  if (flag == "SECCOMP_FILTER_FLAG_LOG")
    return set_attribute(ctx, SCMP_FLTATR_CTL_LOG, 1, "set seccomp flag " + flag);
  if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW")
    return set_attribute(ctx, SCMP_FLTATR_CTL_SSB, 1, "set seccomp flag " + flag);
  if (flag == "SECCOMP_FILTER_FLAG_TSYNC")
    return set_attribute(ctx, SCMP_FLTATR_CTL_TSYNC, 1, "set seccomp flag " + flag);
  if (flag == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") {
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
    return set_attribute(ctx, SCMP_FLTATR_CTL_WAITKILL, 1, "set seccomp flag " + flag);
#else
    return make_error("seccomp flag {} is not supported by libseccomp {}.{}.{}", flag,
                      SCMP_VER_MAJOR, SCMP_VER_MINOR, SCMP_VER_MICRO);
#endif
  }
  return make_error("unknown seccomp flag \"{}\"", flag);
}

// "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64".
Result<uint32_t> architecture_token(const std::string& name) {
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  if (name.starts_with(kPrefix)) {
    std::string libseccomp_name = name.substr(kPrefix.size());
    std::transform(libseccomp_name.begin(), libseccomp_name.end(), libseccomp_name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    uint32_t token = seccomp_arch_resolve_name(libseccomp_name.c_str());
    if (token != 0) return token;
  }
  return make_error("unknown architecture \"{}\"", name);
}

bool an_index_repeats(const std::vector<spec::SeccompArg>& args) {
  std::array<int, 6> uses{};
  for (const spec::SeccompArg& arg : args) {
    if (arg.index < uses.size() && ++uses[arg.index] > 1) return true;
  }
  return false;
}

Status add_rule(scmp_filter_ctx ctx, int syscall_nr, uint32_t action,
                const std::vector<scmp_arg_cmp>& conditions) {
  int rc = seccomp_rule_add_array(ctx, action, syscall_nr, conditions.size(), conditions.data());
  if (rc < 0) return libseccomp_error("add rule", rc);
  return ok();
}

// libseccomp ANDs the conditions of one rule and refuses two conditions on
// the same argument. runc then adds every condition of the rule as a rule
// of its own, so they are ORed; profiles written for runc expect that.
Status add_syscall_rules(scmp_filter_ctx ctx, int syscall_nr, uint32_t action,
                         const std::vector<spec::SeccompArg>& args) {
  std::vector<scmp_arg_cmp> conditions;
  for (const spec::SeccompArg& arg : args) {
    // For MASKED_EQ, libseccomp's first datum is the mask: the spec's value.
    uint64_t second = arg.op == SeccompOperator::MaskedEqual ? arg.value_two : 0;
    conditions.push_back(scmp_arg_cmp{arg.index, scmp_operator(arg.op), arg.value, second});
  }
  if (!an_index_repeats(args)) return add_rule(ctx, syscall_nr, action, conditions);
  for (const scmp_arg_cmp& condition : conditions)
    TRY(add_rule(ctx, syscall_nr, action, {condition}));
  return ok();
}

}  // namespace

SeccompFilter::SeccompFilter(scmp_filter_ctx context, bool uses_notify)
    : context_(context), uses_notify_(uses_notify) {}

Result<SeccompFilter> SeccompFilter::compile(const spec::Seccomp& profile) {
  uint32_t default_action = 0;
  if (auto action = scmp_action(profile.default_action, profile.default_errno_ret))
    default_action = *action;
  else
    return action.error().add_context("linux.seccomp.defaultAction");
  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (!ctx)
    return make_error("create a seccomp filter with default action {}",
                      spec::to_string(profile.default_action));
  SeccompFilter filter(ctx, false);

  // no_new_privs is the spec's decision (process.noNewPrivileges), made by
  // the caller; a filter loaded without it needs CAP_SYS_ADMIN.
  TRY(set_attribute(ctx, SCMP_FLTATR_CTL_NNP, 0, "turn off libseccomp's no_new_privs"));
  // Report the kernel's own errno from seccomp_load instead of ECANCELED.
  TRY(set_attribute(ctx, SCMP_FLTATR_API_SYSRAWRC, 1, "ask libseccomp for raw errors"));

  for (size_t i = 0; i < profile.architectures.size(); ++i) {
    const std::string& name = profile.architectures[i];
    auto token = architecture_token(name);
    if (!token) return token.error().add_context(fmt::format("linux.seccomp.architectures[{}]", i));
    // The native architecture is in every new filter already.
    int rc = seccomp_arch_add(ctx, *token);
    if (rc < 0 && rc != -EEXIST)
      return libseccomp_error(fmt::format("linux.seccomp.architectures[{}]: add {}", i, name), rc);
  }

  for (size_t i = 0; i < profile.flags.size(); ++i)
    TRY_CTX(apply_filter_flag(ctx, profile.flags[i]), "linux.seccomp.flags[{}]", i);

  for (size_t i = 0; i < profile.syscalls.size(); ++i) {
    const spec::SeccompRule& rule = profile.syscalls[i];
    uint32_t action = 0;
    if (auto converted = scmp_action(rule.action, rule.errno_ret))
      action = *converted;
    else
      return converted.error().add_context(fmt::format("linux.seccomp.syscalls[{}]", i));
    // libseccomp refuses a rule that repeats the default action; it would
    // change nothing, so it is dropped as runc does.
    if (action == default_action) continue;
    for (const std::string& name : rule.names) {
      int syscall_nr = seccomp_syscall_resolve_name(name.c_str());
      if (syscall_nr == __NR_SCMP_ERROR) {
        log::debug("seccomp: skipping syscall \"{}\", unknown to libseccomp on this architecture",
                   name);
        continue;
      }
      TRY_CTX(add_syscall_rules(ctx, syscall_nr, action, rule.args),
              "linux.seccomp.syscalls[{}] ({}, {})", i, name, spec::to_string(rule.action));
      if (rule.action == SeccompAction::Notify) filter.uses_notify_ = true;
    }
  }
  return filter;
}

Result<UniqueFd> SeccompFilter::load() {
  int rc = seccomp_load(context_.get());
  if (rc < 0) return libseccomp_error("load seccomp filter", rc);
  if (!uses_notify_) return UniqueFd();
  // The kernel created the listener with close-on-exec; libseccomp only
  // remembers its number, so the caller owns it from here.
  int fd = seccomp_notify_fd(context_.get());
  if (fd < 0) return libseccomp_error("get the seccomp notify listener", fd);
  return UniqueFd(fd);
}

Result<std::string> SeccompFilter::export_pfc() const {
  UniqueFd memfd(::memfd_create("berth-seccomp-pfc", MFD_CLOEXEC));
  if (!memfd) return sys_error("memfd_create for seccomp pseudo-code");
  int rc = seccomp_export_pfc(context_.get(), memfd.get());
  if (rc < 0) return libseccomp_error("export seccomp pseudo-code", rc);
  if (::lseek(memfd.get(), 0, SEEK_SET) < 0) return sys_error("rewind seccomp pseudo-code memfd");
  auto text = read_fd(memfd.get());
  if (!text) return text.error().add_context("read seccomp pseudo-code");
  return text;
}

Status send_seccomp_listener(const std::string& listener_path, int listener_fd,
                             const std::string& state_json) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (listener_path.size() >= sizeof address.sun_path)
    return make_error("seccomp listenerPath {} is longer than a unix socket path can be ({} bytes)",
                      listener_path, sizeof address.sun_path - 1);
  // On a stream socket a message without data bytes carries no ancillary
  // data either: the fd would be lost without an error.
  if (state_json.empty()) return make_error("send seccomp listener fd: empty state payload");
  std::memcpy(address.sun_path, listener_path.c_str(), listener_path.size() + 1);

  UniqueFd socket_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket_fd) return sys_error("create a socket for seccomp listener {}", listener_path);
  if (::connect(socket_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0)
    return sys_error("connect to seccomp listener {}", listener_path);

  iovec payload{const_cast<char*>(state_json.data()), state_json.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &payload;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &listener_fd, sizeof(int));

  ssize_t sent;
  do {
    sent = ::sendmsg(socket_fd.get(), &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return sys_error("send seccomp listener fd to {}", listener_path);
  // The fd travelled with the first bytes; a long state may need more sends.
  size_t done = static_cast<size_t>(sent);
  while (done < state_json.size()) {
    ssize_t n =
        ::send(socket_fd.get(), state_json.data() + done, state_json.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("send container state to seccomp listener {}", listener_path);
    }
    done += static_cast<size_t>(n);
  }
  return ok();
}

}  // namespace berth::linux
