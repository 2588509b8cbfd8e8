#include "support/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "support/mounts.h"

namespace berth::test {

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (!::mkdtemp(buffer.data()))
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  path_ = buffer.data();
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::exchange(other.path_, "");
  }
  return *this;
}

TempDir::~TempDir() {
  if (!remove())
    std::fprintf(stderr, "not removing %s: something is still mounted under it\n", path_.c_str());
}

bool TempDir::remove() {
  if (path_.empty()) return true;
  if (!mounts_under(path_).empty()) return false;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
  path_.clear();
  return true;
}

}  // namespace berth::test
