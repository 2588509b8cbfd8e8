// The host's view for the tests: files, mounts, cgroups.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "harness.h"

namespace berth::ltest {
namespace fs = std::filesystem;

// --- files ------------------------------------------------------------------

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) throw std::runtime_error("open " + path + ": " + strerror(errno));
  if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    throw std::runtime_error("write " + path + ": " + strerror(errno));
  ::fchmod(fd.get(), mode);
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

void make_dirs(const std::string& path, mode_t mode) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error) throw std::runtime_error("mkdir -p " + path + ": " + error.message());
  ::chmod(path.c_str(), mode);
}

std::string random_hex(size_t length) {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < length; ++i) out += digits[engine() % 16];
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(path, error))
    names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

std::set<std::string> snapshot_tree(const std::string& root) {
  std::set<std::string> entries;
  std::error_code error;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, error), end;
  for (; !error && it != end; it.increment(error)) {
    const std::string path = it->path();
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    std::ostringstream line;
    line << path.substr(root.size()) << " mode=" << std::oct << st.st_mode << std::dec
         << " size=" << st.st_size << " nlink=" << st.st_nlink;
    if (S_ISREG(st.st_mode) && st.st_size < 65536)
      line << " content=" << std::hash<std::string>{}(read_file(path));
    entries.insert(line.str());
  }
  return entries;
}

std::string status_field(const std::string& status_text, const std::string& name) {
  for (const std::string& line : split_lines(status_text)) {
    if (line.rfind(name + ":", 0) != 0) continue;
    size_t start = line.find_first_not_of(" \t", name.size() + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "<no " + name + " field>";
}

namespace {

// "\040" in mountinfo is a space, and so on.
std::string unescape_mountinfo(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

struct MountLine {
  std::string mount_point, fstype;
};

std::vector<MountLine> read_mountinfo() {
  std::vector<MountLine> mounts;
  for (const std::string& line : split_lines(read_file("/proc/self/mountinfo"))) {
    size_t separator = line.find(" - ");
    if (separator == std::string::npos) continue;
    std::istringstream head(line.substr(0, separator)), tail(line.substr(separator + 3));
    std::string id, parent, devno, root, mount_point, fstype;
    head >> id >> parent >> devno >> root >> mount_point;
    tail >> fstype;
    mounts.push_back({unescape_mountinfo(mount_point), fstype});
  }
  return mounts;
}

}  // namespace

std::vector<std::string> mounts_under(const std::string& prefix) {
  std::vector<std::string> found;
  if (prefix.empty()) return found;
  for (const MountLine& mount : read_mountinfo())
    if (mount.mount_point == prefix || mount.mount_point.rfind(prefix + "/", 0) == 0)
      found.push_back(mount.mount_point);
  return found;
}

const std::string& cgroup2_mount() {
  static const std::string mount = [] {
    for (const MountLine& line : read_mountinfo())
      if (line.fstype == "cgroup2") return line.mount_point;
    return std::string();
  }();
  return mount;
}

std::string container_cgroup(const std::string& id) { return cgroup2_mount() + "/berth-" + id; }

void remove_cgroup_tree(const std::string& directory) {
  std::error_code error;
  if (!fs::is_directory(directory, error)) return;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory, error))
    if (entry.is_directory(error)) remove_cgroup_tree(entry.path());
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (::rmdir(directory.c_str()) == 0 || errno == ENOENT) return;
    std::istringstream pids(read_file(directory + "/cgroup.procs"));
    pid_t pid;
    while (pids >> pid) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(10ms);
  }
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace berth::ltest
