// The launcher suite's entry point: it starts real containers, so it
// refuses to run without root (listing the tests, as gtest_discover_tests
// does at build time, needs no privileges).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "harness.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::geteuid() != 0 && !::testing::GTEST_FLAG(list_tests)) {
    std::fprintf(stderr, "berth_launcher_tests starts real containers and must run as root\n");
    return 1;
  }
  ::testing::AddGlobalTestEnvironment(berth::ltest::new_shared_root_cleanup());
  return RUN_ALL_TESTS();
}
