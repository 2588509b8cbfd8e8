#include "harness.h"

#include <sys/inotify.h>
#include <sys/mount.h>
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

namespace berth::ltest {
namespace fs = std::filesystem;

const std::string& berth_binary() {
  static const std::string binary = BERTH_BINARY;
  return binary;
}

const std::string& source_dir() {
  static const std::string dir = BERTH_SOURCE_DIR;
  return dir;
}

// --- images -------------------------------------------------------------------

namespace {

// Removed when the process exits normally (a crash leaves a /tmp dir that
// no later run looks at: every run makes its own).
struct ProcessTempDir {
  std::string path;
  ~ProcessTempDir() {
    if (path.empty() || !mounts_under(path).empty()) return;
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

const std::string& process_temp_dir() {
  static ProcessTempDir dir = [] {
    char dir_template[] = "/tmp/berth-launcher-images-XXXXXX";
    if (!::mkdtemp(dir_template)) throw std::runtime_error("mkdtemp failed");
    return ProcessTempDir{dir_template};
  }();
  return dir.path;
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

std::string shared_python_root_path;  // set once imported; removed by the Environment
std::string shared_python_root_error;

class SharedRootCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    if (shared_python_root_path.empty()) return;
    std::string root = shared_python_root_path;
    for (const std::string& id : list_dir(root + "/containers"))
      run_process({berth_binary(), "--root", root, "rm", "-f", id}, {.timeout = 20s});
    std::string dir = fs::path(root).parent_path();
    if (mounts_under(dir).empty()) {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    } else {
      std::fprintf(stderr, "mounts left under %s; not removing it\n", dir.c_str());
    }
  }
};

}  // namespace

::testing::Environment* new_shared_root_cleanup() { return new SharedRootCleanup; }

std::string PythonImageTest::SharedRoot() {
  static std::once_flag once;
  std::call_once(once, [] {
    try {
      std::string layout = python_layout();
      char dir_template[] = "/tmp/berth-launcher-python-XXXXXX";
      if (!::mkdtemp(dir_template)) throw std::runtime_error("mkdtemp failed");
      std::string root = std::string(dir_template) + "/root";
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
  char dir_template[] = "/tmp/berth-launcher-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr) << strerror(errno);
  dir_ = dir_template;
  if (UsesSharedRoot()) {
    root_ = SharedRoot();
    ASSERT_FALSE(root_.empty()) << shared_python_root_error;
  } else {
    root_ = dir_ + "/root";
  }
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
  // Without a temp dir (SetUp failed early) there is nothing of ours, and an
  // empty prefix would match every mount of the host.
  if (dir_.empty()) return;
  if (!root_.empty()) CheckNothingLeft();
  std::vector<std::string> mounts = mounts_under(dir_);
  if (mounts_under(dir_).empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  } else {
    ADD_FAILURE() << "not removing " << dir_ << ": something is still mounted under it";
  }
}

namespace {

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

std::string describe_mounts(const std::vector<std::string>& mounts) {
  std::string listed;
  for (const std::string& mount : mounts) listed += "\n  " + mount;
  return listed;
}

}  // namespace

std::string lease_file(int netns_fd) {
  struct stat netns = {};
  if (netns_fd >= 0 ? ::fstat(netns_fd, &netns) : ::stat("/proc/self/ns/net", &netns)) return "";
  return "/run/berth-network/net-" + std::to_string(netns.st_ino) + "/berth0.json";
}

json leases_in(int netns_fd) {
  std::string path = lease_file(netns_fd);
  if (path.empty() || !path_exists(path)) return json::array();
  json leases = json::parse(read_file(path), nullptr, false);
  return leases.is_object() ? leases.value("leases", json::array()) : json::array();
}

void remove_empty_lease_dir(int netns_fd) {
  std::string file = lease_file(netns_fd);
  if (file.empty() || !leases_in(netns_fd).empty()) return;
  std::string dir = file.substr(0, file.rfind('/'));
  for (const std::string& name : list_dir(dir)) ::unlink((dir + "/" + name).c_str());
  ::rmdir(dir.c_str());
}

std::string LauncherTest::LeaseFile() const { return lease_file(netns_fd_); }
json LauncherTest::Leases() const { return leases_in(netns_fd_); }

void LauncherTest::CheckNetworkLeftClean() {
  // The bridge network: no lease, no veth of this test's containers, and
  // no DNAT element pointing at an address no lease holds.
  std::set<std::string> leased_addresses;
  for (const json& lease : Leases()) {
    std::string id = lease.value("container_id", "");
    leased_addresses.insert(lease.value("address", ""));
    EXPECT_EQ(seen_ids_.count(id), 0u) << "address lease of container " << id << " left behind in "
                                       << LeaseFile() << ": " << lease.dump();
  }
  // The kernel removes a veth when its namespace goes, in a workqueue: soon
  // after the container's last process, not at once.
  ProcessResult links;
  auto no_veth_left = [&] {
    links = run_process({"/usr/sbin/ip", "-o", "link", "show"}, {.netns_fd = netns_fd_});
    return std::none_of(seen_ids_.begin(), seen_ids_.end(), [&](const std::string& id) {
      return links.out.find("vb-" + id.substr(0, 12)) != std::string::npos;
    });
  };
  EXPECT_TRUE(eventually(no_veth_left, 5s)) << "veth of a container left behind:\n" << links.out;
  ProcessResult table = run_process({"/usr/sbin/nft", "-j", "list", "table", "ip", "berth0"},
                                    {.netns_fd = netns_fd_});
  if (!table.succeeded()) return;  // no table: nothing published
  json ruleset = json::parse(table.out, nullptr, false);
  for (const json& item : ruleset.value("nftables", json::array())) {
    if (!item.contains("map")) continue;
    for (const json& element : item["map"].value("elem", json::array())) {
      std::string text = element.dump();
      bool leased =
          std::any_of(leased_addresses.begin(), leased_addresses.end(), [&](const std::string& a) {
            return !a.empty() && text.find("\"" + a + "\"") != std::string::npos;
          });
      EXPECT_TRUE(leased) << "DNAT element of no live container in map "
                          << item["map"].value("name", "") << ": " << text;
    }
  }
}

void LauncherTest::CheckNothingLeft() {
  DrainWatch();
  // A container whose supervisor (foreground berth or detached monitor) is
  // gone must be finished: unmounted, no runtime state, no cgroup; with
  // --rm it must be gone.
  for (const std::string& id : list_dir(root_ + "/containers")) {
    json record = Record(id);
    if (!record.is_object() || process_alive(record.value("supervisor_pid", 0))) continue;
    if (record.value("remove_on_exit", false))
      ADD_FAILURE() << "a --rm container outlived its supervisor: " << id << " " << record.dump();
    std::vector<std::string> mounted = mounts_under(ContainerDir(id) + "/rootfs");
    EXPECT_TRUE(mounted.empty()) << "the rootfs of finished container " << id
                                 << " is still mounted:" << describe_mounts(mounted);
    EXPECT_FALSE(path_exists(root_ + "/state/" + id))
        << "runtime state of finished container " << id << " left behind";
    EXPECT_FALSE(path_exists(container_cgroup(id)))
        << "cgroup of finished container " << id << " left behind";
  }
  // Then every container goes, as a user would remove them.
  for (const std::string& id : list_dir(root_ + "/containers")) {
    ProcessResult removed = Berth({"rm", "-f", id}, {.timeout = 20s});
    EXPECT_TRUE(removed.succeeded()) << "cleanup: " << removed;
  }
  std::vector<std::string> remaining = list_dir(root_ + "/containers");
  EXPECT_TRUE(remaining.empty()) << "container dirs left after rm -f: "
                                 << testing::PrintToString(remaining);
  for (const std::string& id : seen_ids_) {
    std::string cgroup = container_cgroup(id);
    if (!path_exists(cgroup)) continue;
    ADD_FAILURE() << "cgroup left behind: " << cgroup
                  << "\ncgroup.procs: " << read_file(cgroup + "/cgroup.procs");
    remove_cgroup_tree(cgroup);
  }
  CheckNetworkLeftClean();
  std::vector<std::string> state = list_dir(root_ + "/state");
  EXPECT_TRUE(state.empty()) << "runtime state left under " << root_
                             << "/state: " << testing::PrintToString(state);
  for (const std::string& prefix : {dir_, root_}) {
    std::vector<std::string> mounts = mounts_under(prefix);
    if (mounts.empty()) continue;
    ADD_FAILURE() << "mounts left behind in the host's mount namespace:" << describe_mounts(mounts);
    // Deepest first, so each unmount uncovers the next.
    for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
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

}  // namespace berth::ltest
