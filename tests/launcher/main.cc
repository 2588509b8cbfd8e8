// The launcher suite's entry point: it starts real containers, so it
// refuses to run without root (listing the tests, as gtest_discover_tests
// does at build time, needs no privileges). It runs in a network namespace
// of its own: the bridge, nftables table, veths and IPv4 forwarding that
// `berth run` sets up exist only there and go when the suite ends, so the
// host's network stays as it was (tests/host_network_snapshot checks).
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "harness.h"

namespace {

// A fresh network namespace for this process and every child, with lo up.
bool enter_private_netns() {
  if (::unshare(CLONE_NEWNET) < 0) {
    std::fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", std::strerror(errno));
    return false;
  }
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq lo = {};
  std::strncpy(lo.ifr_name, "lo", IFNAMSIZ - 1);
  bool up = fd >= 0 && ::ioctl(fd, SIOCGIFFLAGS, &lo) == 0;
  if (up) {
    lo.ifr_flags |= IFF_UP;
    up = ::ioctl(fd, SIOCSIFFLAGS, &lo) == 0;
  }
  if (!up) std::fprintf(stderr, "bring lo up in the suite's netns: %s\n", std::strerror(errno));
  if (fd >= 0) ::close(fd);
  // As on a host where berth has run before: the first bridge run in a
  // fresh namespace says it turned forwarding on (NetworkTest checks that),
  // which would otherwise land in whichever test comes first.
  FILE* forward = std::fopen("/proc/sys/net/ipv4/ip_forward", "w");
  if (!forward || std::fputs("1", forward) < 0 || std::fclose(forward) != 0) {
    std::fprintf(stderr, "turn on ip_forward in the suite's netns: %s\n", std::strerror(errno));
    return false;
  }
  return up;
}

// The suite namespace's lease directory goes with it.
class LeaseDirCleanup : public ::testing::Environment {
 public:
  void TearDown() override { berth::test::remove_empty_lease_dir(-1); }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::geteuid() != 0 && !::testing::GTEST_FLAG(list_tests)) {
    std::fprintf(stderr, "berth_launcher_tests starts real containers and must run as root\n");
    return 1;
  }
  if (!::testing::GTEST_FLAG(list_tests) && !enter_private_netns()) return 1;
  ::testing::AddGlobalTestEnvironment(berth::test::ltest::new_shared_root_cleanup());
  ::testing::AddGlobalTestEnvironment(new LeaseDirCleanup);
  return RUN_ALL_TESTS();
}
