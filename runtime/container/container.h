// The container lifecycle: the one code path both front ends, berth-runtime
// and the berth launcher, use to create and manage containers.
// Semantics follow the OCI runtime spec and runc: `create` leaves the
// container's init waiting; `start` releases it to exec the user's process;
// `delete` removes what create made.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "spec/resources.h"

namespace berth::container {

constexpr const char* kDefaultStateRoot = "/run/berth";

enum class ContainerStatus { Creating, Created, Running, Paused, Stopped };
const char* to_string(ContainerStatus status);  // "created", "running", ...

// What `state` prints (runc's fields) plus what the runtime needs later.
struct ContainerState {
  std::string oci_version;
  std::string id;
  int pid = 0;  // 0 once stopped
  ContainerStatus status = ContainerStatus::Stopped;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC3339 with nanoseconds, UTC
  std::string owner;    // "" as runc prints for root
  std::map<std::string, std::string> annotations;

  nlohmann::ordered_json to_json() const;  // runc's `state` document, in its field order
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";    // made absolute
  std::string pid_file;        // written with no trailing newline
  std::string console_socket;  // receives the pty master when process.terminal
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;  // the caller's fds 3 .. 3+N-1 pass on to the process
};

// Validates an id as runc does (letters, digits, "_+-.", not "." or "..").
Status validate_container_id(const std::string& id);

Status create_container(const std::string& state_root, const CreateOptions& options);
Status start_container(const std::string& state_root, const std::string& id);

// create + start. Without detach, waits for the container's init and returns
// its exit status (128+N when killed by signal N), relaying the caller's
// terminal when process.terminal is set and no console socket was given, and
// deletes the container afterwards, as `runc run` does.
Result<int> run_container(const std::string& state_root, const CreateOptions& options, bool detach);

Result<ContainerState> container_state(const std::string& state_root, const std::string& id);
Result<std::vector<ContainerState>> list_containers(const std::string& state_root);

// signal: a number or a name ("KILL", "SIGKILL", "9"); all: every process
// in the container's cgroup (or pid namespace) rather than only init.
Status kill_container(const std::string& state_root, const std::string& id, int signal, bool all);
Status delete_container(const std::string& state_root, const std::string& id, bool force);

// Applies `changes` over the container's current limits (runc's update).
Status update_container(const std::string& state_root, const std::string& id,
                        const spec::Resources& changes);

// "9", "KILL", "SIGKILL", "kill" -> 9; an error names the unknown signal.
Result<int> parse_signal(const std::string& text);

}  // namespace berth::container
