// A directory of the test's own, removed with everything under it when its
// owner goes, but never through a mount: what a test left mounted under it
// (a bind of a host directory, say) keeps the directory where it is.
#pragma once

#include <string>
#include <utility>

namespace berth::test {

class TempDir {
 public:
  TempDir() = default;  // owns nothing
  // mkdtemp("/tmp/<prefix>-XXXXXX"); throws std::runtime_error if it cannot.
  explicit TempDir(const std::string& prefix);
  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, "")) {}
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // remove(), saying on stderr what it kept.
  ~TempDir();

  const std::string& path() const { return path_; }
  bool empty() const { return path_.empty(); }
  // path()/name
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

  // Removes the directory and everything under it, unless something is
  // mounted at or under it: a recursive removal would delete the files of
  // the mounted filesystem. True if it is gone (or nothing was owned);
  // false keeps it (and owning it).
  bool remove();
  // Gives up the directory without removing it.
  std::string release() { return std::exchange(path_, ""); }

 private:
  std::string path_;
};

}  // namespace berth::test
