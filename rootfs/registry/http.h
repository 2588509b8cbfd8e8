// HTTP and TLS for the registry client, over libcurl.
//
// Two ways to make a request: perform() reads the whole answer into memory
// (manifests, tokens, upload steps: small, and bounded by max_body), open()
// streams it (blobs: a layer flows from the socket through its digest and
// the decompressor into the extractor, never whole in memory). Redirects
// are never followed here: the client decides whether a redirect may carry
// credentials (it may not, to another host).
//
// A failed transfer (no HTTP answer at all) is an Error whose errno says
// what happened on the wire (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPROTO
// for TLS), so is_transient() can tell a retry's chance without parsing
// text. Any HTTP answer, 4xx and 5xx included, is a Response.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace berth::registry {

struct Tls {
  bool verify = true;        // false: an insecure registry's unverified TLS
  std::string ca_file;       // PEM bundle trusted beside the system's (certs.d's ca.crt)
  std::string client_cert;   // PEM client certificate and key (certs.d's client.cert/.key)
  std::string client_key;
};

struct Response {
  long status = 0;
  // Header names in lower case; a repeated header keeps each value, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string url;  // what was requested

  // The first value of a header (name in lower case), "" if absent.
  std::string header(std::string_view name) const;
};

// Fills the span with the next bytes of an upload; returns how many (0 at
// the end).
using BodySource = std::function<Result<size_t>(std::span<std::byte>)>;

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent when source is empty
  BodySource source;                 // a streamed body of source_size bytes
  uint64_t source_size = 0;
  size_t max_body = 4 << 20;         // perform(): a longer answer is an error
};

// A streamed answer: its status and headers are known when open() returns;
// the body is read in blocks. A non-2xx answer's body (a registry's error
// document) is read whole, up to Request::max_body, into response().body.
class Download {
 public:
  Download(Download&&) noexcept;
  Download& operator=(Download&&) noexcept;
  ~Download();

  const Response& response() const;
  // The next block of the body, valid until the next call; empty at the end.
  Result<std::span<const std::byte>> next();

 private:
  friend class Http;
  struct State;
  explicit Download(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class Http {
 public:
  explicit Http(Tls tls) : tls_(std::move(tls)) {}

  Result<Response> perform(const Request& request) const;
  Result<Download> open(const Request& request) const;

  const Tls& tls() const { return tls_; }

 private:
  Tls tls_;
};

// True for a failure a retry may cure: a refused, dropped or timed-out
// connection.
bool is_transient(const Error& error);

// "host[:port]" of an absolute URL ("" if it has none).
std::string url_host(const std::string& url);
// A Location header's URL (absolute, absolute-path or relative) resolved
// against the URL it answered.
Result<std::string> resolve_url(const std::string& base, const std::string& location);

}  // namespace berth::registry
