// A fresh network namespace for the calling thread for one test's lifetime:
// what the test makes in it (links, addresses, nftables tables, the
// namespace's sysctls) is gone when the destructor returns to the original
// namespace and the last reference to the new one is dropped.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/unique_fd.h"
#include "support/leak_check.h"

namespace berth::nettest {

class PrivateNetns {
 public:
  PrivateNetns() {
    original_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!original_) {
      error_ = std::string("open /proc/thread-self/ns/net: ") + std::strerror(errno);
      return;
    }
    if (::unshare(CLONE_NEWNET) < 0)
      error_ = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
  }
  ~PrivateNetns() {
    if (original_ && ::setns(original_.get(), CLONE_NEWNET) < 0)
      ADD_FAILURE() << "setns back to the original netns: " << std::strerror(errno);
  }
  PrivateNetns(const PrivateNetns&) = delete;
  PrivateNetns& operator=(const PrivateNetns&) = delete;

  // "" when the namespace was made.
  const std::string& error() const { return error_; }
  // The namespace the thread came from (the host's).
  int original_fd() const { return original_.get(); }

 private:
  UniqueFd original_;
  std::string error_;
};

// The network suite's fixture: the test runs in a PrivateNetns, and the
// namespace it came from must be as it was afterwards (tests/support's
// LeakCheck): no link, nftables table, berth0 lease or DNAT element more.
// What the modules make must land in the test's namespace only, also from
// a thread of theirs or a child process.
class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(netns_.error(), "") << "needs root";
    leaks_ =
        test::LeakCheck({.netns = test::NetnsScope{
                             .fd = netns_.original_fd(), .link_prefix = "", .nft_tables = true}});
  }
  void TearDown() override { leaks_.expect_nothing_left(); }

  PrivateNetns netns_;
  test::LeakCheck leaks_;
};

}  // namespace berth::nettest
