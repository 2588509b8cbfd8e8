// One repository of one registry endpoint, spoken to through the OCI
// distribution API: manifests, blobs, and (later) uploads. The client adds
// authentication (auth.h), retries what may succeed when tried again (a
// dropped connection, 5xx, 429 with its Retry-After), follows a blob's
// redirect without credentials when it leaves the registry's host, and
// checks every digest it is given against the bytes it reads.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "rootfs/registry/auth.h"
#include "rootfs/registry/http.h"

namespace berth::registry {

// Where a registry is reached.
struct Endpoint {
  std::string url;      // scheme://host[:port], no trailing slash
  Tls tls;
  bool mirror = false;  // a pull-through mirror of the registry, not it
};

// The media types of manifests berth reads.
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";

// Bounds on what is read into memory (containerd's, too).
inline constexpr size_t kMaxManifestBytes = 4 << 20;
inline constexpr size_t kMaxConfigBytes = 8 << 20;

struct Manifest {
  std::string media_type;  // from Content-Type, else the document's mediaType
  std::string digest;      // sha256 of bytes
  std::string bytes;       // exactly as served: the digest is of these
  nlohmann::json document;
};

struct Descriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
};

class BlobStream;

class Client {
 public:
  // access: "pull" or "pull,push", the scope asked of a token server. With
  // no repository, the client only pings (a login asks for no scope).
  Client(Endpoint endpoint, std::string repository, std::string access, std::optional<Credentials> credentials);

  const Endpoint& endpoint() const { return endpoint_; }
  const std::string& repository() const { return repository_; }

  // GET /v2/, authenticated: 200 when the registry takes our credentials.
  Result<Response> ping();
  // A manifest by tag or digest. By digest, its bytes must have that digest.
  Result<Manifest> get_manifest(const std::string& reference);
  // A small blob (a config) whole, its digest and size checked.
  Result<std::string> get_blob(const Descriptor& blob, size_t max_size);
  // A blob as a stream that resumes after a dropped connection. The caller
  // checks the digest (the extractor hashes what it reads); the stream
  // refuses to run past the descriptor's size.
  Result<BlobStream> open_blob(const Descriptor& blob);

  // Pushing (push.h). Asks tokens for this scope too from now on (a mount
  // needs "repository:FROM:pull" beside the push scope).
  void add_scope(const std::string& scope);
  // HEAD of a blob: whether the repository has it. Only a 404 is "no"; a
  // failure (5xx after the retries, no answer) is an error, never "no".
  Result<bool> has_blob(const std::string& digest);
  // POST /v2/<repo>/blobs/uploads/, with ?mount=<digest>&from=<repo> when
  // mount_from is set. nullopt: the registry mounted the blob (201);
  // otherwise the upload session's URL (its Location, resolved).
  Result<std::optional<std::string>> start_upload(const std::string& digest = "", const std::string& mount_from = "");
  // Finishes an upload session with one PUT of the whole blob; source is
  // copied for each try, so a retried PUT sends the blob from its start.
  Status put_blob(const std::string& upload_url, const Descriptor& blob, const BodySource& source);
  // PUT /v2/<repo>/manifests/<tag> of exactly these bytes; returns their
  // digest, checked against the registry's Docker-Content-Digest.
  Result<std::string> put_manifest(const std::string& tag, const std::string& media_type, const std::string& bytes);

 private:
  friend class BlobStream;
  std::string url(const std::string& path) const;
  int attempts() const;
  // A 401 not yet answered: answer its challenge (true: send again).
  Result<bool> answer_challenge(const Response& response, const Request& request, bool& answered);
  Result<Response> send(Request request);
  Result<Download> open(Request request);
  Result<Download> open_redirect(const Request& request, const Response& redirect);
  Result<Download> open_blob_at(const Descriptor& blob, uint64_t offset);
  // The request's Authorization header line, replaced by the current one.
  void authorize(Request& request) const;

  Endpoint endpoint_;
  std::string repository_;
  std::vector<std::string> scopes_;
  Http http_;
  Authenticator authenticator_;
};

// A blob's bytes, in blocks. After a transient failure it reopens the blob
// with a Range request from where it stopped (or, if the registry ignores
// Range, drops what it already had).
class BlobStream {
 public:
  BlobStream(Client& client, Descriptor blob, Download download)
      : client_(&client), blob_(std::move(blob)), download_(std::move(download)) {}

  // Empty at the end; an error if the blob is longer or shorter than its
  // descriptor says.
  Result<std::span<const std::byte>> next();
  uint64_t received() const { return received_; }

 private:
  Status resume();

  Client* client_;
  Descriptor blob_;
  Download download_;
  uint64_t received_ = 0;
  uint64_t skip_ = 0;  // bytes a resumed download repeats from before
  int resumes_ = 0;
};

// The upload URL with digest=<digest> added to its query (the registry's
// own query parameters, a session state, kept as they are).
std::string with_digest(const std::string& upload_url, const std::string& digest);

// The registry's "name:reference" in messages: "127.0.0.1:5000/x:1".
std::string describe(const Endpoint& endpoint, const std::string& repository, const std::string& reference);

}  // namespace berth::registry
