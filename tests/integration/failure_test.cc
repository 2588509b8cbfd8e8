// Bundles and ids the runtime must refuse: each create fails with exit status
// 1 and a message that says what is wrong, and leaves no state dir (TearDown
// checks mounts and cgroups as well).
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "harness.h"

namespace berth::test::itest {
namespace {

class FailureTest : public ContainerTest {
 protected:
  // create must fail naming `expected` (berth's message) or, under runc,
  // `runc_expected` (runc 1.1's), and leave nothing of the container.
  void ExpectCreateFails(const std::string& id, const ProcessResult& created,
                         const std::string& expected, const std::string& runc_expected) {
    ExpectCleanFailure(created, runtime_is_runc() ? runc_expected : expected);
    EXPECT_FALSE(path_exists(StateDir(id))) << "state dir left behind";
    ProcessResult list = Run({"list"});
    EXPECT_EQ(list.out.find(id), std::string::npos) << list;
  }

  ProcessResult CreateWithoutWritingSpec(const std::string& id) {
    return Run({"create", "--bundle", bundle_, id});
  }
};

TEST_F(FailureTest, MissingConfigJson) {
  std::string id = NewId();
  ExpectCreateFails(id, CreateWithoutWritingSpec(id), "config.json",
                    "JSON specification file config.json not found");
}

TEST_F(FailureTest, BrokenJson) {
  std::string id = NewId();
  write_file(bundle_ + "/config.json", "{ \"ociVersion\": \"1.0.2\", not json }\n");
  // runc 1.1 gives only the decoder's words, without the file.
  ExpectCreateFails(id, CreateWithoutWritingSpec(id), "config.json", "invalid character");
}

TEST_F(FailureTest, UnknownNamespaceType) {
  spec["linux"]["namespaces"].push_back({{"type", "bogus"}});
  size_t index = spec["linux"]["namespaces"].size() - 1;
  std::string id = NewId();
  ExpectCreateFails(id, Create(id), "linux.namespaces[" + std::to_string(index) + "].type",
                    "namespace {\\\"bogus\\\"");
}

TEST_F(FailureTest, MissingRootfs) {
  spec["root"]["path"] = "no-such-rootfs";
  std::string id = NewId();
  ExpectCreateFails(id, Create(id), bundle_ + "/no-such-rootfs",
                    "stat " + bundle_ + "/no-such-rootfs: no such file or directory");
}

TEST_F(FailureTest, MissingExecutable) {
  SetArgs({"no-such-binary"});
  std::string id = NewId();
  // runc 1.1: exec: "no-such-binary": executable file not found in $PATH
  ExpectCreateFails(id, Create(id), "executable file not found", "executable file not found");
}

TEST_F(FailureTest, MissingExecutableByPath) {
  SetArgs({"/no/such/binary"});
  std::string id = NewId();
  ExpectCreateFails(id, Create(id), "/no/such/binary", "/no/such/binary");
}

TEST_F(FailureTest, BindMountOfAMissingSource) {
  std::string missing = dir_ + "/no-such-source";
  AddBindMount(missing, "/mnt", /*readonly=*/false);
  std::string id = NewId();
  ProcessResult created = Create(id);
  ExpectCreateFails(id, created, missing, missing);
  // strerror's "No such file or directory"; Go's is lower case.
  std::string lowered = created.err;
  std::transform(lowered.begin(), lowered.end(), lowered.begin(), ::tolower);
  EXPECT_NE(lowered.find("no such file or directory"), std::string::npos) << created;
}

TEST_F(FailureTest, DuplicateIdLeavesTheFirstContainerIntact) {
  SetArgs({"sleep", "30"});
  std::string id = NewId();
  ProcessResult first = Create(id);
  ASSERT_TRUE(first.succeeded()) << first;
  pid_t pid = InitPid(id);

  ProcessResult second = Run({"create", "--bundle", bundle_, id});
  // runc 1.1: "container with given ID already exists".
  ExpectCleanFailure(second, "already exists");
  EXPECT_EQ(Status(id), "created");
  EXPECT_EQ(InitPid(id), pid);
  ProcessResult started = Start(id);
  EXPECT_TRUE(started.succeeded()) << started;
  EXPECT_EQ(Status(id), "running");
}

class InvalidIdTest : public FailureTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(InvalidIdTest, IsRefused) {
  std::string id = GetParam();
  WriteSpec("invalid-id");
  ProcessResult created = Run({"create", "--bundle", bundle_, id});
  // runc 1.1 does not name the id: "invalid container ID format".
  ExpectCleanFailure(created, runtime_is_runc() ? "invalid container ID format" : id);
  std::error_code ignored;
  EXPECT_TRUE(std::filesystem::is_empty(root_, ignored) || !path_exists(root_))
      << "the runtime made something under --root";
  EXPECT_FALSE(path_exists(dir_ + "/escaped"));
}

INSTANTIATE_TEST_SUITE_P(Ids, InvalidIdTest,
                         ::testing::Values("../escaped", "with/slash", "..", "white space"),
                         [](const auto& info) { return "case" + std::to_string(info.index); });

TEST_F(FailureTest, MissingBundleDirectory) {
  std::string id = NewId();
  std::string bundle = dir_ + "/no-such-bundle";
  ProcessResult created = Run({"create", "--bundle", bundle, id});
  // runc 1.1 chdirs into the bundle first: "chdir <bundle>: no such file or directory".
  ExpectCleanFailure(created, bundle);
  EXPECT_FALSE(path_exists(StateDir(id)));
}

}  // namespace
}  // namespace berth::test::itest
