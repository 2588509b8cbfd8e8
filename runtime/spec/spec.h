// A typed model of the OCI runtime spec's config.json (runtime-spec 1.2,
// Linux). Parsing validates types and values and names the JSON path of the
// first problem ("linux.namespaces[2].type: unknown namespace \"nett\"");
// fields this model does not know, and annotations' contents, are ignored
// as the spec requires.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace berth::spec {

enum class NamespaceType { Mount, Pid, Uts, Ipc, Network, User, Cgroup, Time };
const char* to_string(NamespaceType type);  // the spec's name: "mount", "network", ...
int clone_flag(NamespaceType type);         // CLONE_NEWNS, CLONE_NEWPID, ...

struct Namespace {
  NamespaceType type;
  std::string path;  // empty: create a new one; otherwise join this nsfs file
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Capabilities {
  // Capability names as in the spec ("CAP_CHOWN"), validated on parse.
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct Rlimit {
  int resource = 0;  // RLIMIT_* value, parsed from "RLIMIT_NOFILE"
  std::string type;  // the spec's name, for messages
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;  // non-empty
  std::vector<std::string> env;
  std::string cwd;  // absolute
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::string selinux_label;
  std::optional<int> oom_score_adj;
};

struct Root {
  std::string path;  // as written; relative paths are relative to the bundle
  bool readonly = false;
};

struct Mount {
  std::string destination;  // absolute
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

struct Hook {
  std::string path;  // absolute
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

struct Device {
  char type = 'c';  // 'c', 'b', 'u' (unbuffered char), 'p' (fifo)
  std::string path;
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

enum class SeccompAction { Kill, KillProcess, KillThread, Trap, Errno, Trace, Allow, Log, Notify };
const char* to_string(SeccompAction action);  // "SCMP_ACT_ERRNO", ...

enum class SeccompOperator {
  NotEqual,
  LessThan,
  LessEqual,
  EqualTo,
  GreaterEqual,
  GreaterThan,
  MaskedEqual
};

struct SeccompArg {
  uint32_t index = 0;  // 0..5
  uint64_t value = 0;
  uint64_t value_two = 0;
  SeccompOperator op = SeccompOperator::EqualTo;
};

struct SeccompRule {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::Allow;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  SeccompAction default_action = SeccompAction::Allow;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64", validated
  std::vector<std::string> flags;          // "SECCOMP_FILTER_FLAG_LOG", validated
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompRule> syscalls;
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

enum class Propagation {
  Unset,
  Private,
  Slave,
  Shared,
  Unbindable,
  RPrivate,
  RSlave,
  RShared,
  RUnbindable
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
  std::vector<Device> devices;
  std::string cgroups_path;
  // linux.resources is kept as JSON (null when absent): the cgroup manager
  // owns its interpretation and validation.
  nlohmann::json resources;
  Propagation rootfs_propagation = Propagation::Unset;
  std::optional<Seccomp> seccomp;
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;

  const Namespace* find_namespace(NamespaceType type) const;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;  // required by create/run; optional in the schema
  Root root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux;
};

// Parse and validate a config.json document. Errors name the JSON path.
Result<Spec> parse_spec(const std::string& text);
Result<Spec> parse_spec_json(const nlohmann::json& document);
Result<Spec> load_spec(const std::string& bundle_dir);  // bundle/config.json

// Parse an OCI Process object alone (exec --process, later issues).
Result<Process> parse_process_json(const nlohmann::json& document);

// The default config.json written by `berth-runtime spec`, as runc's.
nlohmann::json default_spec_json(bool rootless);

}  // namespace berth::spec
