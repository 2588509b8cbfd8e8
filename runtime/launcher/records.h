// The launcher's containers, one directory each under the store root:
//
//   containers/<id>/record.json   what `ps` and `inspect` show (atomic writes)
//   containers/<id>/config.json   the OCI spec: the directory is the bundle
//   containers/<id>/upper, work   the overlay's writable layer
//   containers/<id>/rootfs        the overlay's mount point
//   containers/<id>/container.log output of a detached container
//   containers/<id>/lock          flock held while the container is finished
//                                 (unmounted, its exit recorded) or removed
//   containers.lock               flock held while a name is claimed
//
// The runtime's own state (berth-runtime's, for the same ids) lives under
// state/ beside containers/.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"
#include "launcher/network/nft.h"

namespace berth::launcher {

enum class RecordStatus { Created, Running, Paused, Exited };
const char* to_string(RecordStatus status);

struct ContainerRecord {
  std::string id;  // 64 hex
  std::string name;
  std::string hostname;
  std::string image;  // as the user named it
  std::string image_id;
  std::vector<std::string> command;
  std::string created, started, finished;  // RFC3339
  std::optional<int> exit_code;
  bool detached = false;
  bool remove_on_exit = false;
  bool tty = false;
  pid_t supervisor_pid = 0;  // the foreground berth or the detached monitor
  unsigned long long supervisor_start_time = 0;
  std::vector<nlohmann::json> mounts;  // the volumes, for inspect
  // Its network (launcher/container_network.h): the mode, and in bridge
  // mode where its lease is and what it was given.
  std::string network;
  std::string bridge, lease_dir;
  std::string ip_address, gateway;
  int prefix_length = 0;
  std::vector<network::PortMapping> ports;

  nlohmann::json to_json() const;
  static ContainerRecord from_json(const nlohmann::json& j);
};

// Held while a container is finished or removed; the destructor unlocks.
class RecordLock {
 public:
  explicit RecordLock(UniqueFd fd) : fd_(std::move(fd)) {}

 private:
  UniqueFd fd_;
};

class ContainerRecords {
 public:
  static Result<ContainerRecords> open(const std::string& store_root);

  std::string dir(const std::string& id) const { return root_ + "/containers/" + id; }
  std::string state_root() const { return root_ + "/state"; }

  // Makes the container's directory and record; fails if the name is taken.
  Status create(const ContainerRecord& record) const;
  Result<ContainerRecord> load(const std::string& id) const;
  Status save(const ContainerRecord& record) const;
  // A full id, a unique id prefix, or a name.
  Result<ContainerRecord> find(const std::string& reference) const;
  Result<std::vector<ContainerRecord>> list() const;
  // Lock the container's directory. Err ENOENT if it is gone (removed).
  Result<RecordLock> lock(const std::string& id) const;

  // The status from the runtime's view of the container and the record.
  RecordStatus status(const ContainerRecord& record) const;
  // Whether the berth process that supervises the container still runs.
  bool supervisor_alive(const ContainerRecord& record) const;

 private:
  explicit ContainerRecords(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

// 64 random hex characters.
Result<std::string> new_container_id();
// Docker's rule for --name: [a-zA-Z0-9][a-zA-Z0-9_.-]+
Status validate_container_name(const std::string& name);

}  // namespace berth::launcher
