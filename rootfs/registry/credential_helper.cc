#include "rootfs/registry/credential_helper.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/unique_fd.h"
#include "linux/child_process.h"
#include "linux/process.h"

extern char** environ;

namespace berth::registry {

namespace {

using nlohmann::json;

// Docker's helpers print this (on stdout, exiting 1) when they have nothing
// for the server; it is an answer, not a failure.
constexpr std::string_view kNotFoundMessage = "credentials not found in native keychain";
// The Username that marks the Secret as an identity token.
constexpr std::string_view kTokenUsername = "<token>";
// A helper's answer is a few hundred bytes; anything far larger is not one.
constexpr size_t kMaxOutput = 1 << 20;

std::string trimmed(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

// send(MSG_NOSIGNAL) on a socket rather than write on a pipe: a helper
// that exits without reading its stdin costs no SIGPIPE.
Status send_input(int socket, const std::string& input) {
  size_t sent = 0;
  while (sent < input.size()) {
    ssize_t n = ::send(socket, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) return ok();  // it did not want its input
    if (n < 0) return sys_error("write to its stdin");
    sent += static_cast<size_t>(n);
  }
  return ok();
}

// Reads stdout and stderr together until both close, so that a helper
// filling one pipe never blocks while we wait on the other.
Status read_outputs(UniqueFd& out, UniqueFd& err, std::string& output, std::string& errors) {
  while (out || err) {
    struct pollfd fds[2] = {{out.get(), POLLIN, 0}, {err.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return sys_error("poll its stdout and stderr");
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      UniqueFd& fd = i == 0 ? out : err;
      std::string& text = i == 0 ? output : errors;
      char buffer[4096];
      ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error("read its {}", i == 0 ? "stdout" : "stderr");
      if (n == 0) fd.reset();  // poll ignores the -1 it leaves
      text.append(buffer, static_cast<size_t>(n));
      if (text.size() > kMaxOutput)
        return make_error("its {} is over {} bytes", i == 0 ? "stdout" : "stderr", kMaxOutput);
    }
  }
  return ok();
}

// posix_spawn's file actions, destroyed with their owner.
class SpawnActions {
 public:
  SpawnActions() { ::posix_spawn_file_actions_init(&actions_); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  ~SpawnActions() { ::posix_spawn_file_actions_destroy(&actions_); }
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

}  // namespace

Result<CredentialHelper::Outcome> CredentialHelper::run(const char* action,
                                                        const std::string& input) const {
  int stdin_pair[2], stdout_pipe[2], stderr_pipe[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdin_pair) < 0)
    return sys_error("{} {}: create a socket for its stdin", program_, action);
  UniqueFd stdin_ours(stdin_pair[0]), stdin_theirs(stdin_pair[1]);
  if (::pipe2(stdout_pipe, O_CLOEXEC) < 0)
    return sys_error("{} {}: create a pipe for its stdout", program_, action);
  UniqueFd stdout_ours(stdout_pipe[0]), stdout_theirs(stdout_pipe[1]);
  if (::pipe2(stderr_pipe, O_CLOEXEC) < 0)
    return sys_error("{} {}: create a pipe for its stderr", program_, action);
  UniqueFd stderr_ours(stderr_pipe[0]), stderr_theirs(stderr_pipe[1]);

  // posix_spawn (glibc: clone with CLONE_VM | CLONE_VFORK), safe in a
  // process with threads, and it reports a failed exec (ENOENT: not on
  // PATH) as its result. Only fds 0-2 pass on: closefrom covers any fd of
  // ours without O_CLOEXEC.
  SpawnActions actions;
  ::posix_spawn_file_actions_adddup2(actions.get(), stdin_theirs.get(), 0);
  ::posix_spawn_file_actions_adddup2(actions.get(), stdout_theirs.get(), 1);
  ::posix_spawn_file_actions_adddup2(actions.get(), stderr_theirs.get(), 2);
  ::posix_spawn_file_actions_addclosefrom_np(actions.get(), 3);
  std::string action_arg = action;
  char* argv[] = {const_cast<char*>(program_.c_str()), action_arg.data(), nullptr};
  pid_t pid = 0;
  int spawned = ::posix_spawnp(&pid, program_.c_str(), actions.get(), nullptr, argv, environ);
  if (spawned != 0)
    return Error::from_errno_value(fmt::format("run {} {} (looked up in PATH)", program_, action),
                                   spawned);
  // Killed and reaped by its owner on every early return.
  linux::ChildProcess child(pid, UniqueFd());
  stdin_theirs.reset();
  stdout_theirs.reset();
  stderr_theirs.reset();

  TRY_CTX(send_input(stdin_ours.get(), input), "{} {}", program_, action);
  stdin_ours.reset();
  Outcome outcome;
  TRY_CTX(read_outputs(stdout_ours, stderr_ours, outcome.output, outcome.errors), "{} {}", program_,
          action);
  outcome.wait_status = TRY_VALUE(child.wait());
  return outcome;
}

Error CredentialHelper::failure(const char* action, const Outcome& outcome) const {
  // Helpers print their message on stdout; stderr is for anything else.
  std::string message = trimmed(outcome.output);
  if (message.empty()) message = trimmed(outcome.errors);
  return make_error("{} {}: {}{}{}", program_, action,
                    linux::describe_wait_status(outcome.wait_status), message.empty() ? "" : ": ",
                    message);
}

Result<std::optional<Credentials>> CredentialHelper::get(const std::string& server_url) const {
  Outcome outcome = TRY_VALUE(run("get", server_url));
  if (outcome.wait_status != 0) {
    if (trimmed(outcome.output) == kNotFoundMessage) return std::optional<Credentials>();
    return failure("get", outcome);
  }
  json answer = json::parse(outcome.output, nullptr, false);
  if (answer.is_discarded() || !answer.is_object())
    return make_error("{} get: its output is not a JSON object: {}", program_,
                      trimmed(outcome.output));
  auto field = [&](const char* name) -> Result<std::string> {
    if (!answer.contains(name)) return std::string();
    if (!answer[name].is_string())
      return make_error("{} get: \"{}\" in its output is not a string", program_, name);
    return answer[name].get<std::string>();
  };
  std::string username = TRY_VALUE(field("Username"));
  std::string secret = TRY_VALUE(field("Secret"));
  if (username.empty() && secret.empty()) return std::optional<Credentials>();
  Credentials credentials;
  if (username == kTokenUsername)
    credentials.identity_token = secret;
  else
    credentials = {username, secret, ""};
  return std::optional<Credentials>(std::move(credentials));
}

Status CredentialHelper::store(const std::string& server_url,
                               const Credentials& credentials) const {
  bool token = !credentials.identity_token.empty();
  json request = {{"ServerURL", server_url},
                  {"Username", token ? std::string(kTokenUsername) : credentials.username},
                  {"Secret", token ? credentials.identity_token : credentials.password}};
  Outcome outcome = TRY_VALUE(run("store", request.dump()));
  if (outcome.wait_status != 0) return failure("store", outcome);
  return ok();
}

Status CredentialHelper::erase(const std::string& server_url) const {
  Outcome outcome = TRY_VALUE(run("erase", server_url));
  if (outcome.wait_status != 0 && trimmed(outcome.output) != kNotFoundMessage)
    return failure("erase", outcome);
  return ok();
}

}  // namespace berth::registry
