// The kernel enforces the limits on real containers: memory.max OOM-kills,
// pids.max refuses forks, the device rules refuse opens.
#include <chrono>
#include <future>
#include <thread>

#include "cgroup_fixture.h"

namespace berth::test::vmtest {
namespace {

using namespace std::chrono_literals;

// dd's buffer is one block: 64 MiB of /dev/zero written into it is past a
// 32 MiB memory.max, and the VM has no swap to push it to.
constexpr long long kMemoryLimit = 32 << 20;
constexpr const char* kAllocatePastTheLimit =
    "dd if=/dev/zero of=/dev/null bs=64M count=1; echo \"dd exit $?\"";

class EnforcementTest : public CgroupTest {};

TEST_F(EnforcementTest, AllocatingPastMemoryMaxIsOomKilled) {
  SetResource("memory", {{"limit", kMemoryLimit}});
  SetShell(kAllocatePastTheLimit);
  std::string id = NewId();
  CreateAndStart(id);
  WaitStopped(id, 30s);
  // 137: the shell's status for a child killed by SIGKILL (128 + 9).
  EXPECT_NE(ContainerStdout(id).find("dd exit 137"), std::string::npos)
      << "stdout: " << ContainerStdout(id) << "\nstderr: " << ContainerStderr(id);
  // The cgroup stays until delete, with the kernel's count of OOM kills.
  EXPECT_GE(CgroupKey(id, "memory.events", "oom_kill"), 1);
}

TEST_F(EnforcementTest, EventsReportsTheOomKill) {
  SetResource("memory", {{"limit", kMemoryLimit}});
  // The allocation waits for /go, so that `events` watches before it.
  SetShell(std::string("while [ ! -e /go ]; do sleep 0.1; done; ") + kAllocatePastTheLimit);
  std::string id = NewId();
  ProcessResult created = Create(id);
  ASSERT_TRUE(created.succeeded()) << created;

  // runc 1.1 prints {"type":"oom","id":"<id>"} on every change of
  // memory.events once its oom_kill count is above 0 (two lines for this
  // one kill), a "stats" event every --interval, and exits once the
  // container has stopped.
  UniqueFd events_out = make_memfd("events-stdout");
  auto events = std::async(std::launch::async, [&] {
    return Run({"events", "--interval", "1s", id}, {.timeout = 60s, .stdout_fd = events_out.get()});
  });
  ProcessResult started = Start(id);
  ASSERT_TRUE(started.succeeded()) << started;
  // The first stats event shows that `events` is attached.
  auto attached = [&] {
    return read_from_start(events_out.get()).find("\"stats\"") != std::string::npos;
  };
  EXPECT_TRUE(eventually(attached, 30s, 50ms))
      << "events printed no stats event in 30 s with --interval 1s";
  write_file(rootfs_ + "/go", "");
  WaitStopped(id, 30s);
  ProcessResult streamed = events.get();

  bool oom_reported = false;
  for (const std::string& line : split_lines(streamed.out)) {
    json event = json::parse(line, nullptr, false);
    if (event.is_object() && event.value("type", "") == "oom" && event.value("id", "") == id)
      oom_reported = true;
  }
  EXPECT_TRUE(oom_reported) << "no {\"type\":\"oom\",\"id\":\"" << id
                            << "\"} line from events: " << streamed
                            << "\ncontainer stdout: " << ContainerStdout(id);
}

TEST_F(EnforcementTest, ForkingStopsAtPidsMax) {
  SetResource("pids", {{"limit", 20}});
  // busybox sh gives up ("can't fork") at the first refused fork; as the
  // pid namespace's init it takes the sleeps with it.
  SetShell("i=0; while [ $i -lt 40 ]; do sleep 1000 & i=$((i+1)); done; echo forked all 40");
  std::string id = NewId();
  CreateAndStart(id);
  WaitStopped(id, 60s);
  EXPECT_NE(ContainerStderr(id).find("can't fork"), std::string::npos)
      << "stdout: " << ContainerStdout(id) << "\nstderr: " << ContainerStderr(id);
  // The shell and 19 sleeps: never more than pids.max at once.
  EXPECT_EQ(CgroupFile(id, "pids.peak"), "20");
  EXPECT_GE(CgroupKey(id, "pids.events", "max"), 1) << "the kernel refused no fork";
}

// /dev/kmsg is opened for writing: reading it needs CAP_SYSLOG (Debian's
// kernel sets dmesg_restrict), writing needs no capability, so only the
// device cgroup can refuse the open. Its node is made from linux.devices.
constexpr const char* kOpenKmsg =
    "[ -c /dev/kmsg ] || echo 'no /dev/kmsg node'; (exec 3>/dev/kmsg) && echo kmsg opened";
const json kKmsgDevice = {{"path", "/dev/kmsg"}, {"type", "c"}, {"major", 1}, {"minor", 11},
                          {"fileMode", 0666},    {"uid", 0},    {"gid", 0}};

TEST_F(EnforcementTest, DeniedDeviceCannotBeOpened) {
  // The default spec's rules deny every device but the runtime's defaults.
  spec["linux"]["devices"] = json::array({kKmsgDevice});
  SetShell(kOpenKmsg);
  ProcessResult ran = RunContainer(NewId());
  EXPECT_EQ(ran.out.find("no /dev/kmsg node"), std::string::npos) << ran;
  EXPECT_EQ(ran.out.find("kmsg opened"), std::string::npos) << ran;
  EXPECT_NE(ran.err.find("/dev/kmsg: Operation not permitted"), std::string::npos) << ran;
}

TEST_F(EnforcementTest, AllowedDeviceCanBeOpened) {
  spec["linux"]["devices"] = json::array({kKmsgDevice});
  spec["linux"]["resources"]["devices"].push_back(
      {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"access", "rw"}});
  SetShell(std::string(kOpenKmsg) + "; (exec 3<>/dev/null) && echo null opened");
  ProcessResult ran = RunContainer(NewId());
  EXPECT_TRUE(ran.succeeded()) << ran;
  EXPECT_NE(ran.out.find("kmsg opened"), std::string::npos) << ran;
  EXPECT_NE(ran.out.find("null opened"), std::string::npos) << ran;
}

TEST_F(EnforcementTest, DefaultDevicesStayAllowedDespiteADenyRule) {
  // runc appends its default device rules (null, zero, full, random,
  // urandom, tty, ptmx, pts; the devices the OCI spec says a container
  // always has) after the spec's, and the last matching rule wins: a spec
  // that denies /dev/zero (c 1:5) still gets it.
  spec["linux"]["resources"]["devices"].push_back(
      {{"allow", false}, {"type", "c"}, {"major", 1}, {"minor", 5}, {"access", "rwm"}});
  SetShell("(exec 3</dev/zero) && echo zero opened");
  ProcessResult ran = RunContainer(NewId());
  EXPECT_TRUE(ran.succeeded()) << ran;
  EXPECT_NE(ran.out.find("zero opened"), std::string::npos) << ran;
}

}  // namespace
}  // namespace berth::test::vmtest
