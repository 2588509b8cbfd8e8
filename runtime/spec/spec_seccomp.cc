// config.json's linux.seccomp. Syscall names are not checked: a name this
// host's libseccomp does not know is skipped when the filter is built, as
// runc does, so one profile serves old and new kernels.
#include <seccomp.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "spec/json_node.h"
#include "spec/spec.h"
#include "spec/spec_sections.h"

namespace berth::spec {
namespace {

using detail::JsonNode;
using detail::Named;

constexpr std::array<Named<SeccompAction>, 9> kActions{{
    {"SCMP_ACT_KILL", SeccompAction::Kill},
    {"SCMP_ACT_KILL_PROCESS", SeccompAction::KillProcess},
    {"SCMP_ACT_KILL_THREAD", SeccompAction::KillThread},
    {"SCMP_ACT_TRAP", SeccompAction::Trap},
    {"SCMP_ACT_ERRNO", SeccompAction::Errno},
    {"SCMP_ACT_TRACE", SeccompAction::Trace},
    {"SCMP_ACT_ALLOW", SeccompAction::Allow},
    {"SCMP_ACT_LOG", SeccompAction::Log},
    {"SCMP_ACT_NOTIFY", SeccompAction::Notify},
}};

constexpr std::array<Named<SeccompOperator>, 7> kOperators{{
    {"SCMP_CMP_NE", SeccompOperator::NotEqual},
    {"SCMP_CMP_LT", SeccompOperator::LessThan},
    {"SCMP_CMP_LE", SeccompOperator::LessEqual},
    {"SCMP_CMP_EQ", SeccompOperator::EqualTo},
    {"SCMP_CMP_GE", SeccompOperator::GreaterEqual},
    {"SCMP_CMP_GT", SeccompOperator::GreaterThan},
    {"SCMP_CMP_MASKED_EQ", SeccompOperator::MaskedEqual},
}};

constexpr std::array<std::string_view, 4> kFilterFlags{
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

// seccomp(2) passes six syscall arguments.
constexpr uint32_t kMaxArgIndex = 5;

Result<SeccompAction> parse_action(const JsonNode& node) {
  return detail::lookup(node, kActions, "action");
}

// The spec's names are libseccomp's, upper-cased and prefixed:
// SCMP_ARCH_X86_64 is "x86_64". Asking libseccomp accepts exactly the
// architectures this host can build a filter for.
Result<std::string> parse_architecture(const JsonNode& node) {
  std::string name = TRY_VALUE(node.as<std::string>());
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  if (name.starts_with(kPrefix)) {
    std::string libseccomp_name = name.substr(kPrefix.size());
    std::transform(libseccomp_name.begin(), libseccomp_name.end(), libseccomp_name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (seccomp_arch_resolve_name(libseccomp_name.c_str()) != 0) return name;
  }
  return node.error("unknown architecture \"{}\"", name);
}

Result<std::string> parse_filter_flag(const JsonNode& node) {
  std::string name = TRY_VALUE(node.as<std::string>());
  if (std::find(kFilterFlags.begin(), kFilterFlags.end(), name) == kFilterFlags.end())
    return node.error("unknown flag \"{}\"", name);
  return name;
}

Result<uint32_t> parse_arg_index(const JsonNode& node) {
  uint32_t index = TRY_VALUE(node.as<uint32_t>());
  if (index > kMaxArgIndex)
    return node.error("must be between 0 and {}, got {}", kMaxArgIndex, index);
  return index;
}

Result<SeccompArg> parse_arg(const JsonNode& node) {
  TRY(node.expect_object());
  SeccompArg arg;
  arg.index = TRY_VALUE(node.required("index", parse_arg_index));
  arg.value = TRY_VALUE(node.required<uint64_t>("value"));
  arg.value_two = TRY_VALUE(node.value_or<uint64_t>("valueTwo", 0));
  arg.op = TRY_VALUE(node.required(
      "op", [](const JsonNode& op) { return detail::lookup(op, kOperators, "operator"); }));
  return arg;
}

// A NOTIFY rule hands the syscall to a supervisor listening on
// listenerPath; without one the container would block in that syscall.
Result<SeccompRule> parse_rule(const JsonNode& node, const std::string& listener_path) {
  TRY(node.expect_object());
  SeccompRule rule;
  rule.names = TRY_VALUE(node.required<std::vector<std::string>>("names"));
  if (rule.names.empty()) return node.error_at("names", "must not be empty");
  rule.action = TRY_VALUE(node.required("action", parse_action));
  if (rule.action == SeccompAction::Notify && listener_path.empty())
    return node.error_at("action", "SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath");
  rule.errno_ret = TRY_VALUE(node.optional<uint32_t>("errnoRet"));
  rule.args = TRY_VALUE(node.list("args", parse_arg));
  return rule;
}

}  // namespace

namespace detail {

Result<Seccomp> parse_seccomp(const JsonNode& node) {
  TRY(node.expect_object());
  Seccomp seccomp;
  seccomp.default_action = TRY_VALUE(node.required("defaultAction", parse_action));
  // After loading the filter the runtime still makes syscalls to hand the
  // listener fd over; as the default, NOTIFY would block them on a listener
  // that has no fd yet. runc and youki refuse it too.
  if (seccomp.default_action == SeccompAction::Notify)
    return node.error_at("defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
  seccomp.default_errno_ret = TRY_VALUE(node.optional<uint32_t>("defaultErrnoRet"));
  seccomp.architectures = TRY_VALUE(node.list("architectures", parse_architecture));
  seccomp.flags = TRY_VALUE(node.list("flags", parse_filter_flag));
  seccomp.listener_path = TRY_VALUE(node.value_or<std::string>("listenerPath", {}));
  seccomp.listener_metadata = TRY_VALUE(node.value_or<std::string>("listenerMetadata", {}));
  seccomp.syscalls = TRY_VALUE(node.list("syscalls", [&seccomp](const JsonNode& rule) {
    return parse_rule(rule, seccomp.listener_path);
  }));
  return seccomp;
}

}  // namespace detail

const char* to_string(SeccompAction action) { return detail::name_in(kActions, action); }

}  // namespace berth::spec
