// The registry fixture itself (tests/support/registry.h): in each set-up,
// skopeo pushes an image and reads back the same bytes; the authenticated
// set-ups challenge, refuse wrong credentials and, with tokens, enforce a
// pull-only user; and nothing of a registry is left once its owner is gone,
// even when the test process dies without cleaning up.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "support/files.h"
#include "support/process.h"
#include "support/registry.h"
#include "support/temp_dir.h"

namespace berth::test {
namespace {

struct HttpAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  ProcessResult curl;  // for messages
};

// GET with the curl CLI, trusting the registry's CA; extra: more curl flags
// (credentials, say).
HttpAnswer http_get(const RegistryServer& registry, const std::string& url,
                    const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {"/usr/bin/curl", "-s", "-i", "--max-time", "10",
                                   "--noproxy",     "*"};
  if (registry.tls()) argv.insert(argv.end(), {"--cacert", registry.ca_file()});
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  HttpAnswer answer;
  answer.curl = run_process(argv);
  std::string::size_type end_of_headers = answer.curl.out.find("\r\n\r\n");
  if (end_of_headers == std::string::npos) return answer;
  answer.body = answer.curl.out.substr(end_of_headers + 4);
  std::vector<std::string> lines = split_lines(answer.curl.out.substr(0, end_of_headers));
  if (lines.empty()) return answer;
  answer.status = std::stoi(lines[0].substr(lines[0].find(' ') + 1));
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string line = lines[i];
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string::size_type colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    answer.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  return answer;
}

std::ostream& operator<<(std::ostream& os, const HttpAnswer& answer) { return os << answer.curl; }

// The digest index.json of a layout names for its (only) tag.
std::string layout_digest(const std::string& layout_dir) {
  nlohmann::json index = nlohmann::json::parse(read_file(layout_dir + "/index.json"));
  return index["manifests"].at(0)["digest"];
}

class RegistryRoundTripTest : public ::testing::TestWithParam<RegistryMode> {
 protected:
  TempDir work_{"berth-registry-test"};
};

TEST_P(RegistryRoundTripTest, SkopeoPushesALayoutAndReadsBackTheSameBytes) {
  RegistryServer registry = RegistryServer::start(GetParam());
  OciLayout layout = make_oci_layout(work_ / "layout", "v1", {.variant = to_string(GetParam())});
  ProcessResult pushed =
      skopeo_push(registry, layout.dir, layout.tag, "berth/fixture:v1", registry.credentials());
  ASSERT_TRUE(pushed.succeeded()) << pushed;

  ProcessResult manifest =
      skopeo_inspect_manifest(registry, "berth/fixture:v1", registry.credentials());
  ASSERT_TRUE(manifest.succeeded()) << manifest;
  EXPECT_EQ(manifest.out, read_file(oci_blob_path(layout.dir, layout.digest)));
  ProcessResult config =
      skopeo_inspect_config(registry, "berth/fixture:v1", registry.credentials());
  ASSERT_TRUE(config.succeeded()) << config;
  EXPECT_EQ(config.out, read_file(oci_blob_path(layout.dir, layout.images.at(0).config)));

  std::string copy = work_ / "copy";
  ProcessResult pulled =
      skopeo_pull(registry, "berth/fixture:v1", copy, "v1", registry.credentials());
  ASSERT_TRUE(pulled.succeeded()) << pulled;
  EXPECT_EQ(layout_digest(copy), layout.digest);
  for (const std::string& layer : layout.images.at(0).layers)
    EXPECT_EQ(read_file(oci_blob_path(copy, layer)), read_file(oci_blob_path(layout.dir, layer)))
        << layer;
  // The blobs are in the registry's storage, under its root.
  EXPECT_TRUE(path_exists(registry.root_dir() + "/docker/registry/v2/repositories/berth/fixture"));
  EXPECT_NE(registry.access_log().find("\"PUT /v2/berth/fixture/manifests/v1 HTTP/1.1\" 201"),
            std::string::npos)
      << registry.access_log();
}

INSTANTIATE_TEST_SUITE_P(EachMode, RegistryRoundTripTest,
                         ::testing::Values(RegistryMode::kAnonymous, RegistryMode::kBasicTls,
                                           RegistryMode::kToken),
                         [](const auto& info) {
                           std::string name = to_string(info.param);
                           std::erase(name, '-');
                           return name;
                         });

TEST(RegistryFixtureTest, AnImageIndexOfTwoPlatformsTravelsWhole) {
  TempDir work("berth-registry-test");
  RegistryServer registry = RegistryServer::start(RegistryMode::kAnonymous);
  OciLayout layout = make_oci_layout(work / "layout", "multi", {.multi_platform = true});
  ASSERT_EQ(layout.images.size(), 2u);
  EXPECT_EQ(layout.images[0].platform, "linux/amd64");
  EXPECT_EQ(layout.images[1].platform, "linux/arm64");
  EXPECT_EQ(layout.media_type, "application/vnd.oci.image.index.v1+json");

  ProcessResult pushed =
      skopeo_push(registry, layout.dir, layout.tag, "berth/multi:1", std::nullopt);
  ASSERT_TRUE(pushed.succeeded()) << pushed;
  ProcessResult index = skopeo_inspect_manifest(registry, "berth/multi:1", std::nullopt);
  ASSERT_TRUE(index.succeeded()) << index;
  EXPECT_EQ(index.out, read_file(oci_blob_path(layout.dir, layout.digest)));
  for (const OciImageDigests& image : layout.images) {
    ProcessResult manifest =
        skopeo_inspect_manifest(registry, "berth/multi@" + image.manifest, std::nullopt);
    ASSERT_TRUE(manifest.succeeded()) << manifest;
    EXPECT_EQ(manifest.out, read_file(oci_blob_path(layout.dir, image.manifest))) << image.platform;
  }
  ProcessResult pulled = skopeo_pull(registry, "berth/multi:1", work / "copy", "1", std::nullopt);
  ASSERT_TRUE(pulled.succeeded()) << pulled;
  EXPECT_EQ(layout_digest(work / "copy"), layout.digest);
}

TEST(RegistryFixtureTest, TheSameArgumentsMakeTheSameDigests) {
  TempDir work("berth-registry-test");
  OciLayout first = make_oci_layout(work / "first", "v1", {.variant = "a"});
  OciLayout again = make_oci_layout(work / "again", "v1", {.variant = "a"});
  OciLayout other = make_oci_layout(work / "other", "v1", {.variant = "b"});
  EXPECT_EQ(first.digest, again.digest);
  EXPECT_NE(first.digest, other.digest);
}

TEST(RegistryFixtureTest, BasicTlsChallengesRefusesWrongCredentialsAndNeedsItsCa) {
  RegistryServer registry = RegistryServer::start(RegistryMode::kBasicTls);
  ASSERT_TRUE(registry.tls());
  EXPECT_EQ(registry.url(), "https://" + registry.host());
  EXPECT_EQ(read_file(registry.cert_dir() + "/ca.crt"), read_file(registry.ca_file()));

  HttpAnswer anonymous = http_get(registry, registry.url() + "/v2/");
  EXPECT_EQ(anonymous.status, 401) << anonymous;
  EXPECT_EQ(anonymous.headers["www-authenticate"], "Basic realm=\"berth test registry\"")
      << anonymous;
  HttpAnswer wrong = http_get(registry, registry.url() + "/v2/",
                              {"-u", registry.username() + ":not-" + registry.password()});
  EXPECT_EQ(wrong.status, 401) << wrong;
  HttpAnswer right = http_get(registry, registry.url() + "/v2/",
                              {"-u", registry.username() + ":" + registry.password()});
  EXPECT_EQ(right.status, 200) << right;
  ASSERT_EQ(registry.users().size(), 1u);
  EXPECT_EQ(registry.username(), "berth-test");

  RegistryServer two_users = RegistryServer::start(
      RegistryMode::kBasicTls, {.users = {{"alice", "alice-secret"}, {"bob", "bob-secret"}}});
  for (const char* login : {"alice:alice-secret", "bob:bob-secret"}) {
    HttpAnswer user = http_get(two_users, two_users.url() + "/v2/", {"-u", login});
    EXPECT_EQ(user.status, 200) << user;
  }

  // Without the fixture's CA the certificate is not trusted, and it is
  // valid for 127.0.0.1 and localhost.
  ProcessResult untrusted =
      run_process({"/usr/bin/curl", "-s", "--noproxy", "*", registry.url() + "/v2/"});
  EXPECT_EQ(untrusted.exit_code, 60) << untrusted;  // CURLE_PEER_FAILED_VERIFICATION
  HttpAnswer by_name =
      http_get(registry, "https://localhost:" + std::to_string(registry.port()) + "/v2/");
  EXPECT_EQ(by_name.status, 401) << by_name;

  TempDir work("berth-registry-test");
  OciLayout layout = make_oci_layout(work / "layout", "v1");
  ProcessResult refused = skopeo_push(registry, layout.dir, layout.tag, "berth/basic:v1",
                                      RegistryCredentials{registry.username(), "wrong"});
  EXPECT_FALSE(refused.succeeded()) << refused;
  EXPECT_NE(refused.err.find("unauthorized"), std::string::npos) << refused;
  ProcessResult anonymous_push =
      skopeo_push(registry, layout.dir, layout.tag, "berth/basic:v1", std::nullopt);
  EXPECT_FALSE(anonymous_push.succeeded()) << anonymous_push;
}

TEST(RegistryFixtureTest, TokenModeChallengesWithTheRealmAndRefusesWrongCredentials) {
  RegistryServer registry = RegistryServer::start(RegistryMode::kToken);
  EXPECT_FALSE(registry.tls());
  HttpAnswer anonymous = http_get(registry, registry.url() + "/v2/");
  EXPECT_EQ(anonymous.status, 401) << anonymous;
  EXPECT_EQ(anonymous.headers["www-authenticate"], "Bearer realm=\"" + registry.token_realm() +
                                                       "\",service=\"" +
                                                       RegistryServer::kTokenService + "\"")
      << anonymous;

  std::string token_url = registry.token_realm() + "?service=" + RegistryServer::kTokenService +
                          "&scope=repository:berth/token:pull,push";
  HttpAnswer wrong = http_get(registry, token_url, {"-u", registry.username() + ":wrong"});
  EXPECT_EQ(wrong.status, 401) << wrong;
  HttpAnswer granted =
      http_get(registry, token_url, {"-u", registry.username() + ":" + registry.password()});
  ASSERT_EQ(granted.status, 200) << granted;
  nlohmann::json token = nlohmann::json::parse(granted.body);
  EXPECT_EQ(token["token"], token["access_token"]);
  EXPECT_EQ(token["expires_in"], 300);
  // The token opens /v2/ itself.
  HttpAnswer with_token =
      http_get(registry, registry.url() + "/v2/",
               {"-H", "Authorization: Bearer " + token["token"].get<std::string>()});
  EXPECT_EQ(with_token.status, 200) << with_token;

  TempDir work("berth-registry-test");
  OciLayout layout = make_oci_layout(work / "layout", "v1");
  ProcessResult refused = skopeo_push(registry, layout.dir, layout.tag, "berth/token:v1",
                                      RegistryCredentials{registry.username(), "wrong"});
  EXPECT_FALSE(refused.succeeded()) << refused;
  // Anonymous requests get tokens granting nothing unless the test allows.
  ProcessResult anonymous_push =
      skopeo_push(registry, layout.dir, layout.tag, "berth/token:v1", std::nullopt);
  EXPECT_FALSE(anonymous_push.succeeded()) << anonymous_push;

  std::vector<TokenRequest> requests = registry.token_requests();
  ASSERT_GE(requests.size(), 4u);
  EXPECT_TRUE(requests[0].refused);
  EXPECT_EQ(requests[1].account, registry.username());
  EXPECT_EQ(requests[1].scopes, std::vector<std::string>{"repository:berth/token:pull,push"});
  EXPECT_EQ(requests[1].granted,
            R"([{"actions":["pull","push"],"name":"berth/token","type":"repository"}])");
  EXPECT_TRUE(requests[2].refused);
  EXPECT_EQ(requests.back().account, "");
  EXPECT_EQ(requests.back().granted, "[]");
}

TEST(RegistryFixtureTest, TokenModeKeepsAPullOnlyUserFromPushing) {
  RegistryServer registry = RegistryServer::start(
      RegistryMode::kToken, {.users = {{"writer", "writer-secret", {"pull", "push"}},
                                       {"reader", "reader-secret", {"pull"}}}});
  EXPECT_EQ(registry.username(), "writer");
  RegistryCredentials writer{"writer", "writer-secret"}, reader{"reader", "reader-secret"};
  TempDir work("berth-registry-test");
  OciLayout layout = make_oci_layout(work / "layout", "v1");
  OciLayout other = make_oci_layout(work / "other", "v1", {.variant = "other"});
  ProcessResult pushed = skopeo_push(registry, layout.dir, layout.tag, "berth/policy:v1", writer);
  ASSERT_TRUE(pushed.succeeded()) << pushed;

  ProcessResult denied = skopeo_push(registry, other.dir, other.tag, "berth/policy:v2", reader);
  EXPECT_FALSE(denied.succeeded()) << denied;
  EXPECT_NE(denied.err.find("denied"), std::string::npos) << denied;
  ProcessResult read = skopeo_inspect_manifest(registry, "berth/policy:v1", reader);
  ASSERT_TRUE(read.succeeded()) << read;
  EXPECT_EQ(read.out, read_file(oci_blob_path(layout.dir, layout.digest)));
  ProcessResult anonymous = skopeo_inspect_manifest(registry, "berth/policy:v1", std::nullopt);
  EXPECT_FALSE(anonymous.succeeded()) << anonymous;

  bool reader_granted_only_pull = false;
  for (const TokenRequest& request : registry.token_requests())
    if (request.account == "reader" &&
        request.granted == R"([{"actions":["pull"],"name":"berth/policy","type":"repository"}])")
      reader_granted_only_pull = true;
  EXPECT_TRUE(reader_granted_only_pull);
}

TEST(RegistryFixtureTest, TokenModeGrantsAnonymousPullWhenAllowed) {
  RegistryServer registry =
      RegistryServer::start(RegistryMode::kToken, {.anonymous_actions = {"pull"}});
  TempDir work("berth-registry-test");
  OciLayout layout = make_oci_layout(work / "layout", "v1");
  ProcessResult pushed =
      skopeo_push(registry, layout.dir, layout.tag, "berth/public:v1", registry.credentials());
  ASSERT_TRUE(pushed.succeeded()) << pushed;
  ProcessResult read = skopeo_inspect_manifest(registry, "berth/public:v1", std::nullopt);
  ASSERT_TRUE(read.succeeded()) << read;
  EXPECT_EQ(read.out, read_file(oci_blob_path(layout.dir, layout.digest)));
  OciLayout other = make_oci_layout(work / "other", "v1", {.variant = "other"});
  ProcessResult anonymous_push =
      skopeo_push(registry, other.dir, other.tag, "berth/public:v2", std::nullopt);
  EXPECT_FALSE(anonymous_push.succeeded()) << anonymous_push;
}

// The token server then speaks HTTPS with the registry's certificate.
TEST(RegistryFixtureTest, TokenModeOverTls) {
  RegistryServer registry = RegistryServer::start(RegistryMode::kToken, {.tls = true});
  ASSERT_TRUE(registry.tls());
  EXPECT_EQ(registry.token_realm().rfind("https://127.0.0.1:", 0), 0u) << registry.token_realm();
  TempDir work("berth-registry-test");
  OciLayout layout = make_oci_layout(work / "layout", "v1");
  ProcessResult pushed =
      skopeo_push(registry, layout.dir, layout.tag, "berth/tls-token:v1", registry.credentials());
  ASSERT_TRUE(pushed.succeeded()) << pushed;
  ProcessResult read =
      skopeo_inspect_manifest(registry, "berth/tls-token:v1", registry.credentials());
  ASSERT_TRUE(read.succeeded()) << read;
  EXPECT_EQ(read.out, read_file(oci_blob_path(layout.dir, layout.digest)));
}

// A registry that speaks only HTTPS: plain HTTP to it gets no registry answer.
TEST(RegistryFixtureTest, AnonymousOverTlsSpeaksOnlyHttps) {
  RegistryServer registry = RegistryServer::start(RegistryMode::kAnonymous, {.tls = true});
  HttpAnswer https = http_get(registry, registry.url() + "/v2/");
  EXPECT_EQ(https.status, 200) << https;
  HttpAnswer http = http_get(registry, "http://" + registry.host() + "/v2/");
  EXPECT_EQ(http.status, 400) << http;  // Go's answer to plain HTTP on a TLS port
  EXPECT_EQ(http.headers.count("docker-distribution-api-version"), 0u) << http;
}

class RegistryCleanupTest : public ::testing::TestWithParam<RegistryMode> {};

TEST_P(RegistryCleanupTest, NothingIsLeftOnceTheServerIsGone) {
  pid_t registry_pid = -1, token_server_pid = -1;
  std::string dir;
  {
    RegistryServer registry = RegistryServer::start(GetParam());
    registry_pid = registry.pid();
    token_server_pid = registry.token_server_pid();
    dir = registry.dir();
    ASSERT_TRUE(process_alive(registry_pid));
    ASSERT_EQ(process_alive(token_server_pid), GetParam() == RegistryMode::kToken);
  }
  EXPECT_FALSE(process_alive(registry_pid));
  EXPECT_FALSE(process_alive(token_server_pid));
  EXPECT_FALSE(path_exists(dir)) << dir;
}

// A test process that dies without unwinding (a crash, _exit) takes its
// registry and token server with it: they die with their parent. Its temp
// dir stays (nothing removes it), so this test does.
TEST_P(RegistryCleanupTest, TheServersDieWithATestThatDies) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  pid_t test_process = ::fork();
  ASSERT_GE(test_process, 0);
  if (test_process == 0) {
    read_end.reset();
    std::string started;
    try {
      RegistryServer registry = RegistryServer::start(GetParam());
      started = std::to_string(registry.pid()) + " " + std::to_string(registry.token_server_pid()) +
                " " + registry.dir();
      // Dies with the registry still owned: no destructor runs.
      ::_exit(::write(write_end.get(), started.data(), started.size()) < 0 ? 1 : 0);
    } catch (const std::exception& e) {
      started = std::string("error ") + e.what();
    }
    ::_exit(::write(write_end.get(), started.data(), started.size()) < 0 ? 1 : 2);
  }
  write_end.reset();
  std::string started;
  char buffer[4096];
  for (ssize_t n; (n = ::read(read_end.get(), buffer, sizeof buffer)) > 0;)
    started.append(buffer, n);
  int status = 0;
  ASSERT_EQ(::waitpid(test_process, &status, 0), test_process);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << started;

  std::istringstream fields(started);
  pid_t registry_pid = -1, token_server_pid = -1;
  std::string dir;
  fields >> registry_pid >> token_server_pid >> dir;
  ASSERT_GT(registry_pid, 0) << started;
  EXPECT_TRUE(eventually([&] { return !process_alive(registry_pid); }, 5s)) << registry_pid;
  EXPECT_TRUE(eventually([&] { return !process_alive(token_server_pid); }, 5s)) << token_server_pid;
  ASSERT_EQ(dir.rfind("/tmp/berth-registry-", 0), 0u) << dir;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(EachMode, RegistryCleanupTest,
                         ::testing::Values(RegistryMode::kAnonymous, RegistryMode::kBasicTls,
                                           RegistryMode::kToken),
                         [](const auto& info) {
                           std::string name = to_string(info.param);
                           std::erase(name, '-');
                           return name;
                         });

}  // namespace
}  // namespace berth::test
