// config.json's top level, process, root, mounts and hooks. The linux
// section is in spec_linux.cc, its seccomp part in spec_seccomp.cc.
#include "spec/spec.h"

#include <sys/capability.h>
#include <sys/resource.h>

#include <array>
#include <set>

#include "core/files.h"
#include "spec/json_node.h"
#include "spec/spec_sections.h"

namespace berth::spec {
namespace detail {

Result<std::string> parse_absolute_path(const JsonNode& node) {
  std::string path = TRY_VALUE(node.as<std::string>());
  if (path.empty() || path[0] != '/') return node.error("must be an absolute path");
  return path;
}

}  // namespace detail

namespace {

using detail::JsonNode;
using detail::Named;

constexpr std::array<Named<int>, 16> kRlimits{{
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
}};

Result<ConsoleSize> parse_console_size(const JsonNode& node) {
  TRY(node.expect_object());
  ConsoleSize size;
  size.height = TRY_VALUE(node.required<uint32_t>("height"));
  size.width = TRY_VALUE(node.required<uint32_t>("width"));
  return size;
}

Result<User> parse_user(const JsonNode& node) {
  TRY(node.expect_object());
  User user;
  user.uid = TRY_VALUE(node.required<uint32_t>("uid"));
  user.gid = TRY_VALUE(node.required<uint32_t>("gid"));
  user.umask = TRY_VALUE(node.optional<uint32_t>("umask"));
  user.additional_gids = TRY_VALUE(node.value_or<std::vector<uint32_t>>("additionalGids", {}));
  return user;
}

Result<std::string> parse_env_entry(const JsonNode& node) {
  std::string entry = TRY_VALUE(node.as<std::string>());
  if (entry.find('=') == std::string::npos)
    return node.error("\"{}\" is not of the form KEY=VALUE", entry);
  return entry;
}

// The spec's spelling only ("CAP_CHOWN", as runc): libcap would also take
// "cap_chown" and "0". Names libcap does not know are rejected rather than
// dropped, so a typo cannot silently grant or withhold a capability.
Result<std::string> parse_capability(const JsonNode& node) {
  std::string name = TRY_VALUE(node.as<std::string>());
  cap_value_t value;
  if (!name.starts_with("CAP_") || cap_from_name(name.c_str(), &value) != 0)
    return node.error("unknown capability \"{}\"", name);
  return name;
}

Result<Capabilities> parse_capabilities(const JsonNode& node) {
  TRY(node.expect_object());
  Capabilities caps;
  caps.bounding = TRY_VALUE(node.list("bounding", parse_capability));
  caps.effective = TRY_VALUE(node.list("effective", parse_capability));
  caps.inheritable = TRY_VALUE(node.list("inheritable", parse_capability));
  caps.permitted = TRY_VALUE(node.list("permitted", parse_capability));
  caps.ambient = TRY_VALUE(node.list("ambient", parse_capability));
  return caps;
}

Result<Rlimit> parse_rlimit(const JsonNode& node) {
  TRY(node.expect_object());
  Rlimit limit;
  limit.type = TRY_VALUE(node.required<std::string>("type"));
  limit.resource = TRY_VALUE(node.required(
      "type", [](const JsonNode& type) { return detail::lookup(type, kRlimits, "rlimit"); }));
  limit.hard = TRY_VALUE(node.required<uint64_t>("hard"));
  limit.soft = TRY_VALUE(node.required<uint64_t>("soft"));
  if (limit.soft > limit.hard)
    return node.error_at("soft", "{} exceeds the hard limit {}", limit.soft, limit.hard);
  return limit;
}

Result<std::vector<Rlimit>> parse_rlimits(const JsonNode& process) {
  std::set<int> seen;
  return process.list("rlimits", [&seen](const JsonNode& node) -> Result<Rlimit> {
    Rlimit limit = TRY_VALUE(parse_rlimit(node));
    if (!seen.insert(limit.resource).second)
      return node.error_at("type", "duplicate rlimit \"{}\"", limit.type);
    return limit;
  });
}

Result<int> parse_oom_score_adj(const JsonNode& node) {
  int value = TRY_VALUE(node.as<int>());
  if (value < -1000 || value > 1000)
    return node.error("must be between -1000 and 1000, got {}", value);
  return value;
}

Result<Process> parse_process(const JsonNode& node) {
  TRY(node.expect_object());
  Process process;
  process.terminal = TRY_VALUE(node.value_or("terminal", false));
  process.console_size = TRY_VALUE(node.optional("consoleSize", parse_console_size));
  process.user = TRY_VALUE(node.required("user", parse_user));
  process.args = TRY_VALUE(node.required<std::vector<std::string>>("args"));
  if (process.args.empty()) return node.error_at("args", "must not be empty");
  process.env = TRY_VALUE(node.list("env", parse_env_entry));
  process.cwd = TRY_VALUE(node.required("cwd", detail::parse_absolute_path));
  process.capabilities = TRY_VALUE(node.optional("capabilities", parse_capabilities));
  process.rlimits = TRY_VALUE(parse_rlimits(node));
  process.no_new_privileges = TRY_VALUE(node.value_or("noNewPrivileges", false));
  process.apparmor_profile = TRY_VALUE(node.value_or<std::string>("apparmorProfile", {}));
  process.selinux_label = TRY_VALUE(node.value_or<std::string>("selinuxLabel", {}));
  process.oom_score_adj = TRY_VALUE(node.optional("oomScoreAdj", parse_oom_score_adj));
  return process;
}

Result<Root> parse_root(const JsonNode& node) {
  TRY(node.expect_object());
  Root root;
  root.path = TRY_VALUE(node.required<std::string>("path"));
  if (root.path.empty()) return node.error_at("path", "must not be empty");
  root.readonly = TRY_VALUE(node.value_or("readonly", false));
  return root;
}

Result<Mount> parse_mount(const JsonNode& node) {
  TRY(node.expect_object());
  Mount mount;
  mount.destination = TRY_VALUE(node.required("destination", detail::parse_absolute_path));
  mount.type = TRY_VALUE(node.value_or<std::string>("type", {}));
  mount.source = TRY_VALUE(node.value_or<std::string>("source", {}));
  mount.options = TRY_VALUE(node.value_or<std::vector<std::string>>("options", {}));
  return mount;
}

Result<int> parse_hook_timeout(const JsonNode& node) {
  int seconds = TRY_VALUE(node.as<int>());
  if (seconds <= 0) return node.error("must be greater than zero, got {}", seconds);
  return seconds;
}

Result<Hook> parse_hook(const JsonNode& node) {
  TRY(node.expect_object());
  Hook hook;
  hook.path = TRY_VALUE(node.required("path", detail::parse_absolute_path));
  hook.args = TRY_VALUE(node.value_or<std::vector<std::string>>("args", {}));
  hook.env = TRY_VALUE(node.value_or<std::vector<std::string>>("env", {}));
  hook.timeout = TRY_VALUE(node.optional("timeout", parse_hook_timeout));
  return hook;
}

Result<Hooks> parse_hooks(const JsonNode& node) {
  TRY(node.expect_object());
  Hooks hooks;
  hooks.prestart = TRY_VALUE(node.list("prestart", parse_hook));
  hooks.create_runtime = TRY_VALUE(node.list("createRuntime", parse_hook));
  hooks.create_container = TRY_VALUE(node.list("createContainer", parse_hook));
  hooks.start_container = TRY_VALUE(node.list("startContainer", parse_hook));
  hooks.poststart = TRY_VALUE(node.list("poststart", parse_hook));
  hooks.poststop = TRY_VALUE(node.list("poststop", parse_hook));
  return hooks;
}

Result<Spec> parse_document(const nlohmann::json& document) {
  if (!document.is_object())
    return make_error("the document must be a JSON object, got {}", document.type_name());
  JsonNode node(document, "");
  Spec spec;
  spec.oci_version = TRY_VALUE(node.required<std::string>("ociVersion"));
  spec.process = TRY_VALUE(node.optional("process", parse_process));
  spec.root = TRY_VALUE(node.required("root", parse_root));
  spec.hostname = TRY_VALUE(node.value_or<std::string>("hostname", {}));
  spec.domainname = TRY_VALUE(node.value_or<std::string>("domainname", {}));
  spec.mounts = TRY_VALUE(node.list("mounts", parse_mount));
  spec.hooks = TRY_VALUE(node.optional("hooks", parse_hooks)).value_or(Hooks{});
  spec.annotations = TRY_VALUE(node.value_or<detail::StringMap>("annotations", {}));
  spec.linux = TRY_VALUE(node.optional("linux", detail::parse_linux));
  return spec;
}

// `name` is the file the text came from, for the error message.
Result<nlohmann::json> parse_json(const std::string& text, const std::string& name) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // what() is "[json.exception.parse_error.101] parse error at line 1,
    // column 2: <detail>"; the byte offset replaces the line and column.
    std::string what = e.what();
    size_t colon = what.find(": ");
    std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
    return make_error("{}: parse error at byte {}: {}", name, e.byte, detail);
  }
}

}  // namespace

Result<Spec> parse_spec(const std::string& text) {
  return parse_document(TRY_VALUE(parse_json(text, "config.json")));
}

Result<Spec> parse_spec_json(const nlohmann::json& document) { return parse_document(document); }

Result<Spec> load_spec(const std::string& bundle_dir) {
  std::string path = bundle_dir + "/config.json";
  std::string text = TRY_VALUE(read_file(path));
  auto spec = parse_document(TRY_VALUE(parse_json(text, path)));
  if (!spec) spec.error().add_context(path);
  return spec;
}

Result<Process> parse_process_json(const nlohmann::json& document) {
  return parse_process(JsonNode(document, ""));
}

}  // namespace berth::spec
