#include "linux/exe_protection.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "core/files.h"
#include "core/unique_fd.h"

extern char** environ;

namespace berth::linux {

namespace {

constexpr unsigned kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

bool has(const std::vector<std::string>& set, const char* name) {
  return std::find(set.begin(), set.end(), name) != set.end();
}

Result<std::vector<std::string>> own_argv() {
  auto cmdline = TRY_VALUE(read_file("/proc/self/cmdline"));
  std::vector<std::string> args;
  size_t start = 0;
  while (start < cmdline.size()) {
    size_t end = cmdline.find('\0', start);
    if (end == std::string::npos) end = cmdline.size();
    args.push_back(cmdline.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

}  // namespace

bool running_from_sealed_copy() {
  UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!exe) return false;
  int seals = ::fcntl(exe.get(), F_GET_SEALS);
  return seals >= 0 && (static_cast<unsigned>(seals) & kSeals) == kSeals;
}

bool container_may_ptrace_runtime(const spec::Spec& spec) {
  if (spec.linux) {
    const spec::Namespace* user = spec.linux->find_namespace(spec::NamespaceType::User);
    // Capabilities held in a new user namespace do not reach the runtime's.
    if (user && user->path.empty()) return false;
  }
  if (!spec.process) return false;
  // No capabilities object: the process keeps every capability it has.
  if (!spec.process->capabilities) return true;
  // The bounding set is what the process could ever gain (a setuid binary
  // raises it), so it alone decides.
  return has(spec.process->capabilities->bounding, "CAP_SYS_PTRACE");
}

Error reexec_from_sealed_copy() {
  UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!exe) return sys_error("open /proc/self/exe");
  struct stat st;
  if (::fstat(exe.get(), &st) < 0) return sys_error("stat /proc/self/exe");
  UniqueFd copy(::memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!copy) return sys_error("memfd_create");
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n =
        ::sendfile(copy.get(), exe.get(), &offset, static_cast<size_t>(st.st_size - offset));
    if (n <= 0) return sys_error("copy /proc/self/exe to a memfd");
  }
  if (::fcntl(copy.get(), F_ADD_SEALS, kSeals) < 0) return sys_error("seal the memfd copy");
  auto args = own_argv();
  if (!args) return args.error();
  std::vector<char*> argv;
  for (std::string& a : args.value()) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::fexecve(copy.get(), argv.data(), environ);
  return sys_error("re-exec from the sealed copy");
}

}  // namespace berth::linux
