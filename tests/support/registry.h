// A registry of the test's own: Debian's docker-registry (distribution 2.8)
// on 127.0.0.1 with its storage in a temp dir, in the three set-ups the
// registry client is tested against (anonymous over HTTP, htpasswd Basic
// auth over TLS, the registry's token auth with a token server of ours),
// and skopeo as the reference client that puts images into it and reads
// them back. Everything is killed and removed when the RegistryServer goes,
// and its processes die with the test should it crash.
#pragma once

#include <sys/types.h>

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace berth::test {

enum class RegistryMode {
  kAnonymous,  // plain HTTP, no auth
  kBasicTls,   // htpasswd Basic auth over TLS (a CA of the fixture's)
  kToken,      // `auth: token:`, tokens from tests/support/token_server.py
};
const char* to_string(RegistryMode mode);
// gtest prints a parameter by its name.
void PrintTo(RegistryMode mode, std::ostream* os);

struct RegistryCredentials {
  std::string username;
  std::string password;
};

struct RegistryUser {
  std::string name;
  std::string password;
  // What the token server grants this user on any repository (kToken):
  // "pull", "push", "delete", or "*" (everything, registry:catalog too).
  // kBasicTls cannot restrict: every htpasswd user may do everything.
  std::vector<std::string> actions = {"pull", "push"};
};

struct RegistryOptions {
  // HTTPS with the fixture's CA; by default only kBasicTls. (An anonymous
  // registry over TLS is one that speaks only HTTPS.)
  std::optional<bool> tls;
  // The users of kBasicTls and kToken; by default one, "berth-test" with a
  // random password, allowed pull and push.
  std::vector<RegistryUser> users;
  // kToken: what a token request without credentials is granted on any
  // repository (say {"pull"}); by default nothing.
  std::vector<std::string> anonymous_actions;
};

// One request the token server answered (kToken), in order.
struct TokenRequest {
  std::string account;              // "" for an anonymous request
  bool refused = false;             // wrong credentials: 401, no token
  std::vector<std::string> scopes;  // the scope parameters as sent
  std::string granted;              // the token's access claim (JSON)
};

class RegistryServer {
 public:
  // Makes the temp dir, certificates, htpasswd or token server and
  // config.yml, starts docker-registry on a free port and returns once
  // `GET /v2/` answers. Throws std::runtime_error saying which step failed
  // and what the registry (or openssl, htpasswd, the token server) printed.
  static RegistryServer start(RegistryMode mode, RegistryOptions options = {});

  RegistryServer(RegistryServer&&) noexcept = default;
  RegistryServer& operator=(RegistryServer&&) = delete;
  // Kills and reaps the registry and the token server, then removes the temp
  // dir (the storage root included).
  ~RegistryServer() = default;

  RegistryMode mode() const { return mode_; }
  bool tls() const { return !ca_file_.empty(); }
  int port() const { return port_; }
  std::string host() const;  // "127.0.0.1:PORT"
  std::string url() const;   // "http://127.0.0.1:PORT" or "https://..."
  // The registry's storage (rootdirectory), under dir().
  const std::string& root_dir() const { return root_dir_; }
  // The temp dir holding everything of this registry.
  const std::string& dir() const { return dir_.path(); }
  pid_t pid() const;  // the registry's
  // What the registry printed so far: its access log (one line a request,
  // Apache's combined format) and its errors (logrus lines, level error).
  std::string access_log() const;
  std::string error_log() const;

  // With TLS: the CA's certificate (PEM), and a directory holding only it as
  // ca.crt (skopeo's --*-cert-dir, the layout of Docker's certs.d/HOST/).
  // "" without TLS.
  const std::string& ca_file() const { return ca_file_; }
  const std::string& cert_dir() const { return cert_dir_; }

  // The first user (kBasicTls, kToken; "" for kAnonymous), and every user.
  const std::string& username() const;
  const std::string& password() const;
  const std::vector<RegistryUser>& users() const { return users_; }
  // The first user's credentials; nullopt for kAnonymous.
  std::optional<RegistryCredentials> credentials() const;

  // kToken: the challenge's realm (the token server's URL) and service, the
  // token server's pid, and what it has answered so far.
  const std::string& token_realm() const { return token_realm_; }
  static constexpr const char* kTokenService = "berth-test-registry";
  static constexpr const char* kTokenIssuer = "berth-test-token-issuer";
  pid_t token_server_pid() const;
  std::vector<TokenRequest> token_requests() const;

 private:
  RegistryServer(RegistryMode mode, TempDir dir) : mode_(mode), dir_(std::move(dir)) {}
  void make_tls_certificates();
  void write_htpasswd();
  void start_token_server(const RegistryOptions& options);
  void start_registry();

  RegistryMode mode_;
  // Declared before the processes, so removed after they are killed.
  TempDir dir_;
  std::string root_dir_, ca_file_, cert_dir_, tls_cert_, tls_key_;
  std::string htpasswd_file_, token_realm_, token_signing_cert_, token_log_;
  std::vector<RegistryUser> users_;
  int port_ = 0;
  // Optional: a BackgroundProcess cannot be assigned, only emplaced.
  std::optional<BackgroundProcess> token_server_;
  std::optional<BackgroundProcess> registry_;
};

// A small OCI image layout (tests/support/make_oci_layout.py): two gzip tar
// layers of a few files (the second whites one out), deterministic, so the
// same arguments give the same digests.
struct OciLayoutOptions {
  // Goes into a file of the first layer and a label of the config: images
  // with different variants have different digests.
  std::string variant;
  // An image index of two images, linux/amd64 and linux/arm64, instead of
  // one linux/amd64 image.
  bool multi_platform = false;
};

struct OciImageDigests {
  std::string platform;  // "linux/amd64"
  std::string manifest, config;
  std::vector<std::string> layers;  // compressed blobs, in order
};

struct OciLayout {
  std::string dir, tag;  // skopeo's oci:DIR:TAG
  // What index.json names for the tag: the image's manifest, or the index.
  std::string digest, media_type;
  std::vector<OciImageDigests> images;
};

// Writes the layout into dir (made if missing; an index.json there is
// replaced). Throws std::runtime_error if the script fails.
OciLayout make_oci_layout(const std::string& dir, const std::string& tag,
                          const OciLayoutOptions& options = {});
// The path of a blob ("sha256:...") in a layout.
std::string oci_blob_path(const std::string& layout_dir, const std::string& digest);

// skopeo as the reference client. `reference` is "REPOSITORY:TAG" (or
// "REPOSITORY@DIGEST") in the registry; `as` whom skopeo authenticates as
// (nullopt: anonymous, never the machine's auth files). TLS is verified
// against the registry's CA; plain HTTP is allowed only where the registry
// has no TLS.
//
// Pushes the whole layout (every image of an index), refusing to change a
// digest on the way.
ProcessResult skopeo_push(const RegistryServer& registry, const std::string& layout_dir,
                          const std::string& layout_tag, const std::string& reference,
                          const std::optional<RegistryCredentials>& as);
// Copies the image (every image of an index) into an OCI layout.
ProcessResult skopeo_pull(const RegistryServer& registry, const std::string& reference,
                          const std::string& layout_dir, const std::string& layout_tag,
                          const std::optional<RegistryCredentials>& as);
// The manifest (or index) exactly as the registry serves it, in out.
ProcessResult skopeo_inspect_manifest(const RegistryServer& registry, const std::string& reference,
                                      const std::optional<RegistryCredentials>& as);
// The config blob's bytes, in out (of the linux/amd64 image of an index).
ProcessResult skopeo_inspect_config(const RegistryServer& registry, const std::string& reference,
                                    const std::optional<RegistryCredentials>& as);

}  // namespace berth::test
