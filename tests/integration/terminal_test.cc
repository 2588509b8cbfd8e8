// process.terminal: the runtime makes a pty inside the container and sends
// its master over --console-socket (one fd, SCM_RIGHTS), as containerd's
// shim expects.
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "core/unique_fd.h"
#include "harness.h"

namespace berth::itest {
namespace {

class TerminalTest : public ContainerTest {
 protected:
  void SetUp() override {
    ContainerTest::SetUp();
    if (HasFatalFailure()) return;
    socket_path_ = dir_ + "/console.sock";
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(listener_.valid()) << strerror(errno);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path_.c_str(), sizeof address.sun_path - 1);
    ASSERT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
        << strerror(errno);
    ASSERT_EQ(::listen(listener_.get(), 1), 0) << strerror(errno);
    SetTerminal(true);
  }

  // The runtime connects during create and the connection waits in the
  // backlog, so accepting after create returned is fine.
  UniqueFd ReceiveMaster() {
    pollfd entry{listener_.get(), POLLIN, 0};
    if (::poll(&entry, 1, 5000) != 1) {
      ADD_FAILURE() << "the runtime never connected to the console socket";
      return UniqueFd();
    }
    UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) {
      ADD_FAILURE() << "accept: " << strerror(errno);
      return UniqueFd();
    }
    char data[256];
    iovec io{data, sizeof data};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    if (::recvmsg(connection.get(), &message, MSG_CMSG_CLOEXEC) < 0) {
      ADD_FAILURE() << "recvmsg: " << strerror(errno);
      return UniqueFd();
    }
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    if (!header || header->cmsg_type != SCM_RIGHTS) {
      ADD_FAILURE() << "the console socket carried no fd";
      return UniqueFd();
    }
    size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int fds[4] = {-1, -1, -1, -1};
    std::memcpy(fds, CMSG_DATA(header), std::min<size_t>(count, 4) * sizeof(int));
    for (size_t i = 1; i < std::min<size_t>(count, 4); ++i) ::close(fds[i]);
    EXPECT_EQ(count, 1u) << "expected exactly one fd";
    return UniqueFd(fds[0]);
  }

  // Reads from the master until `until` shows up, the slave side is gone
  // (EIO), or the timeout passes.
  static std::string ReadUntil(int master, const std::string& until,
                               std::chrono::milliseconds timeout = 5s) {
    std::string seen;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (seen.find(until) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd entry{master, POLLIN, 0};
      if (::poll(&entry, 1, 100) <= 0) continue;
      char buffer[1024];
      ssize_t n = ::read(master, buffer, sizeof buffer);
      if (n <= 0) break;
      seen.append(buffer, static_cast<size_t>(n));
    }
    return seen;
  }

  std::string socket_path_;
  UniqueFd listener_;
};

TEST_F(TerminalTest, ConsoleSocketReceivesThePtyMaster) {
  SetShell("tty; for fd in 0 1 2; do readlink /proc/self/fd/$fd; done; echo ok");
  std::string id = NewId();
  ProcessResult created = Create(id, {"--console-socket", socket_path_});
  ASSERT_TRUE(created.succeeded()) << created;
  UniqueFd master = ReceiveMaster();
  ASSERT_TRUE(master.valid());
  unsigned int pty_number = 0;
  EXPECT_EQ(::ioctl(master.get(), TIOCGPTN, &pty_number), 0)
      << "not a pty master: " << strerror(errno);

  ProcessResult started = Start(id);
  ASSERT_TRUE(started.succeeded()) << started;
  std::string seen = ReadUntil(master.get(), "ok\r\n");
  // The tty turns "\n" into "\r\n"; the pty is the container's own devpts.
  EXPECT_EQ(seen, "/dev/pts/0\r\n/dev/pts/0\r\n/dev/pts/0\r\n/dev/pts/0\r\nok\r\n");
}

TEST_F(TerminalTest, ShellReadsWhatIsWrittenToTheMaster) {
  SetArgs({"sh"});
  std::string id = NewId();
  ProcessResult created = Create(id, {"--console-socket", socket_path_});
  ASSERT_TRUE(created.succeeded()) << created;
  UniqueFd master = ReceiveMaster();
  ASSERT_TRUE(master.valid());
  ProcessResult started = Start(id);
  ASSERT_TRUE(started.succeeded()) << started;

  const std::string input = "echo answer-$((40 + 2)); exit\n";
  ASSERT_EQ(::write(master.get(), input.data(), input.size()), static_cast<ssize_t>(input.size()));
  std::string seen = ReadUntil(master.get(), "answer-42\r\n");
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
  ProcessResult created = Create(id, {"--console-socket", socket_path_});
  // runc 1.1: "cannot use console socket if runc will not detach or allocate tty".
  ExpectCleanFailure(created, "console socket");
  EXPECT_FALSE(path_exists(StateDir(id)));
}

}  // namespace
}  // namespace berth::itest
