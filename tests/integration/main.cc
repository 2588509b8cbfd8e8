// The entry point of the container suites (berth_integration_tests and
// berth_vm_tests): they create real containers, so they refuse to run
// without root (listing the tests, as gtest_discover_tests does at build
// time, needs no privileges).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "suite_environment.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::geteuid() != 0 && !::testing::GTEST_FLAG(list_tests)) {
    const char* slash = std::strrchr(argv[0], '/');
    std::fprintf(stderr, "%s creates real containers and must run as root\n",
                 slash ? slash + 1 : argv[0]);
    return 1;
  }
  ::testing::AddGlobalTestEnvironment(berth::test::itest::new_suite_environment());
  return RUN_ALL_TESTS();
}
