// start, state, list, kill, delete and run: the commands that act on a
// container after (or around) its creation.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "container/container.h"
#include "container/create.h"
#include "container/state.h"
#include "core/c_handle.h"
#include "core/defer.h"
#include "core/files.h"
#include "core/log.h"
#include "linux/cgroup.h"
#include "linux/child_process.h"
#include "linux/hooks.h"
#include "linux/terminal.h"

namespace berth::container {

namespace {

std::vector<spec::Hook> stored_hooks(const StoredState& stored, const char* kind) {
  std::vector<spec::Hook> hooks;
  if (!stored.hooks.is_object() || !stored.hooks.contains(kind)) return hooks;
  for (const nlohmann::json& h : stored.hooks[kind]) {
    spec::Hook hook;
    hook.path = h.value("path", "");
    hook.args = h.value("args", std::vector<std::string>{});
    hook.env = h.value("env", std::vector<std::string>{});
    if (h.contains("timeout")) hook.timeout = h["timeout"].get<int>();
    hooks.push_back(std::move(hook));
  }
  return hooks;
}

std::string state_json(StoredState stored, ContainerStatus status) {
  stored.state.status = status;
  if (status == ContainerStatus::Stopped) stored.state.pid = 0;
  return stored.state.to_json().dump();
}

Status signal_container(const StoredState& stored, int signal, bool all) {
  if (all && !stored.cgroup_dir.empty()) {
    if (signal == SIGKILL) return linux::kill_cgroup(stored.cgroup_dir);
    auto pids = TRY_VALUE(linux::cgroup_pids(stored.cgroup_dir));
    for (pid_t pid : pids)
      if (::kill(pid, signal) < 0 && errno != ESRCH) return sys_error("kill {} {}", pid, signal);
    return ok();
  }
  auto pidfd = TRY_VALUE(open_init_pidfd(stored));
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), signal, nullptr, 0) < 0)
    return sys_error("send signal {} to container init {}", signal, stored.state.pid);
  return ok();
}

// Remove what create made: the cgroup (and any process left in it), the
// state directory; then the poststop hooks, whose failures are warnings
// (runtime spec: "the runtime MUST log a warning").
Status destroy(ContainerDirectory& dir, const StoredState& stored) {
  TRY(linux::remove_cgroup(stored.cgroup_dir));
  std::string json = state_json(stored, ContainerStatus::Stopped);
  if (auto status = linux::run_hooks("poststop", stored_hooks(stored, "poststop"), json); !status)
    log::warning("{}", status.error().message());
  return dir.remove();
}

Status kill_and_wait(const StoredState& stored) {
  auto pidfd = open_init_pidfd(stored);
  if (stored.cgroup_dir.empty() || !stored.own_pid_namespace || !pidfd)
    (void)signal_container(stored, SIGKILL, false);
  if (!stored.cgroup_dir.empty()) (void)signal_container(stored, SIGKILL, true);
  if (!pidfd) return ok();
  constexpr int kTimeoutMs = 10000;
  auto exited = linux::wait_for_exit(pidfd.value().get(), kTimeoutMs);
  if (!exited) return exited.error().add_context("kill container init");
  if (!*exited)
    return make_error("kill container init: process did not exit within {} ms", kTimeoutMs);
  return ok();
}

Status start_locked(ContainerDirectory& dir, const StoredState& stored) {
  ContainerStatus status = current_status(stored, dir);
  if (status != ContainerStatus::Created)
    return make_error("cannot start a container in the {} state", to_string(status));
  auto pidfd = TRY_VALUE(open_init_pidfd(stored));
  // O_NONBLOCK: opening for reading must not wait for a writer that died;
  // the init, blocked opening the fifo for writing, is released by this.
  auto fifo = TRY_VALUE(open_file(dir.fifo_path(), O_RDONLY | O_NONBLOCK));
  // First init's byte (it was released), then the end-of-file of its
  // close-on-exec end: the user's process has been exec'ed (or init died
  // in its startContainer hooks, which then said why on its stderr).
  struct pollfd fds[2] = {{fifo.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
  bool released = false;
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return sys_error("wait for the container to start");
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      char byte;
      ssize_t n = ::read(fifo.get(), &byte, 1);
      if (n == 1) released = true;
      if (n == 0 && released) break;
      if (n == 0) return make_error("container init exited before it was started");
      if (n < 0 && errno != EAGAIN && errno != EINTR) return sys_error("read {}", dir.fifo_path());
    }
    if (fds[1].revents & POLLIN) {
      if (!released) return make_error("container init exited before it was started");
      break;
    }
  }
  if (::unlink(dir.fifo_path().c_str()) < 0) return sys_error("remove {}", dir.fifo_path());
  std::string json = state_json(stored, ContainerStatus::Running);
  if (auto status = linux::run_hooks("poststart", stored_hooks(stored, "poststart"), json); !status)
    log::warning("{}", status.error().message());
  return ok();
}

}  // namespace

Status validate_container_id(const std::string& id) {
  bool valid = !id.empty() && id != "." && id != ".." && id.size() <= 1024 &&
               std::all_of(id.begin(), id.end(), [](unsigned char c) {
                 return std::isalnum(c) || c == '_' || c == '+' || c == '-' || c == '.';
               });
  if (!valid) return make_error("invalid container id \"{}\"", id);
  return ok();
}

Result<int> parse_signal(const std::string& text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), ::isdigit)) {
    int number = std::atoi(text.c_str());
    if (number <= 0 || number >= NSIG) return make_error("invalid signal \"{}\"", text);
    return number;
  }
  std::string name = text;
  std::transform(name.begin(), name.end(), name.begin(), ::toupper);
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    if (abbrev && name == abbrev) return sig;
  }
  if (name.rfind("RTMIN+", 0) == 0) return SIGRTMIN + std::atoi(name.c_str() + 6);
  if (name.rfind("RTMAX-", 0) == 0) return SIGRTMAX - std::atoi(name.c_str() + 6);
  return make_error("invalid signal \"{}\"", text);
}

Status start_container(const std::string& state_root, const std::string& id) {
  auto dir = TRY_VALUE(ContainerDirectory::open(state_root, id));
  auto stored = TRY_VALUE(dir.load());
  return start_locked(dir, stored);
}

Result<ContainerState> container_state(const std::string& state_root, const std::string& id) {
  auto dir = TRY_VALUE(ContainerDirectory::open(state_root, id));
  auto stored = TRY_VALUE(dir.load());
  ContainerState state = stored.state;
  state.status = current_status(stored, dir);
  if (state.status == ContainerStatus::Stopped) state.pid = 0;
  return state;
}

Result<std::vector<ContainerState>> list_containers(const std::string& state_root) {
  std::vector<ContainerState> states;
  CHandle<DIR, ::closedir> root(::opendir(state_root.c_str()));
  if (!root) {
    if (errno == ENOENT) return states;
    return sys_error("open state root {}", state_root);
  }
  std::vector<std::string> ids;
  while (struct dirent* entry = ::readdir(root.get()))
    if (entry->d_name[0] != '.' && entry->d_type == DT_DIR) ids.emplace_back(entry->d_name);
  root.reset();
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) {
    auto state = container_state(state_root, id);
    if (state) states.push_back(std::move(state.value()));  // gone meanwhile: skip
  }
  return states;
}

Status kill_container(const std::string& state_root, const std::string& id, int signal, bool all) {
  auto dir = TRY_VALUE(ContainerDirectory::open(state_root, id));
  auto stored = TRY_VALUE(dir.load());
  if (current_status(stored, dir) == ContainerStatus::Stopped) {
    // With --all, what init left in the cgroup is still signalled, as by
    // runc 1.1: when the init of a container without its own pid namespace
    // exits, containerd's shim sends `kill --all ID 9` so that nothing init
    // started outlives it (nothing else kills them before `delete`).
    if (!all || stored.cgroup_dir.empty()) return Error("container not running", ESRCH);
    // A cgroup already gone holds nothing to signal (runc: the same).
    if (::access(stored.cgroup_dir.c_str(), F_OK) != 0) return ok();
  }
  return signal_container(stored, signal, all);
}

Status delete_container(const std::string& state_root, const std::string& id, bool force) {
  auto dir = ContainerDirectory::open(state_root, id);
  if (!dir) {
    if (force && dir.error().errno_value() == ENOENT) return ok();
    return dir.error();
  }
  auto stored = TRY_VALUE(dir->load());
  ContainerStatus status = current_status(stored, dir.value());
  if (status != ContainerStatus::Stopped) {
    if (!force)
      return make_error("cannot delete container \"{}\" that is not stopped: {}", id,
                        to_string(status));
    TRY(kill_and_wait(stored));
  }
  return destroy(dir.value(), stored);
}

Result<int> run_container(const std::string& state_root, const CreateOptions& options,
                          bool detach) {
  bool relay = !detach && options.console_socket.empty();
  auto created = TRY_VALUE(create_container_process(state_root, options, relay));
  // Until the container is started and waited for, a failure deletes it.
  Defer cleanup([&] { (void)delete_container(state_root, options.id, true); });
  if (created.pty_master) linux::copy_window_size(0, created.pty_master.get());
  TRY(start_container(state_root, options.id));
  if (detach) {
    cleanup.release();
    created.init.release();
    return 0;
  }
  int code = TRY_VALUE(linux::supervise(created.init, {.pty_master = created.pty_master.get()}));
  cleanup.release();
  TRY(delete_container(state_root, options.id, true));
  return code;
}

}  // namespace berth::container
