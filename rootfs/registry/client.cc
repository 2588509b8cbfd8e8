#include "rootfs/registry/client.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <thread>

#include "rootfs/digest.h"

namespace berth::registry {
namespace {

// Tries of one request before its failure is final, and the back-off
// between them: 0.25 s, 0.5 s, 1 s, 2 s (a Retry-After up to kMaxRetryAfter
// replaces it).
constexpr int kAttempts = 5;
constexpr std::chrono::milliseconds kFirstBackOff{250};
constexpr std::chrono::seconds kMaxRetryAfter{30};
// Reconnections of one blob download after dropped connections.
constexpr int kMaxResumes = 5;

bool worth_retrying(long status) { return status == 429 || status >= 500; }

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// How long to wait before try number attempt + 1.
std::chrono::milliseconds back_off(int attempt, const Response* response) {
  if (response) {
    std::string retry_after = response->header("retry-after");
    unsigned seconds = 0;
    auto [end, ec] = std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds);
    if (ec == std::errc() && end == retry_after.data() + retry_after.size() && !retry_after.empty()) {
      return std::min<std::chrono::milliseconds>(std::chrono::seconds(seconds), kMaxRetryAfter);
    }
  }
  return kFirstBackOff * (1 << attempt);
}

void set_header(Request& request, std::string_view name, const std::string& line) {
  std::erase_if(request.headers, [&](const std::string& header) {
    return header.size() > name.size() && header[name.size()] == ':' &&
           std::equal(name.begin(), name.end(), header.begin(),
                      [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  });
  if (!line.empty()) request.headers.push_back(line);
}

const Response& response_of(const Response& response) { return response; }
const Response& response_of(const Download& download) { return download.response(); }

// One request (transfer() makes it) until it succeeds, fails for good or
// runs out of tries: a transient transfer failure, a 5xx and a 429 are
// tried again after the back-off. at_once(response) is asked first of each
// answer: true means "make it again now, not counted as a try" (a 401 whose
// challenge was answered).
template <typename Transfer, typename AtOnce>
auto with_retries(int tries, Transfer transfer, AtOnce at_once) -> decltype(transfer()) {
  for (int attempt = 0;; ++attempt) {
    auto answer = transfer();
    bool last = attempt + 1 >= tries;
    if (!answer) {
      if (!is_transient(answer.error()) || last) return answer;
      std::this_thread::sleep_for(back_off(attempt, nullptr));
      continue;
    }
    const Response& response = response_of(*answer);
    Result<bool> again = at_once(response);
    if (!again) return unexpected(std::move(again.error()));
    if (*again) {
      --attempt;
      continue;
    }
    if (worth_retrying(response.status) && !last) {
      std::this_thread::sleep_for(back_off(attempt, &response));
      continue;
    }
    return answer;
  }
}

// A blob or manifest fetch that the registry answered with anything but
// success. errno tells the caller what kind of refusal it was: EACCES
// (unauthorized, denied), ENOENT (unknown), EIO (anything else).
Error fetch_error(const Response& response, const std::string& what, int tries) {
  int kind = response.status == 401 || response.status == 403 ? EACCES : response.status == 404 ? ENOENT : EIO;
  std::string detail = registry_error(response);
  // A 5xx or 429 that was retried until the tries ran out: the registry's
  // error text ("unknown: ...") says neither the status nor that berth
  // did not give up at the first.
  if (worth_retrying(response.status) && tries > 1) {
    detail += detail.starts_with("HTTP ") ? fmt::format(" (gave up after {} tries)", tries)
                                          : fmt::format(" (HTTP {}, gave up after {} tries)", response.status, tries);
  }
  return Error(fmt::format("{}: {}", what, detail), kind);
}

}  // namespace

std::string describe(const Endpoint& endpoint, const std::string& repository, const std::string& reference) {
  std::string separator = reference.starts_with("sha256:") ? "@" : ":";
  return fmt::format("{}/{}{}{}", url_host(endpoint.url), repository, separator, reference);
}

Client::Client(Endpoint endpoint, std::string repository, std::string access,
               std::optional<Credentials> credentials)
    : endpoint_(std::move(endpoint)),
      repository_(std::move(repository)),
      scopes_(repository_.empty() ? std::vector<std::string>() : std::vector{repository_scope(repository_, access)}),
      http_(endpoint_.tls),
      authenticator_(std::move(credentials)) {}

// A mirror gets one try: when it fails, the next endpoint is the better bet.
int Client::attempts() const { return endpoint_.mirror ? 1 : kAttempts; }

std::string Client::url(const std::string& path) const {
  return fmt::format("{}/v2/{}/{}", endpoint_.url, repository_, path);
}

void Client::authorize(Request& request) const {
  set_header(request, "Authorization", authenticator_.authorization(scopes_));
}

Result<bool> Client::answer_challenge(const Response& response, const Request& request, bool& answered) {
  if (response.status != 401 || answered) return false;
  TRY_CTX(authenticator_.answer(response, scopes_, http_), "{} {}", request.method, request.url);
  answered = true;
  return true;
}

Result<Response> Client::send(Request request) {
  bool answered = false;
  return with_retries(
      attempts(), [&] { authorize(request); return http_.perform(request); },
      [&](const Response& response) { return answer_challenge(response, request, answered); });
}

Result<Download> Client::open(Request request) {
  bool answered = false;
  Download download = TRY_VALUE(with_retries(
      attempts(), [&] { authorize(request); return http_.open(request); },
      [&](const Response& response) { return answer_challenge(response, request, answered); }));
  if (is_redirect(download.response().status)) return open_redirect(request, download.response());
  return download;
}

// A registry may send blobs from elsewhere (a CDN, S3). The credentials
// stay with the registry: the redirect's request carries them only if it
// goes back to the same host.
Result<Download> Client::open_redirect(const Request& request, const Response& redirect) {
  std::string location = redirect.header("location");
  if (location.empty()) return make_error("{} {}: HTTP {} without a Location", request.method, request.url, redirect.status);
  Request followed = request;
  followed.url = TRY_VALUE(resolve_url(request.url, location));
  if (url_host(followed.url) != url_host(endpoint_.url)) set_header(followed, "Authorization", "");
  Http http(url_host(followed.url) == url_host(endpoint_.url) ? endpoint_.tls : Tls{});
  Download download = TRY_VALUE(with_retries(
      kAttempts, [&] { return http.open(followed); }, [](const Response&) -> Result<bool> { return false; }));
  if (is_redirect(download.response().status)) {
    return make_error("{} {}: redirected again, to {}", request.method, followed.url,
                      download.response().header("location"));
  }
  return download;
}

Result<Response> Client::ping() { return send(Request{.url = endpoint_.url + "/v2/"}); }

Result<Manifest> Client::get_manifest(const std::string& reference) {
  Request request{.url = url("manifests/" + reference), .max_body = kMaxManifestBytes};
  request.headers.push_back(fmt::format("Accept: {}, {}, {}, {}", kOciIndex, kDockerManifestList, kOciManifest,
                                        kDockerManifest));
  std::string what = "manifest for " + describe(endpoint_, repository_, reference);
  Response response = TRY_VALUE(send(std::move(request)));
  if (response.status != 200) return fetch_error(response, what, attempts());
  Manifest manifest;
  manifest.bytes = std::move(response.body);
  manifest.digest = image::sha256_digest(manifest.bytes);
  if (reference.starts_with("sha256:") && manifest.digest != reference) {
    return make_error("{}: the registry sent content with digest {}", what, manifest.digest);
  }
  manifest.document = nlohmann::json::parse(manifest.bytes, nullptr, false);
  if (!manifest.document.is_object()) return make_error("{}: not a JSON object", what);
  std::string content_type = response.header("content-type");
  content_type = content_type.substr(0, content_type.find(';'));
  auto declared = manifest.document.find("mediaType");
  manifest.media_type = declared != manifest.document.end() && declared->is_string()
                            ? declared->get<std::string>()
                            : content_type;
  for (const char* known : {kOciIndex, kDockerManifestList, kOciManifest, kDockerManifest}) {
    if (manifest.media_type == known) return manifest;
  }
  return make_error("{}: unsupported manifest type \"{}\"", what, manifest.media_type);
}

Result<Download> Client::open_blob_at(const Descriptor& blob, uint64_t offset) {
  Request request{.url = url("blobs/" + blob.digest), .max_body = 1 << 20};
  if (offset > 0) request.headers.push_back(fmt::format("Range: bytes={}-", offset));
  Download download = TRY_VALUE(open(std::move(request)));
  long status = download.response().status;
  if (status != 200 && status != 206) {
    return fetch_error(download.response(), "blob " + describe(endpoint_, repository_, blob.digest), attempts());
  }
  return download;
}

Result<std::string> Client::get_blob(const Descriptor& blob, size_t max_size) {
  std::string what = "blob " + describe(endpoint_, repository_, blob.digest);
  if (blob.size > max_size) return make_error("{}: {} bytes, over the bound of {}", what, blob.size, max_size);
  BlobStream stream = TRY_VALUE(open_blob(blob));
  std::string bytes;
  for (;;) {
    auto block = TRY_VALUE(stream.next());
    if (block.empty()) break;
    bytes.append(reinterpret_cast<const char*>(block.data()), block.size());
  }
  if (std::string digest = image::sha256_digest(bytes); digest != blob.digest) {
    return make_error("{}: the registry sent content with digest {}", what, digest);
  }
  return bytes;
}

Result<BlobStream> Client::open_blob(const Descriptor& blob) {
  if (!image::is_sha256_digest(blob.digest)) return make_error("blob digest \"{}\" is not sha256", blob.digest);
  Download download = TRY_VALUE(open_blob_at(blob, 0));
  return BlobStream(*this, blob, std::move(download));
}

Result<std::span<const std::byte>> BlobStream::next() {
  std::string what = "blob " + describe(client_->endpoint_, client_->repository_, blob_.digest);
  for (;;) {
    auto block = download_.next();
    if (!block) {
      if (!is_transient(block.error()) || resumes_ >= kMaxResumes) return block;
      TRY(resume());
      continue;
    }
    std::span<const std::byte> bytes = *block;
    if (skip_ > 0) {
      if (bytes.empty()) return make_error("{}: shorter when resumed than before", what);
      size_t dropped = static_cast<size_t>(std::min<uint64_t>(skip_, bytes.size()));
      skip_ -= dropped;
      bytes = bytes.subspan(dropped);
      if (bytes.empty()) continue;
    }
    received_ += bytes.size();
    if (received_ > blob_.size) return make_error("{}: longer than the {} bytes its descriptor says", what, blob_.size);
    if (bytes.empty() && received_ < blob_.size) {
      return make_error("{}: ended after {} of {} bytes", what, received_, blob_.size);
    }
    return bytes;
  }
}

Status BlobStream::resume() {
  ++resumes_;
  std::this_thread::sleep_for(back_off(resumes_ - 1, nullptr));
  download_ = TRY_VALUE(client_->open_blob_at(blob_, received_));
  // A registry that ignores Range sends the blob from its start again. One
  // that answers 206 says in Content-Range where its part starts, and that
  // need not be where we asked: taking it for received_ unread would splice
  // the wrong bytes in (caught by the digest, but as a failed pull). Bytes
  // before received_ are dropped as repeats; a part that starts after it
  // leaves a hole, and is refused.
  uint64_t start = 0;
  if (download_.response().status == 206) {
    start = received_;  // no (readable) Content-Range: trust it honoured ours
    std::string range = download_.response().header("content-range");
    if (range.starts_with("bytes ")) {
      auto [end, ec] = std::from_chars(range.data() + 6, range.data() + range.size(), start);
      if (ec != std::errc() || end == range.data() + range.size() || *end != '-') start = received_;
    }
    if (start > received_) {
      return make_error("blob {}: resumed from byte {}, not {} (Content-Range: {})",
                        describe(client_->endpoint_, client_->repository_, blob_.digest), start, received_, range);
    }
  }
  skip_ = received_ - start;
  return ok();
}

// Pushing: new functions only, below this line.

namespace {

// An upload step the registry refused: EACCES for unauthorized or denied
// (a pull-only user), EIO otherwise.
Error push_error(const Response& response, const std::string& what) {
  int kind = response.status == 401 || response.status == 403 ? EACCES : EIO;
  // A token without push (a pull-only user): distribution answers 401
  // insufficient_scope where Docker says the access is denied.
  if (response.status == 401 && response.header("www-authenticate").find("insufficient_scope") != std::string::npos)
    return Error(fmt::format("{}: denied: requested access to the resource is denied", what), EACCES);
  return Error(fmt::format("{}: {}", what, registry_error(response)), kind);
}

}  // namespace

std::string with_digest(const std::string& upload_url, const std::string& digest) {
  std::string url = upload_url.substr(0, upload_url.find('#'));
  if (url.find('?') == std::string::npos) {
    url += '?';
  } else if (!url.ends_with('?') && !url.ends_with('&')) {
    url += '&';
  }
  return url + "digest=" + url_encode(digest);
}

void Client::add_scope(const std::string& scope) {
  if (std::find(scopes_.begin(), scopes_.end(), scope) == scopes_.end()) scopes_.push_back(scope);
}

Result<bool> Client::has_blob(const std::string& digest) {
  Response response = TRY_VALUE(send(Request{.method = "HEAD", .url = url("blobs/" + digest)}));
  if (response.status == 200) return true;
  if (response.status == 404) return false;
  return push_error(response, "HEAD blob " + describe(endpoint_, repository_, digest));
}

Result<std::optional<std::string>> Client::start_upload(const std::string& digest, const std::string& mount_from) {
  std::string target = url("blobs/uploads/");
  if (!mount_from.empty()) target += "?mount=" + url_encode(digest) + "&from=" + url_encode(mount_from);
  Response response = TRY_VALUE(send(Request{.method = "POST", .url = target}));
  std::string what = fmt::format("start an upload to {}/{}", url_host(endpoint_.url), repository_);
  if (response.status == 201 && !mount_from.empty()) return std::optional<std::string>();
  if (response.status != 202) return push_error(response, what);
  std::string location = response.header("location");
  if (location.empty()) return make_error("{}: HTTP 202 without a Location", what);
  return std::optional<std::string>(TRY_VALUE(resolve_url(target, location)));
}

Status Client::put_blob(const std::string& upload_url, const Descriptor& blob, const BodySource& source) {
  Request request{.method = "PUT", .url = with_digest(upload_url, blob.digest), .source = source,
                  .source_size = blob.size};
  request.headers.push_back("Content-Type: application/octet-stream");
  Response response = TRY_VALUE(send(std::move(request)));
  if (response.status != 201) return push_error(response, "upload blob " + describe(endpoint_, repository_, blob.digest));
  std::string stored = response.header("docker-content-digest");
  if (!stored.empty() && stored != blob.digest)
    return make_error("upload blob {}: the registry stored it as {}", blob.digest, stored);
  return ok();
}

Result<std::string> Client::put_manifest(const std::string& tag, const std::string& media_type,
                                         const std::string& bytes) {
  Request request{.method = "PUT", .url = url("manifests/" + tag), .body = bytes};
  request.headers.push_back("Content-Type: " + media_type);
  Response response = TRY_VALUE(send(std::move(request)));
  std::string digest = image::sha256_digest(bytes);
  if (response.status != 201) return push_error(response, "manifest for " + describe(endpoint_, repository_, tag));
  std::string stored = response.header("docker-content-digest");
  if (!stored.empty() && stored != digest)
    return make_error("manifest for {}: the registry stored it as {}", describe(endpoint_, repository_, tag), stored);
  return digest;
}

}  // namespace berth::registry
