#include "support/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "core/unique_fd.h"

namespace berth::test {
namespace fs = std::filesystem;

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
  ::fchmod(fd.get(), mode);  // O_CREAT's mode is filtered by the umask
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

void make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
    throw std::runtime_error("mkdir " + path + ": " + strerror(errno));
  ::chmod(path.c_str(), mode);
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

std::string status_field(const std::string& status_text, const std::string& name) {
  for (const std::string& line : split_lines(status_text)) {
    if (line.rfind(name + ":", 0) != 0) continue;
    size_t start = line.find_first_not_of(" \t", name.size() + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "<no " + name + " field>";
}

}  // namespace berth::test
