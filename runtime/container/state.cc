#include "container/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/files.h"
#include "linux/process.h"

namespace berth::container {

const char* to_string(ContainerStatus status) {
  switch (status) {
    case ContainerStatus::Creating:
      return "creating";
    case ContainerStatus::Created:
      return "created";
    case ContainerStatus::Running:
      return "running";
    case ContainerStatus::Paused:
      return "paused";
    case ContainerStatus::Stopped:
      return "stopped";
  }
  return "unknown";
}

nlohmann::ordered_json ContainerState::to_json() const {
  nlohmann::ordered_json j = {{"ociVersion", oci_version},   {"id", id},         {"pid", pid},
                              {"status", to_string(status)}, {"bundle", bundle}, {"rootfs", rootfs},
                              {"created", created},          {"owner", owner}};
  if (!annotations.empty()) j["annotations"] = annotations;
  if (created.empty()) j.erase("created");  // hooks before creation ends, as runc
  return j;
}

nlohmann::json StoredState::to_json() const {
  nlohmann::json j(state.to_json());
  j.erase("status");
  j["initStartTime"] = init_start_time;
  j["cgroupDir"] = cgroup_dir;
  j["resources"] = resources;
  j["hooks"] = hooks;
  j["ownPidNamespace"] = own_pid_namespace;
  return j;
}

Result<StoredState> StoredState::from_json(const nlohmann::json& j) {
  try {
    StoredState s;
    s.state.oci_version = j.at("ociVersion").get<std::string>();
    s.state.id = j.at("id").get<std::string>();
    s.state.pid = j.at("pid").get<int>();
    s.state.bundle = j.at("bundle").get<std::string>();
    s.state.rootfs = j.at("rootfs").get<std::string>();
    s.state.created = j.at("created").get<std::string>();
    s.state.owner = j.value("owner", "");
    if (j.contains("annotations"))
      s.state.annotations = j["annotations"].get<std::map<std::string, std::string>>();
    s.init_start_time = j.at("initStartTime").get<unsigned long long>();
    s.cgroup_dir = j.at("cgroupDir").get<std::string>();
    s.resources = j.value("resources", nlohmann::json::object());
    s.hooks = j.value("hooks", nlohmann::json());
    s.own_pid_namespace = j.value("ownPidNamespace", true);
    return s;
  } catch (const nlohmann::json::exception& e) {
    return make_error("malformed state: {}", e.what());
  }
}

namespace {}  // namespace

Result<ContainerDirectory> ContainerDirectory::create(const std::string& root,
                                                      const std::string& id) {
  if (::mkdir(root.c_str(), 0711) < 0 && errno != EEXIST) {
    if (errno != ENOENT) return sys_error("create state root {}", root);
    TRY(make_directories(root, 0711));
  }
  std::string path = root + "/" + id;
  if (::mkdir(path.c_str(), 0700) < 0) {
    if (errno == EEXIST) return make_error("container \"{}\" already exists", id);
    return sys_error("create state directory {}", path);
  }
  auto lock = lock_file(path, O_RDONLY | O_DIRECTORY);
  if (!lock) {
    ::rmdir(path.c_str());
    return lock.error();
  }
  return ContainerDirectory(path, std::move(lock.value()));
}

Result<ContainerDirectory> ContainerDirectory::open(const std::string& root,
                                                    const std::string& id) {
  std::string path = root + "/" + id;
  auto lock = lock_file(path, O_RDONLY | O_DIRECTORY);
  // A creator that failed removes the directory while we wait for the lock:
  // only a state file written under the lock means the container exists.
  if (!lock || ::access((path + "/state.json").c_str(), F_OK) != 0)
    return Error(fmt::format("container \"{}\" does not exist", id), ENOENT);
  return ContainerDirectory(path, std::move(lock.value()));
}

Result<StoredState> ContainerDirectory::load() const {
  std::string file = path_ + "/state.json";
  auto text = TRY_VALUE(read_file(file));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return make_error("{}: not valid JSON", file);
  auto stored = StoredState::from_json(j);
  if (!stored) return stored.error().add_context(file);
  return stored;
}

Status ContainerDirectory::save(const StoredState& stored) const {
  return write_file_atomic(path_ + "/state.json", stored.to_json().dump(), 0600);
}

Status ContainerDirectory::remove() {
  TRY(remove_tree(path_));
  lock_.reset();
  return ok();
}

ContainerStatus current_status(const StoredState& stored, const ContainerDirectory& dir) {
  if (stored.state.pid <= 0) return ContainerStatus::Stopped;
  bool zombie = false;
  unsigned long long start = linux::process_start_time(stored.state.pid, &zombie);
  if (start == 0 || start != stored.init_start_time || zombie) return ContainerStatus::Stopped;
  if (::access(dir.fifo_path().c_str(), F_OK) == 0) return ContainerStatus::Created;
  if (!stored.cgroup_dir.empty()) {
    auto frozen = read_file(stored.cgroup_dir + "/cgroup.freeze");
    if (frozen && !frozen.value().empty() && frozen.value()[0] == '1')
      return ContainerStatus::Paused;
  }
  return ContainerStatus::Running;
}

Result<UniqueFd> open_init_pidfd(const StoredState& stored) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, stored.state.pid, 0)));
  if (!pidfd || linux::process_start_time(stored.state.pid) != stored.init_start_time)
    return Error(fmt::format("container \"{}\" is not running", stored.state.id), ESRCH);
  return pidfd;
}

}  // namespace berth::container
