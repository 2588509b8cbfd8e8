#include "launcher/container_spec.h"

#include <algorithm>
#include <set>

#include "core/files.h"
#include "launcher/docker_defaults.h"
#include "linux/capabilities.h"
#include "spec/spec.h"

namespace berth::launcher {

namespace {

using nlohmann::json;

constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// Where --init's reaper appears: /dev is the container's own tmpfs, so the
// bind mount's target leaves nothing in the container's writable layer.
constexpr const char* kInitPath = "/dev/init";

std::vector<std::string> string_list(const json& config, const char* key) {
  std::vector<std::string> out;
  if (config.is_object() && config.contains(key) && config[key].is_array())
    for (const json& item : config[key])
      if (item.is_string()) out.push_back(item);
  return out;
}

std::string env_name(const std::string& entry) { return entry.substr(0, entry.find('=')); }

void set_env(std::vector<std::string>& env, const std::string& entry) {
  std::string name = env_name(entry);
  auto it = std::find_if(env.begin(), env.end(),
                         [&](const std::string& e) { return env_name(e) == name; });
  if (it != env.end())
    *it = entry;
  else
    env.push_back(entry);
}

}  // namespace

Result<std::vector<std::string>> container_capabilities(const RunOptions& options) {
  const std::vector<std::string>& known = docker_default_capabilities();
  std::set<std::string> caps(known.begin(), known.end());
  for (const std::string& raw : options.cap_add) {
    std::string cap = normalize_capability(raw);
    if (cap == "ALL") {
      for (const std::string& name : linux::known_capability_names()) caps.insert(name);
      continue;
    }
    TRY_CTX(linux::capability_from_name(cap), "--cap-add {}", raw);
    caps.insert(cap);
  }
  for (const std::string& raw : options.cap_drop) {
    std::string cap = normalize_capability(raw);
    if (cap == "ALL") {
      caps.clear();
      continue;
    }
    TRY_CTX(linux::capability_from_name(cap), "--cap-drop {}", raw);
    caps.erase(cap);
  }
  return std::vector<std::string>(caps.begin(), caps.end());
}

namespace {

json bind_mount(const std::string& source, const std::string& destination, bool readonly) {
  json options = {"rbind", "rprivate"};
  if (readonly) options.push_back("ro");
  return {{"destination", destination}, {"type", "bind"}, {"source", source}, {"options", options}};
}

struct SecurityOptions {
  bool no_new_privileges = false;
  bool seccomp_unconfined = false;
  std::string seccomp_file;
};

Result<SecurityOptions> parse_security_options(const std::vector<std::string>& flags) {
  SecurityOptions security;
  for (const std::string& flag : flags) {
    if (flag == "no-new-privileges" || flag == "no-new-privileges:true" ||
        flag == "no-new-privileges=true")
      security.no_new_privileges = true;
    else if (flag == "no-new-privileges:false" || flag == "no-new-privileges=false")
      security.no_new_privileges = false;
    else if (flag == "seccomp=unconfined" || flag == "seccomp:unconfined")
      security.seccomp_unconfined = true;
    else if (flag.rfind("seccomp=", 0) == 0 || flag.rfind("seccomp:", 0) == 0)
      security.seccomp_file = flag.substr(8);
    else
      return make_error(
          "--security-opt {}: not supported (seccomp=unconfined|PROFILE.json, no-new-privileges)",
          flag);
  }
  return security;
}

Result<json> seccomp_profile(const SecurityOptions& security,
                             const std::vector<std::string>& caps) {
  if (security.seccomp_unconfined) return json();
  if (security.seccomp_file.empty()) return docker_default_seccomp(caps);
  auto text = TRY_VALUE(read_file(security.seccomp_file));
  json profile = json::parse(text, nullptr, false);
  if (profile.is_discarded() || !profile.is_object())
    return make_error("--security-opt seccomp={}: not a JSON object", security.seccomp_file);
  return profile;
}

json resources(const RunOptions& options, int64_t memory, const std::optional<CpuQuota>& cpu) {
  json resources = json::object();
  // Docker: without --memory-swap, the container may use as much swap as
  // memory (the spec's swap is memory+swap).
  if (memory > 0) resources["memory"] = {{"limit", memory}, {"swap", 2 * memory}};
  if (options.pids_limit > 0) resources["pids"] = {{"limit", options.pids_limit}};
  if (cpu) resources["cpu"] = {{"quota", cpu->quota}, {"period", cpu->period}};
  return resources;
}

}  // namespace

Result<std::vector<std::string>> container_command(const RunOptions& options,
                                                   const json& image_config) {
  std::vector<std::string> entrypoint = string_list(image_config, "Entrypoint");
  std::vector<std::string> cmd = string_list(image_config, "Cmd");
  if (options.entrypoint) {
    entrypoint.clear();
    if (!options.entrypoint->empty()) entrypoint.push_back(*options.entrypoint);
    cmd.clear();
  }
  if (!options.command.empty()) cmd = options.command;
  std::vector<std::string> args = entrypoint;
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty())
    return make_error("no command specified: the image {} has no Entrypoint or Cmd", options.image);
  return args;
}

Result<std::vector<std::string>> container_env(const RunOptions& options, const json& image_config,
                                               const std::string& hostname) {
  std::vector<std::string> env;
  set_env(env, kDefaultPath);
  set_env(env, "HOSTNAME=" + hostname);
  for (const std::string& entry : string_list(image_config, "Env")) set_env(env, entry);
  for (const std::string& file : options.env_files)
    for (const std::string& entry : TRY_VALUE(read_env_file(file))) set_env(env, entry);
  for (const std::string& flag : options.env) {
    if (flag.empty() || flag[0] == '=') return make_error("-e {}: no variable name", flag);
    if (auto entry = expand_env_flag(flag)) set_env(env, *entry);
  }
  if (options.tty && std::none_of(env.begin(), env.end(),
                                  [](const std::string& e) { return env_name(e) == "TERM"; }))
    env.push_back("TERM=xterm");
  return env;
}

std::string container_user(const RunOptions& options, const json& image_config) {
  if (!options.user.empty()) return options.user;
  return image_config.is_object() ? image_config.value("User", "") : "";
}

std::string container_workdir(const RunOptions& options, const json& image_config) {
  std::string dir = options.workdir;
  if (dir.empty() && image_config.is_object()) dir = image_config.value("WorkingDir", "");
  return dir.empty() ? "/" : dir;
}

Result<json> make_container_spec(const RunOptions& options, const SpecInputs& inputs) {
  json spec = spec::default_spec_json(false);
  auto caps = TRY_VALUE(container_capabilities(options));
  auto security = TRY_VALUE(parse_security_options(options.security_opts));

  json& process = spec["process"];
  process["terminal"] = options.tty;
  if (options.tty && inputs.console_size)
    process["consoleSize"] = {{"height", inputs.console_size->first},
                              {"width", inputs.console_size->second}};
  process["args"] = inputs.args;
  if (!inputs.init_binary.empty()) process["args"].insert(process["args"].begin(), kInitPath);
  process["env"] = inputs.env;
  process["cwd"] = inputs.cwd;
  process["user"] = {{"uid", inputs.user.uid}, {"gid", inputs.user.gid}};
  if (!inputs.user.additional_gids.empty())
    process["user"]["additionalGids"] = inputs.user.additional_gids;
  // As Docker: a non-root user keeps the set only as its bounding set, so
  // it has no capabilities until it execs a file that grants some.
  json none = json::array();
  bool root = inputs.user.uid == 0;
  process["capabilities"] = {{"bounding", caps},
                             {"effective", root ? json(caps) : none},
                             {"permitted", root ? json(caps) : none}};
  process["noNewPrivileges"] = security.no_new_privileges;
  // Docker sets no rlimits of its own: the container inherits berth's.
  process.erase("rlimits");

  spec["root"] = {{"path", inputs.rootfs}, {"readonly", options.read_only}};
  spec["hostname"] = inputs.hostname;

  json& mounts = spec["mounts"];
  if (!inputs.init_binary.empty())
    mounts.push_back(bind_mount(inputs.init_binary, kInitPath, true));
  for (const std::string& flag : options.tmpfs) {
    auto tmpfs = TRY_VALUE(parse_tmpfs(flag));
    json tmpfs_options = {"nosuid", "nodev", "noexec"};
    for (const std::string& option : tmpfs.options) tmpfs_options.push_back(option);
    mounts.push_back({{"destination", tmpfs.container},
                      {"type", "tmpfs"},
                      {"source", "tmpfs"},
                      {"options", tmpfs_options}});
  }
  for (const auto& [file, path] : inputs.network_files)
    mounts.push_back(bind_mount(file, path, false));
  for (const std::string& flag : options.volumes) {
    auto volume = TRY_VALUE(parse_volume(flag));
    mounts.push_back(bind_mount(volume.host, volume.container, volume.readonly));
  }

  json& linux = spec["linux"];
  json namespaces = {{{"type", "pid"}},
                     {{"type", "ipc"}},
                     {{"type", "uts"}},
                     {{"type", "mount"}},
                     {{"type", "cgroup"}}};
  // bridge and none: a network namespace of its own (bridge mode connects
  // it once the container is created).
  if (options.network == "bridge" || options.network == "none")
    namespaces.push_back({{"type", "network"}});
  else if (options.network != "host")
    return make_error("--network {}: not supported (bridge, none or host)", options.network);
  linux["namespaces"] = namespaces;
  linux["maskedPaths"] = docker_masked_paths();
  linux["readonlyPaths"] = docker_readonly_paths();
  // One cgroup per container directly under the cgroup2 root, with no
  // parent of berth's own: nothing stays behind once the last container
  // goes (a shared "/berth" parent would, as runc leaves parents), and
  // concurrent runs never race over creating and removing a parent.
  linux["cgroupsPath"] = "/berth-" + inputs.id;
  int64_t memory = options.memory.empty() ? 0 : TRY_VALUE(parse_memory_bytes(options.memory));
  std::optional<CpuQuota> cpu;
  if (!options.cpus.empty()) cpu = TRY_VALUE(parse_cpus(options.cpus));
  linux["resources"] = resources(options, memory, cpu);
  json seccomp = TRY_VALUE(seccomp_profile(security, caps));
  if (!seccomp.is_null()) linux["seccomp"] = seccomp;
  return spec;
}

}  // namespace berth::launcher
