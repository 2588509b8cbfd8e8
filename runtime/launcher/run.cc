#include "launcher/run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>

#include "container/container.h"
#include "container/create.h"
#include "container/state.h"
#include "core/clock.h"
#include "core/defer.h"
#include "core/files.h"
#include "launcher/container_network.h"
#include "launcher/container_spec.h"
#include "linux/forwarded_signals.h"
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

unsigned long long own_start_time() { return linux::process_start_time(::getpid()); }

// The monitor tells `berth run -d` how the start went: "0\n" for success,
// or "<errno>\n<message>" for the error, then closes the pipe.
void report_start(int fd, const Status& status) {
  std::string message =
      status ? "0\n"
             : fmt::format("{}\n{}", status.error().errno_value(), status.error().message());
  (void)write_all(fd, message.data(), message.size());
}

Status read_start_report(int fd) {
  auto text = TRY_VALUE(read_fd(fd));
  if (text.empty())
    return make_error("the container's monitor exited before the container started");
  size_t newline = text.find('\n');
  int errno_value = std::atoi(text.substr(0, newline).c_str());
  if (text == "0\n") return ok();
  return Error(newline == std::string::npos ? text : text.substr(newline + 1), errno_value);
}

Status wait_for_pidfd(int pidfd) {
  struct pollfd pfd = {pidfd, POLLIN, 0};
  while (::poll(&pfd, 1, -1) < 0)
    if (errno != EINTR) return sys_error("wait for the container");
  return ok();
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
  TRY(connect_network(network, records.dir(record.id), created.pid, record.hostname, record));
  TRY(records.save(record));
  // The caller's terminal size, before the process can ask for it.
  if (created.pty_master && keep_terminal && ::isatty(0))
    linux::copy_window_size(0, created.pty_master.get());
  TRY(container::start_container(records.state_root(), record.id));
  undo.release();
  return created;
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
  if (created->pty_master)
    (void)linux::relay_terminal(created->pty_master.get(), created->pidfd.get(), created->pid);
  else
    (void)wait_for_pidfd(created->pidfd.get());
  int status = 0;
  std::optional<int> exit_code;
  if (::waitpid(created->pid, &status, 0) == created->pid) exit_code = linux::exit_status(status);
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
  if (created.pty_master)
    TRY(linux::relay_terminal(created.pty_master.get(), created.pidfd.get(), created.pid));
  else
    TRY(linux::wait_forwarding_signals(created.pidfd.get(), created.pid));
  int wait_status = 0;
  if (::waitpid(created.pid, &wait_status, 0) < 0) return sys_error("wait for the container");
  int code = linux::exit_status(wait_status);
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
  // The runtime reports a command it cannot run as `exec: "NAME": ...`.
  if (error.message().find("exec: \"") != std::string::npos) {
    if (error.errno_value() == ENOENT) return 127;
    return 126;
  }
  return 125;
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
  auto image = store.find_image(options.image);
  if (!image) {
    if (image.error().errno_value() == ENOENT)
      return make_error("Unable to find image '{}' locally (import it with berth import)",
                        options.image);
    return image.error();
  }
  auto records = TRY_VALUE(ContainerRecords::open(paths.store_root));
  const json image_config = image->config.value("config", json::object());

  ContainerRecord record;
  record.id = TRY_VALUE(new_container_id());
  record.name = options.name.empty() ? record.id.substr(0, 12) : options.name;
  TRY(validate_container_name(record.name));
  record.image = options.image;
  record.image_id = image->id;
  record.command = TRY_VALUE(container_command(options, image_config));
  record.created = rfc3339_now(true);
  record.detached = options.detach;
  record.remove_on_exit = options.remove;
  record.tty = options.tty;
  record.hostname = options.hostname.empty() ? record.id.substr(0, 12) : options.hostname;
  TRY(prepare_volumes(options, record.mounts));
  // Published host ports are bound first: a taken one fails the run before
  // anything is made.
  auto network = TRY_VALUE(plan_network(options, image_config));
  record.network = network.mode;
  TRY(records.create(record));
  // Until the container runs, a failure removes everything made for it.
  Defer undo([&] { (void)finish_container(records, record.id, std::nullopt, true); });

  std::string dir = records.dir(record.id);
  for (const char* sub : {"/upper", "/work", "/rootfs"})
    if (::mkdir((dir + sub).c_str(), 0755) < 0) return sys_error("mkdir {}{}", dir, sub);
  image::OverlayLayers layers;
  for (auto it = image->layers.rbegin(); it != image->layers.rend(); ++it)
    layers.lower_top_first.push_back(store.layer_dir(*it));
  layers.upper = dir + "/upper";
  layers.work = dir + "/work";
  TRY_CTX(image::mount_overlay(layers, dir + "/rootfs"), "mount the image's layers");

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
  {
    auto rootfs_fd = TRY_VALUE(open_file(inputs.rootfs, O_PATH | O_DIRECTORY));
    inputs.user = TRY_VALUE(resolve_user(rootfs_fd.get(), container_user(options, image_config)));
    // Docker sets HOME from the user's passwd entry unless the env has it.
    if (std::none_of(inputs.env.begin(), inputs.env.end(),
                     [](const std::string& e) { return e.rfind("HOME=", 0) == 0; }))
      inputs.env.push_back("HOME=" + inputs.user.home);
    // Docker creates a missing working directory.
    TRY_CTX(linux::make_path_in_rootfs(rootfs_fd.get(), inputs.cwd, false), "working directory {}",
            inputs.cwd);
  }
  auto spec = TRY_VALUE(make_container_spec(options, inputs));
  TRY(write_file_atomic(dir + "/config.json", spec.dump(2) + "\n", 0600));

  undo.release();
  if (options.detach) {
    // The monitor finishes a container that ran; one that never ran is
    // removed here (Docker would keep it as "Created": nothing of a failed
    // run stays behind with berth).
    auto result = run_detached(records, record, network);
    if (!result) (void)finish_container(records, record.id, std::nullopt, true);
    return result;
  }
  auto result = run_foreground(records, record, options, network);
  if (!result) (void)finish_container(records, record.id, std::nullopt, true);
  return result;
}

}  // namespace berth::launcher
