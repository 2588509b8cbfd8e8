#include "container/ps.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "container/state.h"
#include "core/files.h"
#include "linux/cgroup_stats.h"
#include "linux/process.h"

extern char** environ;

namespace berth::container {
namespace {

std::vector<std::string> split_fields(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> fields;
  for (std::string field; in >> field;) fields.push_back(field);
  return fields;
}

// Run argv (argv[0] found in our PATH, as Go's exec.Command does) with
// stdout and stderr into one pipe, as runc reads ps's combined output.
Result<std::string> run_for_output(const std::vector<std::string>& argv) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry; ++entry) env.emplace_back(*entry);
  std::string path = TRY_VALUE(linux::find_executable(argv[0], env));
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) < 0) return sys_error("pipe for {}", argv[0]);
  UniqueFd read_end(ends[0]), write_end(ends[1]);
  // Built before fork: the child may only make async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork for {}", argv[0]);
  if (pid == 0) {
    if (::dup2(write_end.get(), 1) < 0 || ::dup2(write_end.get(), 2) < 0) ::_exit(127);
    ::execve(path.c_str(), args.data(), environ);
    ::_exit(127);
  }
  write_end.reset();
  auto output = read_fd(read_end.get());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return sys_error("wait for {}", path);
  if (!output) return output.error().add_context(path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return make_error("{} {}: {}", path, linux::describe_wait_status(status), output.value());
  return output;
}

}  // namespace

Result<std::vector<pid_t>> container_pids(const std::string& state_root, const std::string& id) {
  auto dir = TRY_VALUE(ContainerDirectory::open(state_root, id));
  auto stored = TRY_VALUE(dir.load());
  if (stored.cgroup_dir.empty())
    return make_error(
        "container \"{}\" has no cgroup to list processes from: the host had no cgroup2 "
        "hierarchy when it was created",
        id);
  auto pids = linux::cgroup_tree_pids(stored.cgroup_dir);
  // A stopped container whose cgroup is gone simply has no processes.
  if (!pids && pids.error().errno_value() == ENOENT &&
      current_status(stored, dir) == ContainerStatus::Stopped)
    return std::vector<pid_t>();
  return pids;
}

Result<std::string> ps_table(const std::vector<pid_t>& pids, std::vector<std::string> ps_args) {
  if (ps_args.empty()) ps_args = {"-ef"};
  ps_args.insert(ps_args.begin(), "ps");
  std::string output = TRY_VALUE(run_for_output(ps_args));
  return select_ps_lines(output, pids);
}

Result<std::string> select_ps_lines(const std::string& ps_output, const std::vector<pid_t>& pids) {
  std::istringstream lines(ps_output);
  std::string header;
  std::getline(lines, header);
  std::vector<std::string> titles = split_fields(header);
  auto column = std::find(titles.begin(), titles.end(), "PID");
  if (column == titles.end()) return make_error("couldn't find PID field in ps output");
  size_t index = static_cast<size_t>(column - titles.begin());
  std::string selected = header + "\n";
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    std::vector<std::string> fields = split_fields(line);
    if (index >= fields.size())
      return make_error("unable to parse pid from ps output line \"{}\"", line);
    const std::string& field = fields[index];
    pid_t pid = 0;
    auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), pid);
    if (error != std::errc() || end != field.data() + field.size())
      return make_error("unable to parse pid from ps output line \"{}\"", line);
    if (std::find(pids.begin(), pids.end(), pid) != pids.end()) selected += line + "\n";
  }
  return selected;
}

}  // namespace berth::container
