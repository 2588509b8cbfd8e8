#include "support/registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "core/unique_fd.h"
#include "support/files.h"

namespace berth::test {

namespace {

constexpr const char* kRegistryBinary = "/usr/bin/docker-registry";
constexpr const char* kOpenssl = "/usr/bin/openssl";
constexpr const char* kHtpasswd = "/usr/bin/htpasswd";
constexpr const char* kCurl = "/usr/bin/curl";
constexpr const char* kSkopeo = "/usr/bin/skopeo";
// Debian's python3, which has python3-jwt and python3-cryptography; the
// python3 first in PATH may be another one without them.
constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kSupportDir = BERTH_TEST_SUPPORT_DIR;

// How long a start may take on two loaded cores; it takes well under a
// second when they are idle.
constexpr auto kStartDeadline = 15s;

// Runs a step of the set-up; throws saying what was attempted and what the
// program printed if it fails.
ProcessResult run_step(const std::string& what, const std::vector<std::string>& argv,
                       const ProcessOptions& options = {}) {
  ProcessResult result = run_process(argv, options);
  if (!result.succeeded()) {
    std::ostringstream message;
    message << what << ": " << result;
    throw std::runtime_error(message.str());
  }
  return result;
}

// A port that was free a moment ago: the kernel picks it for a socket bound
// to port 0. The registry binds it after us, so another process may take it
// first; start_registry retries then.
int free_port() {
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 ||
      ::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&address), &length) < 0)
    throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(errno));
  return ntohs(address.sin_port);
}

bool accepts_connections(int port) {
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  return sock && ::connect(sock.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

// An EC P-256 key (instant to make, unlike RSA) and a certificate for it:
// self-signed, or signed by ca_cert/ca_key. Extra `-addext` values in
// extensions.
void make_certificate(const std::string& key, const std::string& cert, const std::string& subject,
                      const std::vector<std::string>& extensions, const std::string& ca_cert = "",
                      const std::string& ca_key = "") {
  std::vector<std::string> argv = {kOpenssl, "req",  "-x509", "-nodes", "-days",
                                   "2",      "-out", cert,    "-subj",  subject};
  argv.insert(argv.end(),
              {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-keyout", key});
  if (!ca_cert.empty()) argv.insert(argv.end(), {"-CA", ca_cert, "-CAkey", ca_key});
  for (const std::string& extension : extensions) argv.insert(argv.end(), {"-addext", extension});
  run_step("make the certificate " + cert + " with openssl", argv);
}

std::string yaml_quoted(const std::string& value) { return nlohmann::json(value).dump(); }

}  // namespace

const char* to_string(RegistryMode mode) {
  switch (mode) {
    case RegistryMode::kAnonymous:
      return "anonymous";
    case RegistryMode::kBasicTls:
      return "basic-tls";
    case RegistryMode::kToken:
      return "token";
  }
  return "unknown";
}

void PrintTo(RegistryMode mode, std::ostream* os) { *os << to_string(mode); }

RegistryServer RegistryServer::start(RegistryMode mode, RegistryOptions options) {
  RegistryServer server(mode, TempDir("berth-registry"));
  server.root_dir_ = server.dir_ / "storage";
  if (mode != RegistryMode::kAnonymous) {
    server.users_ = options.users;
    if (server.users_.empty()) server.users_.push_back({"berth-test", random_hex(16)});
  }
  if (options.tls.value_or(mode == RegistryMode::kBasicTls)) server.make_tls_certificates();
  if (mode == RegistryMode::kBasicTls) server.write_htpasswd();
  if (mode == RegistryMode::kToken) server.start_token_server(options);
  server.start_registry();
  return server;
}

std::string RegistryServer::host() const { return "127.0.0.1:" + std::to_string(port_); }

std::string RegistryServer::url() const { return (tls() ? "https://" : "http://") + host(); }

const std::string& RegistryServer::username() const {
  static const std::string none;
  return users_.empty() ? none : users_.front().name;
}

const std::string& RegistryServer::password() const {
  static const std::string none;
  return users_.empty() ? none : users_.front().password;
}

std::optional<RegistryCredentials> RegistryServer::credentials() const {
  if (users_.empty()) return std::nullopt;
  return RegistryCredentials{users_.front().name, users_.front().password};
}

pid_t RegistryServer::pid() const { return registry_ ? registry_->pid() : -1; }

std::string RegistryServer::access_log() const { return registry_ ? registry_->out() : ""; }

std::string RegistryServer::error_log() const { return registry_ ? registry_->err() : ""; }

pid_t RegistryServer::token_server_pid() const { return token_server_ ? token_server_->pid() : -1; }

std::vector<TokenRequest> RegistryServer::token_requests() const {
  std::vector<TokenRequest> requests;
  if (token_log_.empty()) return requests;
  for (const std::string& line : split_lines(read_file(token_log_))) {
    nlohmann::json entry = nlohmann::json::parse(line);
    TokenRequest request;
    if (entry["account"].is_string()) request.account = entry["account"];
    request.refused = entry.contains("refused");
    if (!request.refused) {
      request.scopes = entry["scopes"].get<std::vector<std::string>>();
      request.granted = entry["granted"].dump();
    }
    requests.push_back(std::move(request));
  }
  return requests;
}

void RegistryServer::make_tls_certificates() {
  std::string tls_dir = dir_ / "tls";
  cert_dir_ = dir_ / "ca";
  make_dirs(tls_dir, 0700);
  make_dirs(cert_dir_);
  ca_file_ = cert_dir_ + "/ca.crt";
  std::string ca_key = tls_dir + "/ca.key";
  make_certificate(ca_key, ca_file_, "/CN=berth test registry CA",
                   {"basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"});
  tls_key_ = tls_dir + "/server.key";
  tls_cert_ = tls_dir + "/server.crt";
  make_certificate(tls_key_, tls_cert_, "/CN=127.0.0.1",
                   {"subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "basicConstraints=critical,CA:FALSE", "extendedKeyUsage=serverAuth"},
                   ca_file_, ca_key);
}

void RegistryServer::write_htpasswd() {
  std::string lines;
  for (const RegistryUser& user : users_) {
    // bcrypt: the only hash docker-registry's htpasswd reader accepts.
    ProcessResult hashed = run_step("hash " + user.name + "'s password with htpasswd",
                                    {kHtpasswd, "-Bbn", user.name, user.password});
    // Its line, without the empty line htpasswd prints after it.
    lines += split_lines(hashed.out).at(0) + "\n";
  }
  htpasswd_file_ = dir_ / "htpasswd";
  write_file(htpasswd_file_, lines, 0600);
}

void RegistryServer::start_token_server(const RegistryOptions& options) {
  std::string signing_key = dir_ / "token-signer.key";
  token_signing_cert_ = dir_ / "token-signer.crt";
  // Self-signed: the registry's rootcertbundle holds this certificate
  // itself, and the token's x5c names it.
  make_certificate(signing_key, token_signing_cert_, "/CN=berth test token signer", {});

  nlohmann::json config = {{"issuer", kTokenIssuer},
                           {"service", kTokenService},
                           {"signing_key", signing_key},
                           {"signing_cert", token_signing_cert_},
                           {"expires_in", 300}};
  if (tls()) {
    config["tls_cert"] = tls_cert_;
    config["tls_key"] = tls_key_;
  }
  nlohmann::json policy = {{"users", nlohmann::json::object()},
                           {"anonymous_actions", options.anonymous_actions}};
  for (const RegistryUser& user : users_)
    policy["users"][user.name] = {{"password", user.password}, {"actions", user.actions}};
  std::string config_file = dir_ / "token-server.json";
  std::string policy_file = dir_ / "token-policy.json";
  token_log_ = dir_ / "token-requests.jsonl";
  write_file(config_file, config.dump());
  write_file(policy_file, policy.dump(), 0600);

  token_server_.emplace(
      BackgroundProcess::start({kPython, std::string(kSupportDir) + "/token_server.py", "--config",
                                config_file, "--policy", policy_file, "--log", token_log_},
                               {.die_with_parent = true}));
  // It prints its port once it listens.
  const std::string marker = "listening on ";
  bool listening = eventually(
      [&] {
        return token_server_->out().find('\n') != std::string::npos ||
               !process_alive(token_server_->pid());
      },
      kStartDeadline, 10ms);
  std::string out = token_server_->out();
  if (!listening || out.rfind(marker, 0) != 0) {
    std::ostringstream message;
    message << "start the token server: ";
    if (listening)
      message << "it exited: ";
    else
      message << "it printed no port within " << kStartDeadline.count() << " s: ";
    message << token_server_->wait(0ms);
    throw std::runtime_error(message.str());
  }
  token_realm_ = std::string(tls() ? "https" : "http") +
                 "://127.0.0.1:" + std::to_string(std::stoi(out.substr(marker.size()))) + "/token";
}

void RegistryServer::start_registry() {
  std::string config_file = dir_ / "config.yml";
  std::string last_failure;
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    std::ostringstream config;
    config << "version: 0.1\n"
           << "log:\n  level: error\n"
           << "storage:\n  filesystem:\n    rootdirectory: " << yaml_quoted(root_dir_) << "\n"
           << "  delete:\n    enabled: true\n"
           << "http:\n  addr: " << yaml_quoted(host()) << "\n";
    if (tls())
      config << "  tls:\n    certificate: " << yaml_quoted(tls_cert_)
             << "\n    key: " << yaml_quoted(tls_key_) << "\n";
    if (mode_ == RegistryMode::kBasicTls)
      config << "auth:\n  htpasswd:\n    realm: " << yaml_quoted("berth test registry")
             << "\n    path: " << yaml_quoted(htpasswd_file_) << "\n";
    if (mode_ == RegistryMode::kToken)
      config << "auth:\n  token:\n    realm: " << yaml_quoted(token_realm_)
             << "\n    service: " << yaml_quoted(kTokenService)
             << "\n    issuer: " << yaml_quoted(kTokenIssuer)
             << "\n    rootcertbundle: " << yaml_quoted(token_signing_cert_) << "\n";
    write_file(config_file, config.str());

    registry_.emplace(BackgroundProcess::start({kRegistryBinary, "serve", config_file},
                                               {.die_with_parent = true}));
    // Listening is not yet serving (TLS, auth set up): wait for an answer
    // to GET /v2/, asked once the port takes connections.
    std::vector<std::string> get = {kCurl,          "-s",         "-o", "/dev/null", "-w",
                                    "%{http_code}", "--max-time", "2",  "--noproxy", "*",
                                    url() + "/v2/"};
    if (tls()) get.insert(get.end() - 1, {"--cacert", ca_file_});
    ProcessResult answer;
    bool exited = false;
    bool serving = eventually(
        [&] {
          exited = !process_alive(registry_->pid());
          if (exited || !accepts_connections(port_)) return exited;
          answer = run_process(get);
          return answer.out == "200" || answer.out == "401";
        },
        kStartDeadline, 10ms);
    if (serving && !exited) return;
    std::ostringstream failure;
    if (exited)
      failure << "it exited: ";
    else if (answer.command.empty())
      failure << "nothing listened on " << host() << " within " << kStartDeadline.count() << " s: ";
    else
      failure << "GET /v2/ did not answer 200 or 401 within " << kStartDeadline.count()
              << " s (last: " << answer << "): ";
    failure << registry_->wait(0ms);
    last_failure = failure.str();
    // Another process took the port before the registry bound it.
    if (!exited || last_failure.find("address already in use") == std::string::npos) break;
  }
  throw std::runtime_error("start docker-registry (" + std::string(to_string(mode_)) + "): " +
                           last_failure + "\nits " + config_file + ":\n" + read_file(config_file));
}

OciLayout make_oci_layout(const std::string& dir, const std::string& tag,
                          const OciLayoutOptions& options) {
  make_dirs(dir);
  std::vector<std::string> argv = {kPython,     std::string(kSupportDir) + "/make_oci_layout.py",
                                   dir,         tag,
                                   "--variant", options.variant};
  if (options.multi_platform) argv.insert(argv.end(), {"--platforms", "linux/amd64,linux/arm64"});
  ProcessResult made = run_step("write an OCI layout into " + dir, argv);
  nlohmann::json summary = nlohmann::json::parse(made.out);
  OciLayout layout{dir, tag, summary["digest"], summary["media_type"], {}};
  for (const nlohmann::json& image : summary["images"])
    layout.images.push_back(
        {image["platform"], image["manifest"], image["config"], image["layers"]});
  return layout;
}

std::string oci_blob_path(const std::string& layout_dir, const std::string& digest) {
  std::string::size_type colon = digest.find(':');
  return layout_dir + "/blobs/" + digest.substr(0, colon) + "/" + digest.substr(colon + 1);
}

namespace {

// skopeo's flags to reach the registry as `as`; prefix "src-", "dest-" or
// "" (inspect).
std::vector<std::string> skopeo_registry_flags(const RegistryServer& registry,
                                               const std::string& prefix,
                                               const std::optional<RegistryCredentials>& as) {
  std::vector<std::string> flags;
  if (registry.tls())
    flags = {"--" + prefix + "cert-dir=" + registry.cert_dir(), "--" + prefix + "tls-verify=true"};
  else
    flags = {"--" + prefix + "tls-verify=false"};
  if (as)
    flags.push_back("--" + prefix + "creds=" + as->username + ":" + as->password);
  else
    flags.push_back("--" + prefix + "no-creds");
  return flags;
}

// --insecure-policy: the machine's signature policy (/etc/containers/policy.json)
// is not what these tests are about.
ProcessResult run_skopeo(const std::vector<std::string>& global_flags, const std::string& command,
                         const std::vector<std::string>& flags,
                         const std::vector<std::string>& operands) {
  std::vector<std::string> argv = {kSkopeo, "--insecure-policy"};
  argv.insert(argv.end(), global_flags.begin(), global_flags.end());
  argv.push_back(command);
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), operands.begin(), operands.end());
  return run_process(argv, {.timeout = 120s});
}

std::string docker_reference(const RegistryServer& registry, const std::string& reference) {
  return "docker://" + registry.host() + "/" + reference;
}

}  // namespace

ProcessResult skopeo_push(const RegistryServer& registry, const std::string& layout_dir,
                          const std::string& layout_tag, const std::string& reference,
                          const std::optional<RegistryCredentials>& as) {
  std::vector<std::string> flags = {"--all", "--preserve-digests"};
  for (const std::string& flag : skopeo_registry_flags(registry, "dest-", as))
    flags.push_back(flag);
  return run_skopeo(
      {}, "copy", flags,
      {"oci:" + layout_dir + ":" + layout_tag, docker_reference(registry, reference)});
}

ProcessResult skopeo_pull(const RegistryServer& registry, const std::string& reference,
                          const std::string& layout_dir, const std::string& layout_tag,
                          const std::optional<RegistryCredentials>& as) {
  std::vector<std::string> flags = {"--all", "--preserve-digests"};
  for (const std::string& flag : skopeo_registry_flags(registry, "src-", as)) flags.push_back(flag);
  return run_skopeo(
      {}, "copy", flags,
      {docker_reference(registry, reference), "oci:" + layout_dir + ":" + layout_tag});
}

ProcessResult skopeo_inspect_manifest(const RegistryServer& registry, const std::string& reference,
                                      const std::optional<RegistryCredentials>& as) {
  std::vector<std::string> flags = {"--raw"};
  for (const std::string& flag : skopeo_registry_flags(registry, "", as)) flags.push_back(flag);
  return run_skopeo({}, "inspect", flags, {docker_reference(registry, reference)});
}

ProcessResult skopeo_inspect_config(const RegistryServer& registry, const std::string& reference,
                                    const std::optional<RegistryCredentials>& as) {
  std::vector<std::string> flags = {"--config", "--raw"};
  for (const std::string& flag : skopeo_registry_flags(registry, "", as)) flags.push_back(flag);
  // From an index, the linux/amd64 image whatever the machine is.
  return run_skopeo({"--override-os", "linux", "--override-arch", "amd64"}, "inspect", flags,
                    {docker_reference(registry, reference)});
}

}  // namespace berth::test
