#include "rootfs/registry/credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/files.h"
#include "rootfs/registry/base64.h"
#include "rootfs/registry/credential_helper.h"
#include "support/temp_dir.h"

namespace berth::registry {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Sets an environment variable for the scope, restoring what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A fake docker-credential-test: it keeps one answer in files beside it
// (answer: what get prints; answer.server: for which server URL), and
// records what store and erase received.
constexpr const char* kFakeHelper = R"sh(#!/bin/sh
dir=$(dirname "$0")
read -r input
case "$1" in
get)
  if [ -f "$dir/answer" ] && [ "$(cat "$dir/answer.server")" = "$input" ]; then
    cat "$dir/answer"
  else
    echo "credentials not found in native keychain"
    exit 1
  fi ;;
store) printf '%s' "$input" > "$dir/stored" ;;
erase) printf '%s' "$input" > "$dir/erased" ;;
*) echo "unknown action $1"; exit 2 ;;
esac
)sh";

constexpr const char* kFailingHelper = R"sh(#!/bin/sh
echo "the keychain is locked"
echo "debug noise" >&2
exit 3
)sh";

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(make_directories(bin_dir(), 0755).has_value());
    write(bin_dir() + "/docker-credential-test", kFakeHelper, 0755);
    write(bin_dir() + "/docker-credential-broken", kFailingHelper, 0755);
  }

  std::string bin_dir() const { return dir_ / "bin"; }
  std::string config_path() const { return dir_ / "docker/config.json"; }

  void write(const std::string& path, const std::string& text, mode_t mode = 0644) {
    ASSERT_TRUE(write_file(path, text, mode).has_value()) << path;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
  }
  void write_config(const std::string& text) {
    ASSERT_TRUE(make_directories(dir_ / "docker", 0700).has_value());
    write(config_path(), text);
  }
  ordered_json read_config() const {
    auto text = read_file(config_path());
    EXPECT_TRUE(text.has_value()) << text.error().message();
    return ordered_json::parse(text.has_value() ? text.value() : "null");
  }
  std::string read(const std::string& path) const {
    auto text = read_file(path);
    EXPECT_TRUE(text.has_value()) << text.error().message();
    return text.has_value() ? text.value() : "";
  }

  std::optional<Credentials> get(const std::string& server) const {
    auto credentials = CredentialStore(config_path()).get(server);
    EXPECT_TRUE(credentials.has_value()) << server << ": " << credentials.error().message();
    return credentials.has_value() ? credentials.value() : std::nullopt;
  }
  std::string get_error(const std::string& server) const {
    auto credentials = CredentialStore(config_path()).get(server);
    EXPECT_FALSE(credentials.has_value()) << server << " has credentials";
    return credentials.has_value() ? "" : credentials.error().message();
  }
  void store(const std::string& server, const Credentials& credentials) {
    auto stored = CredentialStore(config_path()).store(server, credentials);
    ASSERT_TRUE(stored.has_value()) << stored.error().message();
  }
  void erase(const std::string& server) {
    auto erased = CredentialStore(config_path()).erase(server);
    ASSERT_TRUE(erased.has_value()) << erased.error().message();
  }

  test::TempDir dir_{"berth-credentials-test"};
  ScopedEnv path_{"PATH", (dir_.path() + "/bin:" + ::getenv("PATH")).c_str()};
};

TEST(CredentialKeyTest, DockerHubNamesShareDockersKey) {
  for (const char* server : {"docker.io", "index.docker.io", "registry-1.docker.io",
                             "https://index.docker.io/v1/", "https://registry-1.docker.io/v2/"})
    EXPECT_EQ(credential_key(server), "https://index.docker.io/v1/") << server;
}

TEST(CredentialKeyTest, OtherServersAreHostAndPortWithoutSchemeOrPath) {
  EXPECT_EQ(credential_key("127.0.0.1:5000"), "127.0.0.1:5000");
  EXPECT_EQ(credential_key("https://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
  EXPECT_EQ(credential_key("http://registry.example.com/v1/"), "registry.example.com");
  EXPECT_EQ(credential_key("localhost:5000"), "localhost:5000");
  EXPECT_EQ(credential_key("[::1]:5000"), "[::1]:5000");
}

TEST(DockerConfigFileTest, DockerConfigElseHome) {
  ScopedEnv home("HOME", "/home/someone");
  {
    ScopedEnv docker_config("DOCKER_CONFIG", "/etc/docker-client");
    EXPECT_EQ(docker_config_file(), "/etc/docker-client/config.json");
  }
  ScopedEnv no_docker_config("DOCKER_CONFIG", nullptr);
  EXPECT_EQ(docker_config_file(), "/home/someone/.docker/config.json");
}

TEST_F(CredentialsTest, MissingFileHasNoCredentialsAndEraseWritesNothing) {
  EXPECT_EQ(get("127.0.0.1:5000"), std::nullopt);
  erase("127.0.0.1:5000");
  EXPECT_NE(::access(config_path().c_str(), F_OK), 0);
}

TEST_F(CredentialsTest, EmptyFileIsAnEmptyConfig) {
  write_config("");
  EXPECT_EQ(get("127.0.0.1:5000"), std::nullopt);
}

TEST_F(CredentialsTest, StoredCredentialsReadBackAsDockerWritesThem) {
  store("127.0.0.1:5000", {"kbaafi", "p@ss:word", ""});
  auto credentials = get("https://127.0.0.1:5000/v2/");
  ASSERT_TRUE(credentials.has_value());
  EXPECT_EQ(credentials->username, "kbaafi");
  EXPECT_EQ(credentials->password, "p@ss:word");
  EXPECT_EQ(credentials->identity_token, "");
  EXPECT_EQ(read_config(), ordered_json::parse(R"({"auths": {"127.0.0.1:5000": {"auth": ")" +
                                               base64_encode("kbaafi:p@ss:word") + R"("}}})"));
  EXPECT_EQ(get("127.0.0.1:5001"), std::nullopt);
}

TEST_F(CredentialsTest, MadeFileIs0600InADirectory0700) {
  store("docker.io", {"u", "p", ""});
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "docker").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(config_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(CredentialsTest, RewrittenFileIs0600AndLeavesNoTempFile) {
  write_config(R"({"auths": {}})");
  ASSERT_EQ(::chmod(config_path().c_str(), 0644), 0);
  store("127.0.0.1:5000", {"u", "p", ""});
  struct stat st;
  ASSERT_EQ(::stat(config_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "docker"))
    names.push_back(entry.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"config.json"});
}

TEST_F(CredentialsTest, EveryOtherKeyOfTheFileStaysWhereItWas) {
  write_config(R"({
  "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
  "auths": {
    "registry.example.com": {"auth": "b3RoZXI6c2VjcmV0", "email": "me@example.com"},
    "127.0.0.1:5000": {"auth": "b2xkOm9sZA==", "email": "kept@example.com"}
  },
  "psFormat": "table {{.ID}}",
  "plugins": {"x": {"y": [1, 2, 3]}}
})");
  store("127.0.0.1:5000", {"new", "secret", ""});
  ordered_json config = read_config();
  std::vector<std::string> keys;
  for (const auto& [key, value] : config.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"proxies", "auths", "psFormat", "plugins"}));
  EXPECT_EQ(config["proxies"], json::parse(R"({"default": {"httpProxy": "http://proxy:3128"}})"));
  EXPECT_EQ(config["psFormat"], "table {{.ID}}");
  EXPECT_EQ(config["plugins"], json::parse(R"({"x": {"y": [1, 2, 3]}})"));
  EXPECT_EQ(config["auths"]["registry.example.com"],
            json::parse(R"({"auth": "b3RoZXI6c2VjcmV0", "email": "me@example.com"})"));
  EXPECT_EQ(config["auths"]["127.0.0.1:5000"]["email"], "kept@example.com");
  EXPECT_EQ(get("127.0.0.1:5000")->username, "new");
  EXPECT_EQ(get("registry.example.com")->password, "secret");
}

TEST_F(CredentialsTest, DockerHubUnderAnyOfItsNames) {
  store("docker.io", {"kbaafi", "pw", ""});
  EXPECT_TRUE(read_config()["auths"].contains("https://index.docker.io/v1/"));
  for (const char* server :
       {"docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"})
    EXPECT_EQ(get(server)->username, "kbaafi") << server;
}

TEST_F(CredentialsTest, AnEntryUnderAnotherSpellingOfTheServerCounts) {
  write_config(R"({"auths": {"docker.io": {"auth": ")" + base64_encode("podman:user") +
               R"("}, "https://myregistry:5000/v1/": {"auth": ")" + base64_encode("old:style") +
               R"("}}})");
  EXPECT_EQ(get("registry-1.docker.io")->username, "podman");
  EXPECT_EQ(get("myregistry:5000")->password, "style");
  // Logging out removes every spelling.
  erase("myregistry:5000");
  EXPECT_FALSE(read_config()["auths"].contains("https://myregistry:5000/v1/"));
  EXPECT_TRUE(read_config()["auths"].contains("docker.io"));
}

TEST_F(CredentialsTest, UsernamePasswordAndIdentityTokenFields) {
  write_config(R"({"auths": {
    "a.example.com": {"username": "alice", "password": "secret"},
    "b.example.com": {"auth": ")" +
               base64_encode("bob:") + R"(", "identitytoken": "refresh-token"},
    "c.example.com": {}
  }})");
  auto alice = get("a.example.com");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->username, "alice");
  EXPECT_EQ(alice->password, "secret");
  auto bob = get("b.example.com");
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(bob->username, "bob");
  EXPECT_EQ(bob->password, "");
  EXPECT_EQ(bob->identity_token, "refresh-token");
  EXPECT_EQ(get("c.example.com"), std::nullopt);
}

TEST_F(CredentialsTest, IdentityTokenIsStoredBesideTheAuth) {
  store("b.example.com", {"bob", "", "refresh-token"});
  EXPECT_EQ(read_config()["auths"]["b.example.com"],
            json::parse(R"({"auth": ")" + base64_encode("bob:") +
                        R"(", "identitytoken": "refresh-token"})"));
}

TEST_F(CredentialsTest, EraseRemovesOnlyThatServer) {
  store("a.example.com", {"a", "1", ""});
  store("b.example.com", {"b", "2", ""});
  erase("a.example.com");
  EXPECT_EQ(get("a.example.com"), std::nullopt);
  EXPECT_EQ(get("b.example.com")->username, "b");
  erase("a.example.com");  // again: nothing to do, no error
}

TEST_F(CredentialsTest, BrokenConfigIsNamedWithTheLine) {
  write_config("{\n  \"auths\": {\n    \"x\": \n}\n");
  std::string message = get_error("x");
  EXPECT_EQ(message.rfind("read " + config_path() + ": parse error at line 4", 0), 0u) << message;
  // A broken file is not overwritten by a login.
  auto stored = CredentialStore(config_path()).store("x", {"u", "p", ""});
  ASSERT_FALSE(stored.has_value());
  EXPECT_EQ(read(config_path()), "{\n  \"auths\": {\n    \"x\": \n}\n");
}

TEST_F(CredentialsTest, WrongTypesAndBadAuthAreNamed) {
  write_config(R"({"auths": []})");
  EXPECT_EQ(get_error("x"), "read " + config_path() + ": \"auths\" is not an object");
  write_config(R"([1])");
  EXPECT_EQ(get_error("x"), "read " + config_path() + ": not a JSON object");
  write_config(R"({"credsStore": 1})");
  EXPECT_EQ(get_error("x"), "read " + config_path() + ": \"credsStore\" is not a string");
  write_config(R"({"auths": {"x": {"auth": "not base64!"}}})");
  EXPECT_EQ(
      get_error("x").rfind("read " + config_path() + ": auths[\"x\"].auth: invalid base64", 0), 0u);
  write_config(R"({"auths": {"x": {"auth": ")" + base64_encode("nocolon") + R"("}}})");
  EXPECT_EQ(get_error("x"), "read " + config_path() +
                                ": auths[\"x\"].auth is not base64 of USER:PASSWORD (no ':')");
  write_config(R"({"auths": {"x": {"username": 7}}})");
  EXPECT_EQ(get_error("x"), "read " + config_path() + ": auths[\"x\"].username is not a string");
}

TEST_F(CredentialsTest, SymlinkedConfigIsWrittenAtItsTarget) {
  write(dir_ / "real.json", R"({"psFormat": "x"})");
  ASSERT_TRUE(make_directories(dir_ / "docker", 0700).has_value());
  ASSERT_EQ(::symlink((dir_ / "real.json").c_str(), config_path().c_str()), 0);
  store("127.0.0.1:5000", {"u", "p", ""});
  struct stat st;
  ASSERT_EQ(::lstat(config_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_TRUE(ordered_json::parse(read(dir_ / "real.json"))["auths"].contains("127.0.0.1:5000"));
}

TEST_F(CredentialsTest, CredHelpersRouteOneServerToItsHelper) {
  write_config(R"({"credHelpers": {"127.0.0.1:5000": "test"}, "auths": {
    "127.0.0.1:5000": {"auth": ")" +
               base64_encode("from:file") + R"("},
    "other.example.com": {"auth": ")" +
               base64_encode("plain:file") + R"("}}})");
  write(bin_dir() + "/answer", R"({"ServerURL": "127.0.0.1:5000", "Username": "kbaafi",
                                   "Secret": "from-helper"})");
  write(bin_dir() + "/answer.server", "127.0.0.1:5000");
  auto credentials = get("127.0.0.1:5000");
  ASSERT_TRUE(credentials.has_value());
  EXPECT_EQ(credentials->username, "kbaafi");
  EXPECT_EQ(credentials->password, "from-helper");
  // The other server is not the helper's.
  EXPECT_EQ(get("other.example.com")->username, "plain");

  store("127.0.0.1:5000", {"kbaafi", "new-secret", ""});
  EXPECT_EQ(json::parse(read(bin_dir() + "/stored")),
            json::parse(R"({"ServerURL": "127.0.0.1:5000", "Username": "kbaafi",
                            "Secret": "new-secret"})"));
  // config.json keeps an empty entry for it, no secret.
  EXPECT_EQ(read_config()["auths"]["127.0.0.1:5000"], json::object());

  erase("127.0.0.1:5000");
  EXPECT_EQ(read(bin_dir() + "/erased"), "127.0.0.1:5000");
  EXPECT_FALSE(read_config()["auths"].contains("127.0.0.1:5000"));
}

TEST_F(CredentialsTest, CredsStoreKeepsEveryServersCredentials) {
  write_config(R"({"credsStore": "test"})");
  write(bin_dir() + "/answer", R"({"ServerURL": "https://index.docker.io/v1/",
                                   "Username": "<token>", "Secret": "identity"})");
  write(bin_dir() + "/answer.server", "https://index.docker.io/v1/");
  auto hub = get("docker.io");
  ASSERT_TRUE(hub.has_value());
  EXPECT_EQ(hub->username, "");
  EXPECT_EQ(hub->identity_token, "identity");
  // "credentials not found in native keychain" is no credentials.
  EXPECT_EQ(get("127.0.0.1:5000"), std::nullopt);

  store("docker.io", {"", "", "identity-2"});
  EXPECT_EQ(json::parse(read(bin_dir() + "/stored")),
            json::parse(R"({"ServerURL": "https://index.docker.io/v1/", "Username": "<token>",
                            "Secret": "identity-2"})"));
}

TEST_F(CredentialsTest, FailingHelperSaysWhatItPrinted) {
  write_config(R"({"credsStore": "broken"})");
  EXPECT_EQ(get_error("127.0.0.1:5000"),
            "docker-credential-broken get: exited with status 3: the keychain is locked");
  auto stored = CredentialStore(config_path()).store("127.0.0.1:5000", {"u", "p", ""});
  ASSERT_FALSE(stored.has_value());
  EXPECT_EQ(stored.error().message(),
            "docker-credential-broken store: exited with status 3: the keychain is locked");
  // Nothing was written: the helper did not take the credentials.
  EXPECT_EQ(read_config(), ordered_json::parse(R"({"credsStore": "broken"})"));
}

TEST_F(CredentialsTest, MissingHelperIsNamed) {
  write_config(R"({"credsStore": "absent"})");
  EXPECT_EQ(get_error("x"),
            "run docker-credential-absent get (looked up in PATH): No such file or directory");
}

TEST_F(CredentialsTest, HelperWithUnreadableAnswerIsNamed) {
  write(bin_dir() + "/answer", "not json");
  write(bin_dir() + "/answer.server", "x");
  auto credentials = CredentialHelper("test").get("x");
  ASSERT_FALSE(credentials.has_value());
  EXPECT_EQ(credentials.error().message(),
            "docker-credential-test get: its output is not a JSON object: not json");
}

}  // namespace
}  // namespace berth::registry
