// berth run -it under a real terminal: the test opens a pty, gives it a
// window size, and runs berth with the slave as its controlling terminal
// and stdio, as a shell in a terminal emulator would; it types into the
// master and reads what the container printed.
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "harness.h"

namespace berth::test::ltest {
namespace {

class TerminalTest : public LauncherTest {
 protected:
  void SetUp() override {
    LauncherTest::SetUp();
    if (HasFatalFailure()) return;
    Pty pty = open_pty(33, 111);
    master_ = std::move(pty.master);
    slave_ = std::move(pty.slave);
  }

  // berth in its own session on the slave; the test keeps only the master.
  BackgroundProcess StartOnTerminal(std::vector<std::string> args) {
    BackgroundProcess process = StartBerth(std::move(args), {}, slave_.get());
    slave_.reset();  // so the master reads EIO once berth and the container are gone
    return process;
  }

  void Type(const std::string& text) {
    ASSERT_EQ(::write(master_.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()))
        << strerror(errno);
  }

  // Reads from the master into seen_ until it holds `until` (counted from
  // `from`), the terminal is gone (EIO), or the timeout passes.
  bool ReadUntil(const std::string& until, size_t from = 0,
                 std::chrono::milliseconds timeout = 10s) {
    return read_terminal_until(master_.get(), seen_, until, from, timeout);
  }
  void ReadToEnd(std::chrono::milliseconds timeout = 10s) {
    ReadUntil("\x01never\x02", 0, timeout);
  }

  UniqueFd master_, slave_;
  std::string seen_;  // everything read from the master
};

TEST_F(TerminalTest, InteractiveTtyHasTheCallersWindowSizeAndExitStatus) {
  BackgroundProcess berth = StartOnTerminal({"run", "-it", "--rm", "busybox:test", "sh"});
  // The shell's prompt: it reads what we type from here on.
  ASSERT_TRUE(ReadUntil("# ")) << "no prompt; saw: " << seen_ << "\n" << berth.wait(5s);
  Type("stty size; echo $((6*7)); tty; exit 7\n");
  ReadToEnd();
  ProcessResult result = berth.wait(10s);
  EXPECT_EQ(result.exit_code, 7) << "terminal output:\n" << seen_ << "\n" << result;
  EXPECT_NE(seen_.find("33 111\r\n"), std::string::npos) << seen_;
  EXPECT_NE(seen_.find("42\r\n"), std::string::npos) << seen_;
  EXPECT_NE(seen_.find("/dev/pts/0\r\n"), std::string::npos)
      << "the container's own pty; " << seen_;
}

TEST_F(TerminalTest, InteractiveTtyFollowsAResizeOfTheCallersTerminal) {
  BackgroundProcess berth = StartOnTerminal({"run", "-it", "--rm", "busybox:test", "sh"});
  ASSERT_TRUE(ReadUntil("# ")) << "no prompt; saw: " << seen_ << "\n" << berth.wait(5s);
  Type("stty size\n");
  ASSERT_TRUE(ReadUntil("33 111\r\n")) << seen_;

  // What a terminal emulator does when its window changes: the kernel sends
  // SIGWINCH to berth, the foreground process group of the terminal.
  struct winsize size = {};
  size.ws_row = 40;
  size.ws_col = 120;
  ASSERT_EQ(::ioctl(master_.get(), TIOCSWINSZ, &size), 0) << strerror(errno);
  // berth relays the size asynchronously: ask until it shows (or give up).
  bool resized = false;
  for (int attempt = 0; attempt < 20 && !resized; ++attempt) {
    size_t from = seen_.size();
    Type("stty size\n");
    resized = ReadUntil("40 120\r\n", from, 500ms);
  }
  EXPECT_TRUE(resized) << "the container's terminal never got 40x120; saw:\n" << seen_;
  Type("exit 3\n");
  ReadToEnd();
  ProcessResult result = berth.wait(10s);
  EXPECT_EQ(result.exit_code, 3) << seen_ << "\n" << result;
}

TEST_F(TerminalTest, CtrlCReachesTheContainerNotBerth) {
  BackgroundProcess berth = StartOnTerminal({"run", "-it", "--rm", "busybox:test", "sh"});
  ASSERT_TRUE(ReadUntil("# ")) << "no prompt; saw: " << seen_ << "\n" << berth.wait(5s);
  Type("sleep 30; echo after-sleep\n");
  // Let the shell start sleep in the foreground, then press ^C: the
  // container's terminal interrupts sleep, the shell goes on.
  std::this_thread::sleep_for(300ms);
  Type("\x03");
  size_t from = seen_.size();
  Type("echo still-$((1+1))\n");
  EXPECT_TRUE(ReadUntil("still-2\r\n", from, 5s)) << seen_;
  Type("exit 0\n");
  ReadToEnd();
  ProcessResult result = berth.wait(10s);
  EXPECT_EQ(result.exit_code, 0) << seen_ << "\n" << result;
}

TEST_F(TerminalTest, TtyWithoutInteractiveStillShowsOutput) {
  BackgroundProcess berth =
      StartOnTerminal({"run", "-t", "--rm", "busybox:test", "sh", "-c", "tty; stty size"});
  ReadToEnd();
  ProcessResult result = berth.wait(10s);
  EXPECT_EQ(result.exit_code, 0) << seen_ << "\n" << result;
  // Without -i berth leaves our terminal cooked, as docker does, so its
  // ONLCR adds a second \r to the container terminal's "\r\n".
  std::string text = seen_;
  std::erase(text, '\r');
  EXPECT_EQ(text, "/dev/pts/0\n33 111\n") << seen_;
}

}  // namespace
}  // namespace berth::test::ltest
