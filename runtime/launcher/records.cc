#include "launcher/records.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "container/container.h"
#include "container/state.h"
#include "core/c_handle.h"
#include "core/files.h"
#include "launcher/network/leases.h"
#include "linux/process.h"

namespace berth::launcher {

namespace {

using nlohmann::json;

bool is_hex(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

const char* to_string(RecordStatus status) {
  switch (status) {
    case RecordStatus::Created:
      return "created";
    case RecordStatus::Running:
      return "running";
    case RecordStatus::Paused:
      return "paused";
    case RecordStatus::Exited:
      return "exited";
  }
  return "unknown";
}

json ContainerRecord::to_json() const {
  json j = {{"id", id},
            {"name", name},
            {"hostname", hostname},
            {"image", image},
            {"image_id", image_id},
            {"command", command},
            {"created", created},
            {"started", started},
            {"finished", finished},
            {"detached", detached},
            {"remove_on_exit", remove_on_exit},
            {"tty", tty},
            {"supervisor_pid", supervisor_pid},
            {"supervisor_start_time", supervisor_start_time},
            {"mounts", mounts},
            {"network", network}};
  if (exit_code) j["exit_code"] = *exit_code;
  if (!bridge.empty()) {
    json port_list = json::array();
    for (const network::PortMapping& mapping : ports)
      port_list.push_back(network::port_mapping_to_json(mapping));
    j["bridge"] = {
        {"name", bridge},     {"lease_dir", lease_dir},         {"ip_address", ip_address},
        {"gateway", gateway}, {"prefix_length", prefix_length}, {"ports", port_list}};
  }
  return j;
}

ContainerRecord ContainerRecord::from_json(const json& j) {
  ContainerRecord r;
  r.id = j.value("id", "");
  r.name = j.value("name", "");
  r.hostname = j.value("hostname", "");
  r.image = j.value("image", "");
  r.image_id = j.value("image_id", "");
  r.command = j.value("command", std::vector<std::string>{});
  r.created = j.value("created", "");
  r.started = j.value("started", "");
  r.finished = j.value("finished", "");
  if (j.contains("exit_code") && j["exit_code"].is_number_integer())
    r.exit_code = j["exit_code"].get<int>();
  r.detached = j.value("detached", false);
  r.remove_on_exit = j.value("remove_on_exit", false);
  r.tty = j.value("tty", false);
  r.supervisor_pid = j.value("supervisor_pid", 0);
  r.supervisor_start_time = j.value("supervisor_start_time", 0ULL);
  r.mounts = j.value("mounts", std::vector<json>{});
  r.network = j.value("network", "");
  if (j.contains("bridge") && j["bridge"].is_object()) {
    const json& b = j["bridge"];
    r.bridge = b.value("name", "");
    r.lease_dir = b.value("lease_dir", "");
    r.ip_address = b.value("ip_address", "");
    r.gateway = b.value("gateway", "");
    r.prefix_length = b.value("prefix_length", 0);
    for (const json& port : b.value("ports", json::array()))
      if (auto mapping = network::port_mapping_from_json(port)) r.ports.push_back(*mapping);
  }
  return r;
}

Result<ContainerRecords> ContainerRecords::open(const std::string& store_root) {
  TRY(make_directories(store_root + "/containers", 0700));
  TRY(make_directories(store_root + "/state", 0700));
  return ContainerRecords(store_root);
}

Status ContainerRecords::create(const ContainerRecord& record) const {
  auto names_lock = TRY_VALUE(lock_file(root_ + "/containers.lock", O_RDWR | O_CREAT));
  for (const ContainerRecord& other : TRY_VALUE(list()))
    if (other.name == record.name)
      return make_error(
          "the container name \"{}\" is already in use by container \"{}\": remove or rename "
          "that container to reuse the name",
          record.name, other.id);
  std::string path = dir(record.id);
  if (::mkdir(path.c_str(), 0700) < 0) return sys_error("mkdir {}", path);
  return save(record);
}

Result<ContainerRecord> ContainerRecords::load(const std::string& id) const {
  auto text = TRY_VALUE(read_file(dir(id) + "/record.json"));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return make_error("{}/record.json: not valid JSON", dir(id));
  return ContainerRecord::from_json(j);
}

Status ContainerRecords::save(const ContainerRecord& record) const {
  return write_file_atomic(dir(record.id) + "/record.json", record.to_json().dump() + "\n", 0600);
}

Result<std::vector<ContainerRecord>> ContainerRecords::list() const {
  std::vector<ContainerRecord> records;
  std::string containers = root_ + "/containers";
  CHandle<DIR, closedir> listing(::opendir(containers.c_str()));
  if (!listing) return sys_error("open {}", containers);
  std::vector<std::string> ids;
  while (struct dirent* entry = ::readdir(listing.get()))
    if (entry->d_name[0] != '.' && entry->d_type == DT_DIR) ids.emplace_back(entry->d_name);
  listing.reset();
  for (const std::string& id : ids) {
    auto record = load(id);
    if (record) records.push_back(std::move(record.value()));  // half-made or removed meanwhile
  }
  std::sort(records.begin(), records.end(), [](const ContainerRecord& a, const ContainerRecord& b) {
    return a.created > b.created;
  });
  return records;
}

Result<ContainerRecord> ContainerRecords::find(const std::string& reference) const {
  if (reference.empty()) return make_error("empty container name or id");
  auto records = TRY_VALUE(list());
  for (const ContainerRecord& record : records)
    if (record.id == reference || record.name == reference) return record;
  std::vector<const ContainerRecord*> matches;
  if (is_hex(reference))
    for (const ContainerRecord& record : records)
      if (record.id.rfind(reference, 0) == 0) matches.push_back(&record);
  if (matches.size() > 1)
    return make_error("multiple containers match \"{}\": give more of the id", reference);
  if (matches.empty()) return Error(fmt::format("no such container: {}", reference), ENOENT);
  return *matches[0];
}

Result<RecordLock> ContainerRecords::lock(const std::string& id) const {
  auto fd = TRY_VALUE(lock_file(dir(id) + "/lock", O_RDWR | O_CREAT));
  // Removed while we waited: the lock file we hold is unlinked.
  struct stat st;
  if (::stat((dir(id) + "/record.json").c_str(), &st) < 0)
    return Error(fmt::format("container {} was removed", id), ENOENT);
  return RecordLock(std::move(fd));
}

RecordStatus ContainerRecords::status(const ContainerRecord& record) const {
  auto state = container::container_state(state_root(), record.id);
  if (state) {
    switch (state->status) {
      case container::ContainerStatus::Running:
        return RecordStatus::Running;
      case container::ContainerStatus::Paused:
        return RecordStatus::Paused;
      case container::ContainerStatus::Creating:
      case container::ContainerStatus::Created:
        return RecordStatus::Created;
      case container::ContainerStatus::Stopped:
        return RecordStatus::Exited;
    }
  }
  return record.started.empty() && !record.exit_code ? RecordStatus::Created : RecordStatus::Exited;
}

bool ContainerRecords::supervisor_alive(const ContainerRecord& record) const {
  if (record.supervisor_pid <= 0) return false;
  bool zombie = false;
  unsigned long long start = linux::process_start_time(record.supervisor_pid, &zombie);
  return !zombie && start != 0 && start == record.supervisor_start_time;
}

Result<std::string> new_container_id() {
  unsigned char bytes[32];
  if (::getrandom(bytes, sizeof bytes, 0) != sizeof bytes) return sys_error("getrandom");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

Status validate_container_name(const std::string& name) {
  bool valid = name.size() >= 2 && std::isalnum(static_cast<unsigned char>(name[0])) &&
               std::all_of(name.begin(), name.end(), [](unsigned char c) {
                 return std::isalnum(c) || c == '_' || c == '.' || c == '-';
               });
  if (!valid)
    return make_error("invalid container name \"{}\": only [a-zA-Z0-9][a-zA-Z0-9_.-]+ are allowed",
                      name);
  return ok();
}

}  // namespace berth::launcher
