// Per-container state under --root: <root>/<id>/ holds state.json (written
// atomically) and, between create and start, exec.fifo. Every command that
// reads or changes a container holds an exclusive flock on <root>/<id> for
// its whole run, so concurrent commands on one id are serialised.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>

#include "container/container.h"
#include "core/error.h"
#include "core/unique_fd.h"

namespace berth::container {

// What state.json keeps: the public state plus what later commands need.
struct StoredState {
  ContainerState state;                    // status is not stored: it is derived
  unsigned long long init_start_time = 0;  // /proc/<pid>/stat field 22: guards pid reuse
  std::string cgroup_dir;                  // host path, "" if none
  nlohmann::json resources;                // linux.resources as applied, with updates since
  nlohmann::json hooks;                    // the spec's hooks (poststart, poststop run later)
  bool own_pid_namespace = true;           // kill --all is needed when init is not the only process

  nlohmann::json to_json() const;
  static Result<StoredState> from_json(const nlohmann::json& j);
};

class ContainerDirectory {
 public:
  // mkdir <root>/<id> and lock it; fails if the container exists.
  static Result<ContainerDirectory> create(const std::string& root, const std::string& id);
  // Lock an existing container; "container \"id\" does not exist" otherwise.
  static Result<ContainerDirectory> open(const std::string& root, const std::string& id);

  const std::string& path() const { return path_; }
  std::string fifo_path() const { return path_ + "/exec.fifo"; }

  Result<StoredState> load() const;
  Status save(const StoredState& stored) const;
  // Remove the directory and everything in it; the lock goes with it.
  Status remove();
  // In a forked child: drop the inherited copy of the lock fd without
  // unlocking (the flock belongs to the shared open file description, and
  // must not stay held by a long-lived child).
  void close_inherited_lock() { lock_.reset(); }

 private:
  ContainerDirectory(std::string path, UniqueFd lock)
      : path_(std::move(path)), lock_(std::move(lock)) {}
  std::string path_;
  UniqueFd lock_;
};

// The status of a stored container, from the kernel's view of its init.
ContainerStatus current_status(const StoredState& stored, const ContainerDirectory& dir);

// A pidfd for the container's init, refusing a pid that was reused by an
// unrelated process since the container was created ("container \"id\" is
// not running", ESRCH).
Result<UniqueFd> open_init_pidfd(const StoredState& stored);

}  // namespace berth::container
