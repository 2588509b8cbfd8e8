// The sync socket between the runtime and its child (container/sync.h):
// the peer's end-of-stream is a value of its own, distinct from any error
// (EPIPE included), and an error's kind crosses the socket with it.
#include "container/sync.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <cerrno>

namespace berth::container {
namespace {

struct SyncPair {
  SyncSocket parent{UniqueFd()};
  SyncSocket child{UniqueFd()};
};

SyncPair make_pair_or_fail() {
  auto made = SyncSocket::make_pair();
  EXPECT_TRUE(made.has_value()) << made.error().message();
  SyncPair pair;
  if (made) {
    pair.parent = std::move(made->first);
    pair.child = std::move(made->second);
  }
  return pair;
}

TEST(SyncSocketTest, ReceiveAfterThePeerClosedIsEndOfStreamNotAnError) {
  SyncPair pair = make_pair_or_fail();
  pair.child.close();
  auto message = pair.parent.receive();
  ASSERT_TRUE(message.has_value())
      << "end-of-stream came back as an error: " << message.error().message() << " (errno "
      << message.error().errno_value() << ")";
  EXPECT_EQ(message->type, SyncMessageType::kEndOfStream);
}

TEST(SyncSocketTest, MessagesBeforeTheCloseArriveBeforeEndOfStream) {
  SyncPair pair = make_pair_or_fail();
  ASSERT_TRUE(pair.child.send(SyncMessageType::kReady).has_value());
  pair.child.close();
  auto ready = pair.parent.receive();
  ASSERT_TRUE(ready.has_value()) << ready.error().message();
  EXPECT_EQ(ready->type, SyncMessageType::kReady);
  auto end = pair.parent.receive();
  ASSERT_TRUE(end.has_value()) << end.error().message();
  EXPECT_EQ(end->type, SyncMessageType::kEndOfStream);
}

// The outcome create and exec used to confuse with the child's death: a
// real EPIPE is an error that says what failed.
TEST(SyncSocketTest, SendingToAClosedPeerIsAnEpipeError) {
  SyncPair pair = make_pair_or_fail();
  pair.child.close();
  auto sent = pair.parent.send(SyncMessageType::kHooksDone, "{}");
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().errno_value(), EPIPE) << sent.error().message();
  EXPECT_NE(sent.error().message().find("send to the sync socket"), std::string::npos)
      << sent.error().message();
}

TEST(SyncSocketTest, ExpectTurnsEndOfStreamIntoAnErrorNamingTheSilence) {
  SyncPair pair = make_pair_or_fail();
  pair.parent.close();
  auto message = pair.child.expect(SyncMessageType::kMappingsDone);
  ASSERT_FALSE(message.has_value());
  EXPECT_NE(message.error().message().find("closed without a word"), std::string::npos)
      << message.error().message();
}

TEST(SyncSocketTest, AnErrorKeepsItsKindErrnoAndMessageAcrossTheSocket) {
  SyncPair pair = make_pair_or_fail();
  for (ErrorKind kind :
       {ErrorKind::kExecNotFound, ErrorKind::kExecPermissionDenied, ErrorKind::kOther}) {
    Error sent("exec /entrypoint: No such file or directory", ENOENT, kind);
    ASSERT_TRUE(pair.child.send_error(sent).has_value());
    auto received = pair.parent.expect(SyncMessageType::kReady);
    ASSERT_FALSE(received.has_value());
    EXPECT_EQ(received.error().kind(), kind);
    EXPECT_EQ(received.error().errno_value(), ENOENT);
    EXPECT_EQ(received.error().message(), sent.message());
  }
}

TEST(SyncSocketTest, AnFdTravelsWithItsMessage) {
  SyncPair pair = make_pair_or_fail();
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(null.valid());
  ASSERT_TRUE(pair.child.send(SyncMessageType::kPtyMaster, {}, null.get()).has_value());
  auto message = pair.parent.receive();
  ASSERT_TRUE(message.has_value()) << message.error().message();
  EXPECT_EQ(message->type, SyncMessageType::kPtyMaster);
  EXPECT_TRUE(message->fd.valid());
}

}  // namespace
}  // namespace berth::container
