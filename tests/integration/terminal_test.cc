// process.terminal: the runtime makes a pty inside the container and sends
// its master over --console-socket (one fd, SCM_RIGHTS), as containerd's
// shim expects.
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "console_socket.h"
#include "core/unique_fd.h"
#include "harness.h"

namespace berth::test::itest {
namespace {

class TerminalTest : public ContainerTest {
 protected:
  void SetUp() override {
    ContainerTest::SetUp();
    if (HasFatalFailure()) return;
    std::string failure = console_.listen(dir_ + "/console.sock");
    ASSERT_EQ(failure, "");
    SetTerminal(true);
  }

  ConsoleSocket console_;
};

TEST_F(TerminalTest, ConsoleSocketReceivesThePtyMaster) {
  SetShell("tty; for fd in 0 1 2; do readlink /proc/self/fd/$fd; done; echo ok");
  std::string id = NewId();
  ProcessResult created = Create(id, {"--console-socket", console_.path()});
  ASSERT_TRUE(created.succeeded()) << created;
  UniqueFd master = console_.receive_master();
  ASSERT_TRUE(master.valid());
  unsigned int pty_number = 0;
  EXPECT_EQ(::ioctl(master.get(), TIOCGPTN, &pty_number), 0)
      << "not a pty master: " << strerror(errno);

  ProcessResult started = Start(id);
  ASSERT_TRUE(started.succeeded()) << started;
  std::string seen = read_terminal_until(master.get(), "ok\r\n");
  // The tty turns "\n" into "\r\n"; the pty is the container's own devpts.
  EXPECT_EQ(seen, "/dev/pts/0\r\n/dev/pts/0\r\n/dev/pts/0\r\n/dev/pts/0\r\nok\r\n");
}

TEST_F(TerminalTest, ShellReadsWhatIsWrittenToTheMaster) {
  SetArgs({"sh"});
  std::string id = NewId();
  ProcessResult created = Create(id, {"--console-socket", console_.path()});
  ASSERT_TRUE(created.succeeded()) << created;
  UniqueFd master = console_.receive_master();
  ASSERT_TRUE(master.valid());
  ProcessResult started = Start(id);
  ASSERT_TRUE(started.succeeded()) << started;

  const std::string input = "echo answer-$((40 + 2)); exit\n";
  ASSERT_EQ(::write(master.get(), input.data(), input.size()), static_cast<ssize_t>(input.size()));
  std::string seen = read_terminal_until(master.get(), "answer-42\r\n");
  EXPECT_NE(seen.find("answer-42\r\n"), std::string::npos) << seen;
  WaitStopped(id);
}

TEST_F(TerminalTest, TerminalWithoutConsoleSocketFailsCreate) {
  std::string id = NewId();
  ProcessResult created = Create(id);
  // runc 1.1: "cannot allocate tty if runc will detach without setting console socket".
  ExpectCleanFailure(created, runtime_is_runc() ? "console socket" : "--console-socket");
  EXPECT_FALSE(path_exists(StateDir(id)));
}

TEST_F(TerminalTest, ConsoleSocketWithoutTerminalFailsCreate) {
  SetTerminal(false);
  std::string id = NewId();
  ProcessResult created = Create(id, {"--console-socket", console_.path()});
  // runc 1.1: "cannot use console socket if runc will not detach or allocate tty".
  ExpectCleanFailure(created, "console socket");
  EXPECT_FALSE(path_exists(StateDir(id)));
}

}  // namespace
}  // namespace berth::test::itest
