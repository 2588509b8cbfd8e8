#include "launcher/run.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "container/container.h"
#include "container/create.h"
#include "container/state.h"
#include "core/clock.h"
#include "core/defer.h"
#include "core/files.h"
#include "launcher/container_network.h"
#include "launcher/container_spec.h"
#include "linux/child_process.h"
#include "linux/mounts.h"
#include "linux/process.h"
#include "linux/terminal.h"
#include "rootfs/overlay.h"
#include "rootfs/store.h"

namespace berth::launcher {

namespace {

using nlohmann::json;

std::optional<std::pair<unsigned, unsigned>> caller_window_size() {
  struct winsize size = {};
  if (::ioctl(0, TIOCGWINSZ, &size) < 0 || size.ws_row == 0) return std::nullopt;
  return std::make_pair(unsigned{size.ws_row}, unsigned{size.ws_col});
}

// Docker creates a missing host directory of a -v volume.
Status prepare_volumes(const RunOptions& options, std::vector<json>& mounts) {
  for (const std::string& flag : options.volumes) {
    auto volume = TRY_VALUE(parse_volume(flag));
    TRY_CTX(make_directories(volume.host), "-v {}", flag);
    mounts.push_back({{"Type", "bind"},
                      {"Source", volume.host},
                      {"Destination", volume.container},
                      {"RW", !volume.readonly}});
  }
  return ok();
}

Result<image::Image> find_local_image(const image::Store& store, const std::string& reference) {
  auto image = store.find_image(reference);
  if (!image && image.error().errno_value() == ENOENT)
    return make_error("Unable to find image '{}' locally (import it with berth import)", reference);
  return image;
}

Result<ContainerRecord> new_record(const RunOptions& options, const image::Image& image,
                                   const json& image_config) {
  ContainerRecord record;
  record.id = TRY_VALUE(new_container_id());
  record.name = options.name.empty() ? record.id.substr(0, 12) : options.name;
  TRY(validate_container_name(record.name));
  record.image = options.image;
  record.image_id = image.id;
  record.command = TRY_VALUE(container_command(options, image_config));
  record.created = rfc3339_now(true);
  record.detached = options.detach;
  record.remove_on_exit = options.remove;
  record.tty = options.tty;
  record.hostname = options.hostname.empty() ? record.id.substr(0, 12) : options.hostname;
  TRY(prepare_volumes(options, record.mounts));
  return record;
}

// <dir>/rootfs: the overlay of the image's layers, with <dir>/upper on top.
Status mount_rootfs(const image::Store& store, const image::Image& image, const std::string& dir) {
  for (const char* sub : {"/upper", "/work", "/rootfs"})
    if (::mkdir((dir + sub).c_str(), 0755) < 0) return sys_error("mkdir {}{}", dir, sub);
  image::OverlayLayers layers;
  for (auto it = image.layers.rbegin(); it != image.layers.rend(); ++it)
    layers.lower_top_first.push_back(store.layer_dir(*it));
  layers.upper = dir + "/upper";
  layers.work = dir + "/work";
  TRY_CTX(image::mount_overlay(layers, dir + "/rootfs"), "mount the image's layers");
  return ok();
}

// The user, HOME and working directory, resolved in the mounted rootfs.
Status resolve_in_rootfs(const RunOptions& options, const json& image_config, SpecInputs& inputs) {
  auto rootfs_fd = TRY_VALUE(open_file(inputs.rootfs, O_PATH | O_DIRECTORY));
  inputs.user = TRY_VALUE(resolve_user(rootfs_fd.get(), container_user(options, image_config)));
  // Docker sets HOME from the user's passwd entry unless the env has it.
  if (std::none_of(inputs.env.begin(), inputs.env.end(),
                   [](const std::string& e) { return e.rfind("HOME=", 0) == 0; }))
    inputs.env.push_back("HOME=" + inputs.user.home);
  // Docker creates a missing working directory.
  TRY_CTX(linux::make_path_in_rootfs(rootfs_fd.get(), inputs.cwd, false), "working directory {}",
          inputs.cwd);
  return ok();
}

// <dir>/config.json, the OCI spec the runtime library creates the container from.
Status write_bundle_spec(const LauncherPaths& paths, const RunOptions& options,
                         const json& image_config, const ContainerRecord& record,
                         const NetworkPlan& network, const std::string& dir) {
  SpecInputs inputs;
  inputs.id = record.id;
  inputs.hostname = record.hostname;
  inputs.network_files = TRY_VALUE(write_network_files(dir, network.mode, inputs.hostname));
  inputs.args = record.command;
  inputs.env = TRY_VALUE(container_env(options, image_config, inputs.hostname));
  inputs.cwd = container_workdir(options, image_config);
  inputs.rootfs = dir + "/rootfs";
  if (options.init) inputs.init_binary = paths.init_binary;
  if (options.tty) inputs.console_size = caller_window_size();
  TRY(resolve_in_rootfs(options, image_config, inputs));
  auto spec = TRY_VALUE(make_container_spec(options, inputs));
  return write_file_atomic(dir + "/config.json", spec.dump(2) + "\n", 0600);
}

unsigned long long own_start_time() { return linux::process_start_time(::getpid()); }

// The monitor tells `berth run -d` how the start went: "0\n" for success,
// or "<errno> <kind>\n<message>" for the error (the kind, so that a command
// that cannot be run still exits 127 or 126), then closes the pipe.
void report_start(int fd, const Status& status) {
  const Error& error = status.error();
  std::string message = status ? "0\n"
                               : fmt::format("{} {}\n{}", error.errno_value(),
                                             static_cast<int>(error.kind()), error.message());
  (void)write_all(fd, message.data(), message.size());
}

Status read_start_report(int fd) {
  auto text = TRY_VALUE(read_fd(fd));
  if (text.empty())
    return make_error("the container's monitor exited before the container started");
  if (text == "0\n") return ok();
  int errno_value = 0, kind = 0;
  std::sscanf(text.c_str(), "%d %d", &errno_value, &kind);
  size_t newline = text.find('\n');
  return Error(newline == std::string::npos ? text : text.substr(newline + 1), errno_value,
               static_cast<ErrorKind>(kind));
}

// Creates the container, connects its network and starts it. On failure
// the runtime's container and its network are gone again.
Result<container::CreatedContainer> create_and_start(const ContainerRecords& records,
                                                     ContainerRecord& record,
                                                     const NetworkPlan& network,
                                                     bool keep_terminal) {
  container::CreateOptions create;
  create.id = record.id;
  create.bundle = records.dir(record.id);
  auto created =
      TRY_VALUE(container::create_container_process(records.state_root(), create, keep_terminal));
  Defer undo([&] {
    (void)container::delete_container(records.state_root(), record.id, true);
    (void)disconnect_network(record);
  });
  TRY(connect_network(network, records.dir(record.id), created.init.pid(), record.hostname,
                      record));
  TRY(records.save(record));
  // The caller's terminal size, before the process can ask for it.
  if (created.pty_master && keep_terminal && ::isatty(0))
    linux::copy_window_size(0, created.pty_master.get());
  TRY(container::start_container(records.state_root(), record.id));
  undo.release();
  return created;
}

// The monitor's wait: it relays a terminal to the log, and otherwise only
// waits (no one signals the monitor). A relay that fails still waits for
// the container rather than killing it. No exit code if it cannot be reaped.
std::optional<int> supervise_in_monitor(container::CreatedContainer& created) {
  auto code = linux::supervise(created.init,
                               {.pty_master = created.pty_master.get(), .forward_signals = false});
  if (!code && created.init) code = linux::supervise(created.init, {.forward_signals = false});
  if (!code) return std::nullopt;
  return *code;
}

// The detached monitor, in its own session: the container's output goes to
// its log; it waits for the container and finishes it. It holds the
// published ports' placeholder sockets (inherited) until then.
[[noreturn]] void monitor(const ContainerRecords& records, const ContainerRecord& record,
                          const NetworkPlan& network, int report_fd) {
  std::string log_path = records.dir(record.id) + "/container.log";
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (log < 0 || null < 0 || ::setsid() < 0 || ::dup2(null, 0) < 0 || ::dup2(log, 1) < 0 ||
      ::dup2(log, 2) < 0) {
    report_start(report_fd, sys_error("set up the monitor's log {}", log_path));
    _exit(1);
  }
  ContainerRecord updated = record;
  updated.supervisor_pid = ::getpid();
  updated.supervisor_start_time = own_start_time();
  updated.started = rfc3339_now(true);
  Status started = records.save(updated);
  std::optional<container::CreatedContainer> created;
  if (started) {
    auto made = create_and_start(records, updated, network, record.tty);
    if (made)
      created = std::move(made.value());
    else
      started = made.error();
  }
  report_start(report_fd, started);
  ::close(report_fd);
  if (!started) _exit(1);  // `berth run -d` finishes and removes the container
  std::optional<int> exit_code = supervise_in_monitor(*created);
  if (auto finished = finish_container(records, record.id, exit_code, false); !finished)
    fmt::print(stderr, "berth monitor: {}\n", finished.error().message());
  _exit(0);
}

Result<int> run_detached(const ContainerRecords& records, const ContainerRecord& record,
                         const NetworkPlan& network) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return sys_error("pipe");
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork the container's monitor");
  if (pid == 0) {
    read_end.reset();
    monitor(records, record, network, write_end.release());
  }
  write_end.reset();
  TRY(read_start_report(read_end.get()));
  fmt::print("{}\n", record.id);
  return 0;
}

Result<int> run_foreground(const ContainerRecords& records, ContainerRecord record,
                           const RunOptions& options, const NetworkPlan& network) {
  if (!options.interactive) TRY(empty_stdin());
  record.supervisor_pid = ::getpid();
  record.supervisor_start_time = own_start_time();
  record.started = rfc3339_now(true);
  TRY(records.save(record));
  auto created = TRY_VALUE(create_and_start(records, record, network, true));
  int code = TRY_VALUE(linux::supervise(created.init, {.pty_master = created.pty_master.get()}));
  TRY(finish_container(records, record.id, code, false));
  return code;
}

}  // namespace

Status empty_stdin() {
  UniqueFd null = TRY_VALUE(open_file("/dev/null", O_RDONLY));
  if (::dup2(null.get(), 0) < 0) return sys_error("redirect stdin from /dev/null");
  return ok();
}

int exit_status_for_error(const Error& error) {
  switch (error.kind()) {
    case ErrorKind::kExecNotFound:
      return 127;
    case ErrorKind::kExecPermissionDenied:
      return 126;
    default:
      return 125;
  }
}

Status finish_container(const ContainerRecords& records, const std::string& id,
                        std::optional<int> exit_code, bool remove) {
  auto lock = records.lock(id);
  if (!lock) {
    if (lock.error().errno_value() == ENOENT) return ok();  // already removed
    return lock.error();
  }
  auto record = TRY_VALUE(records.load(id));
  // Unpublish first: from here on its ports must not lead to it.
  TRY(disconnect_network(record));
  TRY(container::delete_container(records.state_root(), id, true));
  std::string dir = records.dir(id);
  TRY(image::unmount_overlay(dir + "/rootfs"));
  if (remove || record.remove_on_exit) return remove_tree(dir);
  if (record.finished.empty()) {
    record.finished = rfc3339_now(true);
    record.exit_code = exit_code;
    TRY(records.save(record));
  }
  return ok();
}

Result<int> run_container(const LauncherPaths& paths, const RunOptions& options) {
  auto store = TRY_VALUE(image::Store::open(paths.store_root));
  image::Image image = TRY_VALUE(find_local_image(store, options.image));
  auto records = TRY_VALUE(ContainerRecords::open(paths.store_root));
  const json image_config = image.config.value("config", json::object());
  ContainerRecord record = TRY_VALUE(new_record(options, image, image_config));
  // Published host ports are bound first: a taken one fails the run before
  // anything is made.
  auto network = TRY_VALUE(plan_network(options, image_config));
  record.network = network.mode;
  TRY(records.create(record));
  // Until the container runs, a failure removes everything made for it. The
  // monitor finishes a container that ran; one that never ran is removed
  // here (Docker would keep it as "Created": nothing of a failed run stays
  // behind with berth).
  Defer undo([&] { (void)finish_container(records, record.id, std::nullopt, true); });
  std::string dir = records.dir(record.id);
  TRY(mount_rootfs(store, image, dir));
  TRY(write_bundle_spec(paths, options, image_config, record, network, dir));
  auto result = options.detach ? run_detached(records, record, network)
                               : run_foreground(records, record, options, network);
  if (result) undo.release();
  return result;
}

}  // namespace berth::launcher
