// What the container sees of the machine: its hostname, mounts, masked and
// read-only paths, /dev, and namespaces, checked from inside the container
// (or, for namespaces, from the host's /proc).
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "core/defer.h"
#include "harness.h"

namespace berth::test::itest {
namespace {

using IsolationTest = ContainerTest;

TEST_F(IsolationTest, HostnameIsTheSpecsHostname) {
  SetHostname("berth-itest-host");
  SetArgs({"hostname"});
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "berth-itest-host\n");
}

TEST_F(IsolationTest, DefaultMountsAppearInMountinfo) {
  SetArgs({"cat", "/proc/self/mountinfo"});
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  std::vector<MountEntry> mounts = parse_mountinfo(result.out);

  const MountEntry* root = find_mount(mounts, "/");
  ASSERT_NE(root, nullptr) << result.out;
  EXPECT_TRUE(has_option(root->options, "ro")) << "root.readonly is true: " << result.out;

  const std::pair<const char*, const char*> expected[] = {
      {"/proc", "proc"},     {"/dev", "tmpfs"},         {"/dev/pts", "devpts"},
      {"/dev/shm", "tmpfs"}, {"/dev/mqueue", "mqueue"}, {"/sys", "sysfs"}};
  for (const auto& [mount_point, fstype] : expected) {
    const MountEntry* entry = find_mount(mounts, mount_point);
    ASSERT_NE(entry, nullptr) << mount_point << " is not mounted:\n" << result.out;
    EXPECT_EQ(entry->fstype, fstype) << mount_point << ":\n" << result.out;
  }
  EXPECT_TRUE(has_option(find_mount(mounts, "/sys")->options, "ro")) << result.out;
  EXPECT_TRUE(has_option(find_mount(mounts, "/dev/shm")->options, "nodev")) << result.out;
  // runc 1.1 mounts a tmpfs with the v1 hierarchies here; berth mounts cgroup2.
  EXPECT_NE(find_mount(mounts, "/sys/fs/cgroup"), nullptr) << result.out;
}

TEST_F(IsolationTest, TmpfsMountHonoursItsOptions) {
  AddMount("/scratch", "tmpfs", "tmpfs", {"nosuid", "nodev", "size=1m", "mode=1700"});
  SetShell("grep ' /scratch ' /proc/self/mountinfo; stat -c '%a' /scratch");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  std::vector<MountEntry> mounts = parse_mountinfo(result.out);
  ASSERT_EQ(mounts.size(), 1u) << result;
  EXPECT_EQ(mounts[0].fstype, "tmpfs");
  EXPECT_TRUE(has_option(mounts[0].options, "nosuid")) << result;
  EXPECT_TRUE(has_option(mounts[0].options, "nodev")) << result;
  EXPECT_TRUE(has_option(mounts[0].super_options, "size=1024k")) << result;
  EXPECT_EQ(split_lines(result.out).back(), "1700") << result;
}

TEST_F(IsolationTest, ReadOnlyBindMountRefusesWrites) {
  std::string shared = dir_ + "/shared";
  ::mkdir(shared.c_str(), 0755);
  write_file(shared + "/hello", "from the host\n");
  AddBindMount(shared, "/mnt/shared", /*readonly=*/true);
  SetShell("cat /mnt/shared/hello; touch /mnt/shared/new || echo refused");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "from the host\nrefused\n") << result;
  EXPECT_NE(result.err.find("Read-only file system"), std::string::npos) << result;
  EXPECT_FALSE(path_exists(shared + "/new"));
}

TEST_F(IsolationTest, ReadWriteBindMountAcceptsWrites) {
  std::string shared = dir_ + "/shared";
  ::mkdir(shared.c_str(), 0755);
  AddBindMount(shared, "/mnt/shared", /*readonly=*/false);
  SetShell("echo from the container > /mnt/shared/new");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(read_file(shared + "/new"), "from the container\n");
}

// A volume whose host side is a shared mount: the container's copy follows
// rootfsPropagation. Default (rslave): it is a slave, and a mount made on the
// host afterwards appears inside. rprivate: no peer, nothing propagates.
class RootfsPropagationTest : public ContainerTest {
 protected:
  // Creates the container, then mounts a tmpfs under the volume on the host,
  // then starts it; returns the container's view of the volume.
  std::string VolumeMountsSeenInside() {
    std::string volume = dir_ + "/volume";
    std::string submount = volume + "/sub";
    ::mkdir(volume.c_str(), 0755);
    ::mkdir(submount.c_str(), 0755);
    EXPECT_EQ(::mount(volume.c_str(), volume.c_str(), nullptr, MS_BIND, nullptr), 0);
    EXPECT_EQ(::mount(nullptr, volume.c_str(), nullptr, MS_SHARED, nullptr), 0);
    Defer unmount([&] {
      ::umount2(submount.c_str(), MNT_DETACH);
      ::umount2(volume.c_str(), MNT_DETACH);
    });
    AddBindMount(volume, "/volume", /*readonly=*/false);
    SetShell("grep -E ' /volume(/sub)? ' /proc/self/mountinfo");
    std::string id = NewId();
    ProcessResult created = Create(id);
    EXPECT_TRUE(created.succeeded()) << created;
    EXPECT_EQ(::mount("tmpfs", submount.c_str(), "tmpfs", 0, "size=64k"), 0);
    ProcessResult started = Start(id);
    EXPECT_TRUE(started.succeeded()) << started;
    WaitStopped(id);
    return ContainerStdout(id);
  }
};

TEST_F(RootfsPropagationTest, DefaultMakesVolumesSlavesOfTheHost) {
  std::string seen = VolumeMountsSeenInside();
  std::vector<MountEntry> mounts = parse_mountinfo(seen);
  const MountEntry* volume = find_mount(mounts, "/volume");
  ASSERT_NE(volume, nullptr) << seen;
  EXPECT_NE(volume->optional_fields.find("master:"), std::string::npos) << seen;
  EXPECT_NE(find_mount(mounts, "/volume/sub"), nullptr)
      << "the host's later mount did not propagate in:\n"
      << seen;
}

TEST_F(RootfsPropagationTest, RprivateCutsVolumesOffTheHost) {
  spec["linux"]["rootfsPropagation"] = "rprivate";
  std::string seen = VolumeMountsSeenInside();
  std::vector<MountEntry> mounts = parse_mountinfo(seen);
  const MountEntry* volume = find_mount(mounts, "/volume");
  ASSERT_NE(volume, nullptr) << seen;
  EXPECT_EQ(volume->optional_fields, "") << seen;
  EXPECT_EQ(find_mount(mounts, "/volume/sub"), nullptr) << "the host's later mount propagated in:\n"
                                                        << seen;
}

TEST_F(IsolationTest, MaskedPathsAreEmpty) {
  // Which of the default masked paths exist depends on the kernel's config
  // (this one has no /proc/kcore or /proc/scsi): check those the host has.
  std::string script;
  std::vector<std::string> checked;
  for (const json& path : spec["linux"]["maskedPaths"]) {
    std::string masked = path.get<std::string>();
    struct stat st;
    if (::stat(masked.c_str(), &st) != 0) continue;
    checked.push_back(masked);
    if (S_ISDIR(st.st_mode))
      script += "echo " + masked + ": $(ls -A " + masked + " | wc -l) entries; ";
    else
      script += "echo " + masked + ": $(cat " + masked + " | wc -c) bytes; ";
  }
  ASSERT_FALSE(checked.empty()) << "no masked path exists on this host";
  // Some of them are empty on the host too (/proc/acpi here): each must also
  // have something mounted over it.
  SetShell(script + "echo ---; cat /proc/self/mountinfo");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  size_t separator = result.out.find("---\n");
  ASSERT_NE(separator, std::string::npos) << result;
  std::vector<std::string> lines = split_lines(result.out.substr(0, separator));
  std::vector<MountEntry> mounts = parse_mountinfo(result.out.substr(separator + 4));
  ASSERT_EQ(lines.size(), checked.size()) << result;
  for (size_t i = 0; i < checked.size(); ++i) {
    EXPECT_TRUE(lines[i] == checked[i] + ": 0 entries" || lines[i] == checked[i] + ": 0 bytes")
        << lines[i] << "\n"
        << result;
    EXPECT_NE(find_mount(mounts, checked[i]), nullptr) << checked[i] << " is not masked:\n"
                                                       << result;
  }
}

TEST_F(IsolationTest, ReadonlyPathsRefuseWrites) {
  SetShell("echo changed > /proc/sys/kernel/hostname || echo refused; hostname");
  SetHostname("unchanged");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "refused\nunchanged\n") << result;
  EXPECT_NE(result.err.find("Read-only file system"), std::string::npos) << result;
}

TEST_F(IsolationTest, ReadonlyRootRefusesWrites) {
  SetReadonlyRoot(true);
  SetShell("touch /created || echo refused");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "refused\n") << result;
  EXPECT_NE(result.err.find("Read-only file system"), std::string::npos) << result;
  EXPECT_FALSE(path_exists(rootfs_ + "/created"));
}

TEST_F(IsolationTest, WritableRootAcceptsWrites) {
  SetReadonlyRoot(false);
  SetShell("echo inside > /created");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(read_file(rootfs_ + "/created"), "inside\n");
}

TEST_F(IsolationTest, DevHoldsTheStandardDevicesAndLinks) {
  SetShell(
      "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done; "
      "for l in fd stdin stdout stderr ptmx; do echo /dev/$l '->' $(readlink /dev/$l); done");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out,
            "/dev/null character special file 1:3 666\n"
            "/dev/zero character special file 1:5 666\n"
            "/dev/full character special file 1:7 666\n"
            "/dev/random character special file 1:8 666\n"
            "/dev/urandom character special file 1:9 666\n"
            "/dev/tty character special file 5:0 666\n"
            "/dev/fd -> /proc/self/fd\n"
            "/dev/stdin -> /proc/self/fd/0\n"
            "/dev/stdout -> /proc/self/fd/1\n"
            "/dev/stderr -> /proc/self/fd/2\n"
            "/dev/ptmx -> pts/ptmx\n")
      << result;
}

TEST_F(IsolationTest, SpecDeviceIsCreatedAndUsable) {
  spec["linux"]["devices"] = json::array({{{"path", "/dev/mynull"},
                                           {"type", "c"},
                                           {"major", 1},
                                           {"minor", 3},
                                           {"fileMode", 0620},
                                           {"uid", 0},
                                           {"gid", 5}}});
  SetShell("stat -c '%F %t:%T %a %u:%g' /dev/mynull; echo data > /dev/mynull && echo written");
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "character special file 1:3 620 0:5\nwritten\n") << result;
}

TEST_F(IsolationTest, NetworkNamespaceHasOnlyLoopback) {
  SetArgs({"ls", "/sys/class/net"});
  ProcessResult result = RunContainer(NewId());
  ASSERT_TRUE(result.succeeded()) << result;
  EXPECT_EQ(result.out, "lo\n") << result;
}

TEST_F(IsolationTest, ContainerGetsExactlyTheSpecsNewNamespaces) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  pid_t pid = InitPid(id);
  std::set<std::string> requested;
  for (const json& entry : spec["linux"]["namespaces"]) requested.insert(entry.value("type", ""));
  const std::pair<const char*, const char*> kinds[] = {
      {"pid", "pid"},   {"network", "net"},   {"ipc", "ipc"},  {"uts", "uts"},
      {"mount", "mnt"}, {"cgroup", "cgroup"}, {"user", "user"}};
  for (const auto& [spec_name, proc_name] : kinds) {
    std::string inside = NamespaceOf(pid, proc_name);
    std::string host = NamespaceOf(::getpid(), proc_name);
    if (requested.count(spec_name))
      EXPECT_NE(inside, host) << spec_name << " namespace was not unshared";
    else
      EXPECT_EQ(inside, host) << spec_name << " namespace was unshared but not requested";
  }
}

TEST_F(IsolationTest, JoinsTheNamespaceAtTheSpecsPath) {
  SetNamespace("network", "/proc/" + std::to_string(::getpid()) + "/ns/net");
  SetNamespace("uts", "/proc/" + std::to_string(::getpid()) + "/ns/uts");
  spec.erase("hostname");  // a container sharing the host's UTS namespace may not set it
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;
  pid_t pid = InitPid(id);
  EXPECT_EQ(NamespaceOf(pid, "net"), NamespaceOf(::getpid(), "net"));
  EXPECT_EQ(NamespaceOf(pid, "uts"), NamespaceOf(::getpid(), "uts"));
  EXPECT_NE(NamespaceOf(pid, "ipc"), NamespaceOf(::getpid(), "ipc"));
}

}  // namespace
}  // namespace berth::test::itest
