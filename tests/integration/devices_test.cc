// The device cgroup: which device nodes a container may open or make, from
// linux.resources.devices plus the rules runc always adds, checked from
// inside the container. berth enforces it with a BPF_CGROUP_DEVICE program
// on the container's cgroup v2; runc on a hybrid host uses the v1 devices
// controller. Both must give the same answers.
//
// runc drops its default rule for a device when linux.devices has a device
// at that path, so tests that deny a standard device list it there.
#include "harness.h"

namespace berth::test::itest {
namespace {

class DevicesTest : public ContainerTest {
 protected:
  void SetDeviceRules(json rules) { spec["linux"]["resources"]["devices"] = std::move(rules); }

  void AddDevice(const std::string& path, int major, int minor) {
    spec["linux"]["devices"].push_back(
        {{"path", path}, {"type", "c"}, {"major", major}, {"minor", minor}, {"fileMode", 0666}});
  }

  void AddCapability(const std::string& capability) {
    for (const char* set : {"bounding", "effective", "permitted"})
      spec["process"]["capabilities"][set].push_back(capability);
  }

  // The script, after a shell function `probe PATH OP` that opens PATH with
  // the redirection OP (<, >, <>) and prints "PATH OP ok" or "PATH OP"
  // followed by the error (busybox: "can't open 'x': <strerror>").
  void SetProbeScript(const std::string& script) {
    SetShell(
        "probe() { if msg=$(eval \"exec 3$2\\\"\\$1\\\"\" 2>&1); then echo \"$1 $2 ok\"; "
        "else echo \"$1 $2 ${msg##*: }\"; fi; }; " +
        script);
  }

  // The probe script run in a new container, which must succeed printing
  // `expected`.
  ProcessResult ExpectProbes(const std::string& script, const std::string& expected) {
    SetProbeScript(script);
    ProcessResult result = RunContainer(NewId());
    if (!result.succeeded())
      ADD_FAILURE() << result;
    else
      EXPECT_EQ(result.out, expected) << result;
    return result;
  }
};

json Rule(bool allow, const std::string& access, const std::string& type = "", int major = -1,
          int minor = -1) {
  json rule = {{"allow", allow}, {"access", access}};
  if (!type.empty()) rule["type"] = type;
  if (major >= 0) rule["major"] = major;
  if (minor >= 0) rule["minor"] = minor;
  return rule;
}

TEST_F(DevicesTest, TheStandardDevicesCanBeOpened) {
  // /dev/tty is allowed; there is just no controlling terminal behind it.
  ExpectProbes(
      "for d in null zero full random urandom; do probe /dev/$d '<>'; done; probe /dev/tty '<'",
      "/dev/null <> ok\n/dev/zero <> ok\n/dev/full <> ok\n/dev/random <> ok\n"
      "/dev/urandom <> ok\n/dev/tty < No such device or address\n");
}

TEST_F(DevicesTest, ADeniedDeviceCannotBeOpenedThoughItsNodeExists) {
  AddDevice("/dev/zero", 1, 5);
  SetDeviceRules({Rule(false, "rwm"), Rule(false, "rwm", "c", 1, 5)});
  ExpectProbes("stat -c '%n %F %t:%T' /dev/zero; probe /dev/zero '<'; probe /dev/null '<>'",
               "/dev/zero character special file 1:5\n"
               "/dev/zero < Operation not permitted\n"
               "/dev/null <> ok\n");
}

TEST_F(DevicesTest, AnAllowedDeviceCanBeOpenedForWhatTheRuleAllows) {
  AddDevice("/dev/zero", 1, 5);
  SetDeviceRules({Rule(false, "rwm"), Rule(true, "r", "c", 1, 5)});
  ExpectProbes("probe /dev/zero '<'; probe /dev/zero '>'; probe /dev/zero '<>'",
               "/dev/zero < ok\n/dev/zero > Operation not permitted\n"
               "/dev/zero <> Operation not permitted\n");
}

TEST_F(DevicesTest, DenyAllWithNullAllowedOpensOnlyNull) {
  const std::pair<const char*, std::pair<int, int>> standard[] = {
      {"/dev/null", {1, 3}},   {"/dev/zero", {1, 5}},    {"/dev/full", {1, 7}},
      {"/dev/random", {1, 8}}, {"/dev/urandom", {1, 9}}, {"/dev/tty", {5, 0}}};
  for (const auto& [path, number] : standard) AddDevice(path, number.first, number.second);
  SetDeviceRules({Rule(false, "rwm", "a"), Rule(true, "rw", "c", 1, 3)});
  ExpectProbes("for d in null zero full random urandom tty; do probe /dev/$d '<'; done",
               "/dev/null < ok\n"
               "/dev/zero < Operation not permitted\n"
               "/dev/full < Operation not permitted\n"
               "/dev/random < Operation not permitted\n"
               "/dev/urandom < Operation not permitted\n"
               "/dev/tty < Operation not permitted\n");
}

// runc's defaults always allow mknod of any device ("c *:* m", "b *:* m"):
// what keeps a container with CAP_MKNOD from the host's devices is that it
// cannot open the nodes it makes.
TEST_F(DevicesTest, ANodeMadeWithCapMknodCannotBeOpened) {
  AddCapability("CAP_MKNOD");
  AddDevice("/dev/zero", 1, 5);
  ExpectProbes("mknod /dev/myzero c 1 5 && echo made; probe /dev/myzero '<'",
               "made\n/dev/myzero < Operation not permitted\n");
}

TEST_F(DevicesTest, MknodIsRefusedForADeviceWhoseRuleDeniesIt) {
  AddCapability("CAP_MKNOD");
  AddDevice("/dev/zero", 1, 5);
  SetDeviceRules({Rule(true, "rwm"), Rule(false, "m", "c", 1, 5)});
  ProcessResult result = ExpectProbes(
      "mknod /dev/myzero c 1 5 || echo refused; mknod /dev/mynull c 1 3 && echo made; "
      "probe /dev/zero '<>'",
      "refused\nmade\n/dev/zero <> ok\n");
  EXPECT_NE(result.err.find("Operation not permitted"), std::string::npos) << result;
}

// An open for reading and writing asks for both at once; a deny rule for
// either refuses it.
TEST_F(DevicesTest, ADenyRuleRefusesAnOpenThatAsksForMoreThanIt) {
  AddDevice("/dev/zero", 1, 5);
  SetDeviceRules({Rule(true, "rwm"), Rule(false, "w", "c", 1, 5)});
  ExpectProbes("probe /dev/zero '<'; probe /dev/zero '>'; probe /dev/zero '<>'",
               "/dev/zero < ok\n/dev/zero > Operation not permitted\n"
               "/dev/zero <> Operation not permitted\n");
}

// No linux.resources at all is not "no restrictions": runc's defaults are an
// allow-list.
TEST_F(DevicesTest, WithoutDeviceRulesOnlyTheDefaultsAreAllowed) {
  spec["linux"].erase("resources");
  AddDevice("/dev/zero", 1, 5);
  ExpectProbes("probe /dev/zero '<'; probe /dev/null '<'",
               "/dev/zero < Operation not permitted\n/dev/null < ok\n");
}

TEST_F(DevicesTest, AnExecdProcessGetsTheSameRules) {
  AddDevice("/dev/zero", 1, 5);
  SetShell("echo ready; exec sleep 300");
  std::string id = NewId();
  CreateAndStart(id);
  ASSERT_TRUE(WaitForStdout(id, "ready")) << ContainerStderr(id);
  ProcessResult denied = Run({"exec", id, "head", "-c", "1", "/dev/zero"});
  EXPECT_EQ(denied.exit_code, 1) << denied;
  EXPECT_NE(denied.err.find("/dev/zero: Operation not permitted"), std::string::npos) << denied;
  ProcessResult allowed = Run({"exec", id, "cat", "/dev/null"});
  EXPECT_TRUE(allowed.succeeded()) << allowed;
}

TEST_F(DevicesTest, ABadRuleFailsCreateNamingTheField) {
  if (runtime_is_runc())
    GTEST_SKIP() << "runc 1.1 runs the container: it drops access letters other than r, w, m";
  SetDeviceRules({Rule(false, "rwm"), Rule(true, "rwx", "c", 1, 5)});
  ProcessResult result = RunContainer(NewId());
  // (the --log format quotes the message's own quotes)
  ExpectCleanFailure(result, "linux.resources.devices[1].access: ");
  ExpectCleanFailure(result, "has 'x' (expected r, w, m)");
}

}  // namespace
}  // namespace berth::test::itest
