#include "launcher/manage.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "container/container.h"
#include "container/exec.h"
#include "core/files.h"
#include "launcher/image_user.h"
#include "launcher/run.h"
#include "launcher/run_options.h"
#include "spec/spec.h"

namespace berth::launcher {

namespace {

using namespace std::chrono_literals;

bool is_live(RecordStatus status) {
  return status == RecordStatus::Running || status == RecordStatus::Paused;
}

// Waits for the container's processes to be gone, up to timeout.
bool wait_until_exited(const ContainerRecords& records, const ContainerRecord& record,
                       std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (is_live(records.status(record))) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Once the processes are gone, the supervisor (foreground berth or monitor)
// records the exit and unmounts; if it is gone too, we finish in its place.
Status wait_until_finished(const ContainerRecords& records, const ContainerRecord& record) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (records.supervisor_alive(record) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  return finish_container(records, record.id, std::nullopt, false);
}

Status require_running(const ContainerRecords& records, const ContainerRecord& record) {
  if (!is_live(records.status(record)))
    return make_error("container {} is not running", record.name);
  return ok();
}

}  // namespace

Status stop_container(const ContainerRecords& records, const std::string& reference,
                      int timeout_seconds) {
  auto record = TRY_VALUE(records.find(reference));
  if (is_live(records.status(record))) {
    (void)container::kill_container(records.state_root(), record.id, SIGTERM, false);
    if (!wait_until_exited(records, record, std::chrono::seconds(timeout_seconds))) {
      (void)container::kill_container(records.state_root(), record.id, SIGKILL, true);
      if (!wait_until_exited(records, record, 10s))
        return make_error("container {} did not stop after SIGKILL", record.name);
    }
  }
  return wait_until_finished(records, record);
}

Status signal_container(const ContainerRecords& records, const std::string& reference,
                        const std::string& signal) {
  auto record = TRY_VALUE(records.find(reference));
  TRY(require_running(records, record));
  int number = TRY_VALUE(container::parse_signal(signal));
  return container::kill_container(records.state_root(), record.id, number, false);
}

Status remove_container(const ContainerRecords& records, const std::string& reference, bool force) {
  auto record = TRY_VALUE(records.find(reference));
  if (is_live(records.status(record))) {
    if (!force)
      return make_error(
          "cannot remove container {}: it is running: stop it first, or use berth rm -f",
          record.name);
    TRY(container::delete_container(records.state_root(), record.id, true));
  }
  // The supervisor wakes when the processes are gone and finishes the
  // container; removing it under the same lock is safe in either order.
  return finish_container(records, record.id, std::nullopt, true);
}

Result<int> exec_in_container(const ContainerRecords& records, const std::string& reference,
                              const ExecRequest& request) {
  auto record = TRY_VALUE(records.find(reference));
  TRY(require_running(records, record));
  if (request.command.empty()) return make_error("exec needs a command");
  auto spec = TRY_VALUE(spec::load_spec(records.dir(record.id)));
  spec::Process process = *spec.process;
  process.args = request.command;
  process.terminal = request.tty;
  // The runtime sizes the pty from our terminal (not from `run`'s).
  process.console_size.reset();
  for (const std::string& flag : request.env) {
    auto entry = expand_env_flag(flag);
    if (!entry) continue;
    std::string name = entry->substr(0, entry->find('='));
    std::erase_if(process.env,
                  [&](const std::string& e) { return e.substr(0, e.find('=')) == name; });
    process.env.push_back(*entry);
  }
  if (!request.workdir.empty()) process.cwd = request.workdir;
  if (!request.user.empty()) {
    auto rootfs = TRY_VALUE(open_file(records.dir(record.id) + "/rootfs", O_PATH | O_DIRECTORY));
    auto user = TRY_VALUE(resolve_user(rootfs.get(), request.user));
    process.user.uid = user.uid;
    process.user.gid = user.gid;
    process.user.additional_gids = user.additional_gids;
    if (user.uid != 0 && process.capabilities) {
      process.capabilities->effective.clear();
      process.capabilities->permitted.clear();
    }
  }
  if (!request.interactive) TRY(empty_stdin());
  container::ExecOptions options;
  options.id = record.id;
  options.process = std::move(process);
  options.detach = request.detach;
  return container::exec_in_container(records.state_root(), options);
}

Status print_logs(const ContainerRecords& records, const std::string& reference, bool follow) {
  auto record = TRY_VALUE(records.find(reference));
  if (!record.detached)
    return make_error(
        "container {} was run in the foreground: its output went to the terminal, berth keeps "
        "logs of detached (-d) containers",
        record.name);
  std::string path = records.dir(record.id) + "/container.log";
  auto fd = TRY_VALUE(open_file(path, O_RDONLY));
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read {}", path);
    }
    if (n > 0) {
      TRY(write_all(1, buffer, static_cast<size_t>(n)));
      continue;
    }
    // At the end: done, unless following a container that still runs (or
    // whose monitor is still writing its last output).
    if (!follow) return ok();
    if (!is_live(records.status(record)) && !records.supervisor_alive(record)) {
      // One more read catches what was written between the two checks.
      while ((n = ::read(fd.get(), buffer, sizeof buffer)) > 0)
        TRY(write_all(1, buffer, static_cast<size_t>(n)));
      return ok();
    }
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace berth::launcher
