#include "launcher/sealed_copy.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "launcher/container_spec.h"
#include "linux/exe_protection.h"

namespace berth::launcher {
namespace {

constexpr const char* kInitBinaryVariable = "BERTH_INIT_BINARY";

}  // namespace

std::string init_binary_path() {
  if (const char* passed = std::getenv(kInitBinaryVariable);
      passed && linux::running_from_sealed_copy())
    return passed;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  std::string path(self, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + "berth-init";
}

Status reexec_from_sealed_copy_if_ptrace(const RunOptions& options,
                                         const std::string& init_binary) {
  // A container that may hold CAP_SYS_PTRACE could reach our binary
  // through /proc/<init>/exe (CVE-2019-5736): run from a sealed copy,
  // from the start, before anything is made (the runtime library
  // would otherwise re-execute us half-way through; docs/security.md).
  auto caps = TRY_VALUE(container_capabilities(options));
  if (std::find(caps.begin(), caps.end(), "CAP_SYS_PTRACE") == caps.end() ||
      linux::running_from_sealed_copy())
    return ok();
  ::setenv(kInitBinaryVariable, init_binary.c_str(), 1);
  return linux::reexec_from_sealed_copy();
}

}  // namespace berth::launcher
