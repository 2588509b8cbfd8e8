#include "harness.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <stdexcept>

#ifndef BERTH_BINARY
#error "tests/launcher/CMakeLists.txt defines BERTH_BINARY and BERTH_SOURCE_DIR"
#endif

namespace berth::test::ltest {
namespace fs = std::filesystem;

const std::string& berth_binary() {
  static const std::string binary = BERTH_BINARY;
  return binary;
}

const std::string& source_dir() {
  static const std::string dir = BERTH_SOURCE_DIR;
  return dir;
}

std::string container_cgroup(const std::string& id) { return cgroup2_mount() + "/berth-" + id; }

// --- images -------------------------------------------------------------------

namespace {

// Removed when the process exits normally (a crash leaves a /tmp dir that
// no later run looks at: every run makes its own).
const std::string& process_temp_dir() {
  static TempDir dir("berth-launcher-images");
  return dir.path();
}

std::string make_images_script() { return source_dir() + "/tests/launcher/make_images.py"; }

}  // namespace

const BusyboxImages& busybox_images() {
  static const BusyboxImages images = [] {
    BusyboxImages made;
    made.dir = process_temp_dir() + "/busybox";
    ProcessResult result =
        run_process({"/usr/bin/python3", "-I", "-S", make_images_script(), "busybox", made.dir});
    if (!result.succeeded()) {
      std::ostringstream message;
      message << "making the busybox test images failed: " << result;
      throw std::runtime_error(message.str());
    }
    made.rootfs = made.dir + "/rootfs";
    made.rootfs_tar = made.dir + "/rootfs.tar";
    made.rootfs_tar_gz = made.dir + "/rootfs.tar.gz";
    made.docker_save = made.dir + "/docker-save.tar";
    made.oci_dir = made.dir + "/oci";
    made.oci_tar = made.dir + "/oci.tar";
    return made;
  }();
  return images;
}

void make_hostile_layout(const std::string& kind, const std::string& target,
                         const std::string& out) {
  ProcessResult result = run_process(
      {"/usr/bin/python3", "-I", "-S", make_images_script(), "hostile", kind, target, out});
  if (!result.succeeded()) {
    std::ostringstream message;
    message << "making the hostile layout failed: " << result;
    throw std::runtime_error(message.str());
  }
}

const std::string& python_layout() {
  static const std::string layout = [] {
    // A layout given by hand (e.g. while tools/mkimage is being changed).
    if (const char* given = std::getenv("BERTH_TEST_PYTHON_LAYOUT"); given && *given)
      return std::string(given);
    std::string mkimage = source_dir() + "/tools/mkimage";
    if (::access(mkimage.c_str(), X_OK) != 0)
      throw std::runtime_error(mkimage + " is missing: it builds the Python test image");
    ProcessResult where = run_process({mkimage, "python", "--print-path"});
    std::string path = where.out.substr(0, where.out.find('\n'));
    if (where.succeeded() && path_exists(path + "/index.json")) return path;
    // Not built yet (running outside ctest, whose launcher_python_image
    // fixture builds it first): build it now; that takes minutes once.
    std::fprintf(stderr, "building the Python test image with %s python (minutes, once)\n",
                 mkimage.c_str());
    ProcessResult built = run_process({mkimage, "python"}, {.timeout = 3600s});
    path = built.out.substr(0, built.out.find('\n'));
    if (!built.succeeded() || !path_exists(path + "/index.json")) {
      std::ostringstream message;
      message << "tools/mkimage python failed: " << built;
      throw std::runtime_error(message.str());
    }
    return path;
  }();
  return layout;
}

// --- the fixture --------------------------------------------------------------

namespace {

TempDir shared_python_dir;  // holds the root once imported; removed by the Environment
std::string shared_python_root_path;
std::string shared_python_root_error;

class SharedRootCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    if (shared_python_root_path.empty()) return;
    std::string root = shared_python_root_path;
    for (const std::string& id : list_dir(root + "/containers"))
      run_process({berth_binary(), "--root", root, "rm", "-f", id}, {.timeout = 20s});
    if (!shared_python_dir.remove())
      std::fprintf(stderr, "mounts left under %s; not removing it\n",
                   shared_python_dir.path().c_str());
  }
};

}  // namespace

::testing::Environment* new_shared_root_cleanup() { return new SharedRootCleanup; }

std::string PythonImageTest::SharedRoot() {
  static std::once_flag once;
  std::call_once(once, [] {
    try {
      std::string layout = python_layout();
      shared_python_dir = TempDir("berth-launcher-python");
      std::string root = shared_python_dir / "root";
      shared_python_root_path = root;
      auto started = std::chrono::steady_clock::now();
      ProcessResult imported =
          run_process({berth_binary(), "--root", root, "import", layout}, {.timeout = 600s});
      if (!imported.succeeded()) {
        std::ostringstream message;
        message << "importing the Python image failed: " << imported;
        throw std::runtime_error(message.str());
      }
      std::fprintf(
          stderr, "imported %s in %.1f s\n", layout.c_str(),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    } catch (const std::exception& error) {
      shared_python_root_error = error.what();
    }
  });
  if (!shared_python_root_error.empty()) return "";
  return shared_python_root_path;
}

void LauncherTest::SetUp() {
  temp_ = TempDir("berth-launcher");
  dir_ = temp_.path();
  if (UsesSharedRoot()) {
    root_ = SharedRoot();
    ASSERT_FALSE(root_.empty()) << shared_python_root_error;
  } else {
    root_ = dir_ + "/root";
  }
  // What is there before the test (in a shared root or namespace, others'
  // leftovers are theirs, already reported).
  leaks_ = LeakCheck({.mount_prefixes = {dir_, root_},
                      .listed_dirs = {root_ + "/containers", root_ + "/state"},
                      .netns = NetnsScope{.fd = netns_fd_, .link_prefix = "vb-"}});
  // Watched before any container exists, so TearDown knows every id made,
  // even of --rm containers that are gone by then.
  make_dirs(root_ + "/containers", 0700);
  watch_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  ASSERT_TRUE(watch_.valid()) << strerror(errno);
  ASSERT_GE(::inotify_add_watch(watch_.get(), (root_ + "/containers").c_str(),
                                IN_CREATE | IN_MOVED_TO | IN_ONLYDIR),
            0)
      << strerror(errno);
  if (!UsesSharedRoot()) {
    const BusyboxImages& images = busybox_images();
    ProcessResult imported = Berth({"import", "--rootfs", images.rootfs_tar, "busybox:test"});
    ASSERT_TRUE(imported.succeeded()) << imported;
  }
}

void LauncherTest::DrainWatch() {
  if (!watch_) return;
  alignas(inotify_event) char buffer[65536];
  for (;;) {
    ssize_t n = ::read(watch_.get(), buffer, sizeof buffer);
    if (n <= 0) break;
    for (char* p = buffer; p < buffer + n;) {
      auto* event = reinterpret_cast<inotify_event*>(p);
      if (event->len > 0 && event->name[0] != '.') seen_ids_.insert(event->name);
      if (event->mask & IN_Q_OVERFLOW) ADD_FAILURE() << "inotify queue overflowed";
      p += sizeof(inotify_event) + event->len;
    }
  }
}

std::set<std::string> LauncherTest::SeenContainerIds() {
  DrainWatch();
  return seen_ids_;
}

void LauncherTest::TearDown() {
  // Without a temp dir (SetUp failed early) there is nothing of ours.
  if (dir_.empty() || root_.empty()) return;
  CheckFinishedContainers();
  // Then every container goes, as a user would remove them.
  for (const std::string& id : list_dir(root_ + "/containers")) {
    ProcessResult removed = Berth({"rm", "-f", id}, {.timeout = 20s});
    EXPECT_TRUE(removed.succeeded()) << "cleanup: " << removed;
  }
  for (const std::string& id : seen_ids_) leaks_.watch_cgroup(container_cgroup(id));
  // What is left fails the test and is cleaned up; temp_ then goes with
  // the fixture (but never through a mount still there).
  leaks_.expect_nothing_left();
}

std::string LauncherTest::LeaseFile() const { return lease_file(netns_fd_); }
json LauncherTest::Leases() const { return leases_in(netns_fd_); }

void LauncherTest::CheckFinishedContainers() {
  DrainWatch();
  for (const std::string& id : list_dir(root_ + "/containers")) {
    json record = Record(id);
    if (!record.is_object() || process_alive(record.value("supervisor_pid", 0))) continue;
    if (record.value("remove_on_exit", false))
      ADD_FAILURE() << "a --rm container outlived its supervisor: " << id << " " << record.dump();
    std::vector<std::string> mounted = mounts_under(ContainerDir(id) + "/rootfs");
    EXPECT_TRUE(mounted.empty()) << "the rootfs of finished container " << id
                                 << " is still mounted: " << testing::PrintToString(mounted);
    EXPECT_FALSE(path_exists(root_ + "/state/" + id))
        << "runtime state of finished container " << id << " left behind";
    EXPECT_FALSE(path_exists(container_cgroup(id)))
        << "cgroup of finished container " << id << " left behind";
  }
}

ProcessResult LauncherTest::Berth(std::vector<std::string> args, const ProcessOptions& options) {
  std::vector<std::string> argv = {berth_binary(), "--root", root_};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions in_netns = options;
  if (in_netns.netns_fd < 0) in_netns.netns_fd = netns_fd_;
  return run_process(argv, in_netns);
}

BackgroundProcess LauncherTest::StartBerth(std::vector<std::string> args,
                                           const ProcessOptions& options, int terminal) {
  std::vector<std::string> argv = {berth_binary(), "--root", root_};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions in_netns = options;
  if (in_netns.netns_fd < 0) in_netns.netns_fd = netns_fd_;
  return BackgroundProcess::start(argv, in_netns, terminal);
}

std::string LauncherTest::RunDetached(std::vector<std::string> args) {
  args.insert(args.begin(), {"run", "-d"});
  ProcessResult result = Berth(args);
  std::string id = result.out.substr(0, result.out.find('\n'));
  if (!result.succeeded() || id.size() != 64) {
    ADD_FAILURE() << "run -d failed: " << result;
    return "";
  }
  return id;
}

ProcessResult LauncherTest::RunRm(std::vector<std::string> args, const ProcessOptions& options) {
  args.insert(args.begin(), {"run", "--rm"});
  return Berth(args, options);
}

json LauncherTest::Inspect(const std::string& reference) {
  ProcessResult result = Berth({"inspect", reference});
  if (!result.succeeded()) {
    ADD_FAILURE() << "inspect " << reference << ": " << result;
    return json();
  }
  json parsed = json::parse(result.out, nullptr, false);
  if (!parsed.is_array() || parsed.empty()) {
    ADD_FAILURE() << "inspect printed no JSON array: " << result;
    return json();
  }
  return parsed[0];
}

std::string LauncherTest::ContainerStatus(const std::string& reference) {
  ProcessResult result = Berth({"inspect", reference});
  json parsed = json::parse(result.out, nullptr, false);
  if (!result.succeeded() || !parsed.is_array() || parsed.empty()) return "<gone>";
  return parsed[0]["State"].value("Status", "<no status>");
}

bool LauncherTest::WaitForStatus(const std::string& reference, const std::string& status,
                                 std::chrono::milliseconds timeout) {
  return eventually([&] { return ContainerStatus(reference) == status; }, timeout);
}

bool LauncherTest::WaitForLog(const std::string& id, const std::string& text,
                              std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        return Berth({"logs", id}).out.find(text) != std::string::npos;
      },
      timeout);
}

json LauncherTest::Record(const std::string& id) {
  return json::parse(read_file(ContainerDir(id) + "/record.json"), nullptr, false);
}

std::vector<std::string> LauncherTest::LayerDirs() const {
  std::vector<std::string> layers;
  // Each layer is a directory (its metadata sits beside it in <hex>.json).
  for (const std::string& name : list_dir(root_ + "/layers"))
    if (name[0] != '.' && fs::is_directory(root_ + "/layers/" + name)) layers.push_back(name);
  return layers;
}

void LauncherTest::Import(std::vector<std::string> args) {
  args.insert(args.begin(), "import");
  ProcessResult result = Berth(args, {.timeout = 120s});
  ASSERT_TRUE(result.succeeded()) << result;
}

}  // namespace berth::test::ltest
