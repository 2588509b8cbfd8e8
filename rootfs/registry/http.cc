#include "rootfs/registry/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <optional>

#include "core/c_handle.h"
#include "core/strings.h"
#include "rootfs/registry/curl_library.h"

namespace berth::registry {
namespace {

// The library's functions; only called on paths that loaded it first
// (prepare, url_host, resolve_url).
const CurlLibrary& curl() { return *load_curl().value(); }
void free_easy(CURL* handle) { curl().easy_cleanup(handle); }
void free_multi(CURLM* handle) { curl().multi_cleanup(handle); }
void free_list(curl_slist* list) { curl().slist_free_all(list); }
void free_url(CURLU* url) { curl().url_cleanup(url); }
void free_string(char* text) { curl().free(text); }

using Easy = CHandle<CURL, free_easy>;
using Multi = CHandle<CURLM, free_multi>;
using HeaderList = CHandle<curl_slist, free_list>;
using Url = CHandle<CURLU, free_url>;

// A streamed body is handed out in blocks of about this size; curl pauses
// the transfer while one is waiting, so a slow consumer holds the socket
// back instead of growing a buffer.
constexpr size_t kStreamBlock = 1 << 20;
constexpr long kConnectTimeoutSeconds = 30;
// A transfer that moves nothing for this long is dropped (and may be retried).
constexpr long kStallSeconds = 60;

// What a transfer's failure means on the wire, as an errno.
int errno_of(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
      return ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
      return ETIMEDOUT;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return ECONNRESET;
    case CURLE_COULDNT_RESOLVE_HOST:
      return EHOSTUNREACH;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
      return EPROTO;
    case CURLE_OUT_OF_MEMORY:
      return ENOMEM;
    default:
      return EIO;
  }
}

// What a request is, and what its callbacks fill in.
struct Transfer {
  Request request;
  Response response;
  CURL* easy = nullptr;
  char error_text[CURL_ERROR_SIZE] = {};
  size_t body_sent = 0;      // of request.body, when it has no source
  bool headers_done = false;  // the final (non-1xx) status line and headers are in
  bool stream = false;        // open() of a 2xx answer: the body goes to pending
  bool paused = false;
  std::vector<std::byte> pending;
  bool body_too_long = false;
  std::optional<Error> source_error;

  Error failure(CURLcode code) const {
    if (body_too_long) {
      return make_error("{} {}: the answer is longer than {} bytes", request.method, request.url,
                        request.max_body);
    }
    if (source_error) {
      Error error = *source_error;
      return std::move(error.add_context(fmt::format("{} {}", request.method, request.url)));
    }
    std::string detail = error_text[0] ? error_text : curl().easy_strerror(code);
    return Error(fmt::format("{} {}: {}", request.method, request.url, detail), errno_of(code));
  }
};

std::string trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    // A new status line: a 1xx answer's headers, if any, are over.
    transfer.response.headers.clear();
  } else if (trim(line).empty()) {
    long status = 0;
    curl().easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200) {
      transfer.response.status = status;
      transfer.headers_done = true;
    }
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    transfer.response.headers.emplace_back(to_lower(trim(line.substr(0, colon))),
                                           trim(line.substr(colon + 1)));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  size_t bytes = size * count;
  if (transfer.stream && transfer.response.status / 100 == 2) {
    if (transfer.pending.size() >= kStreamBlock) {
      transfer.paused = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    auto* begin = reinterpret_cast<const std::byte*>(data);
    transfer.pending.insert(transfer.pending.end(), begin, begin + bytes);
    return bytes;
  }
  if (transfer.response.body.size() + bytes > transfer.request.max_body) {
    transfer.body_too_long = true;
    return 0;  // curl fails the transfer with CURLE_WRITE_ERROR
  }
  transfer.response.body.append(data, bytes);
  return bytes;
}

size_t on_upload(char* buffer, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  auto result = transfer.request.source(std::span(reinterpret_cast<std::byte*>(buffer), size * count));
  if (!result) {
    transfer.source_error = std::move(result.error());
    return CURL_READFUNC_ABORT;
  }
  return *result;
}

// curl_easy_setopt's failures are all "this libcurl lacks the option" or
// out of memory; one check over a batch of them covers them.
CURLcode set_options(std::initializer_list<CURLcode> results) {
  for (CURLcode result : results) {
    if (result != CURLE_OK) return result;
  }
  return CURLE_OK;
}

Status set_tls(CURL* easy, const Tls& tls) {
  long verify = tls.verify ? 1L : 0L;
  CURLcode code = set_options({curl().easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, verify),
                              curl().easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L)});
  if (code == CURLE_OK && !tls.ca_file.empty()) {
    code = curl().easy_setopt(easy, CURLOPT_CAINFO, tls.ca_file.c_str());
  }
  if (code == CURLE_OK && !tls.client_cert.empty()) {
    code = set_options({curl().easy_setopt(easy, CURLOPT_SSLCERT, tls.client_cert.c_str()),
                       curl().easy_setopt(easy, CURLOPT_SSLKEY, tls.client_key.c_str())});
  }
  if (code != CURLE_OK) return make_error("set TLS options: {}", curl().easy_strerror(code));
  return ok();
}

Status set_method(CURL* easy, Transfer& transfer) {
  const Request& request = transfer.request;
  CURLcode code = CURLE_OK;
  if (request.method == "HEAD") {
    code = curl().easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (request.source) {
    // UPLOAD streams from the read callback; CUSTOMREQUEST turns its PUT
    // into the PATCH or POST asked for.
    code = set_options({curl().easy_setopt(easy, CURLOPT_UPLOAD, 1L),
                       curl().easy_setopt(easy, CURLOPT_READFUNCTION, on_upload),
                       curl().easy_setopt(easy, CURLOPT_READDATA, &transfer),
                       curl().easy_setopt(easy, CURLOPT_INFILESIZE_LARGE,
                                        static_cast<curl_off_t>(request.source_size)),
                       curl().easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str())});
  } else if (request.method != "GET") {
    // Every other method sends its body, empty or not, with its length (a
    // registry wants "Content-Length: 0" on an empty PUT or POST).
    code = set_options({curl().easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data()),
        curl().easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size())),
        curl().easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str())});
  }
  if (code != CURLE_OK) return make_error("set the method {}: {}", request.method, curl().easy_strerror(code));
  return ok();
}

// A handle for the transfer, its header list kept alive in headers.
Result<Easy> prepare(Transfer& transfer, const Tls& tls, HeaderList& headers) {
  TRY(load_curl());
  Easy easy(curl().easy_init());
  if (!easy) return make_error("{} {}: curl_easy_init failed", transfer.request.method, transfer.request.url);
  transfer.easy = easy.get();
  transfer.response.url = transfer.request.url;
  CURL* handle = easy.get();
  CURLcode code = set_options({curl().easy_setopt(handle, CURLOPT_URL, transfer.request.url.c_str()),
      curl().easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https"),
      curl().easy_setopt(handle, CURLOPT_NOSIGNAL, 1L),
      curl().easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L),
      curl().easy_setopt(handle, CURLOPT_USERAGENT, "berth/0.1"),
      curl().easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds),
      curl().easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L),
      curl().easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, kStallSeconds),
      curl().easy_setopt(handle, CURLOPT_ERRORBUFFER, transfer.error_text),
      curl().easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header),
      curl().easy_setopt(handle, CURLOPT_HEADERDATA, &transfer),
      curl().easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body),
      curl().easy_setopt(handle, CURLOPT_WRITEDATA, &transfer)});
  if (code != CURLE_OK) return make_error("set curl options: {}", curl().easy_strerror(code));
  TRY(set_tls(handle, tls));
  TRY(set_method(handle, transfer));
  // "Expect: 100-continue" would cost a round trip before each upload.
  std::vector<std::string> lines = transfer.request.headers;
  lines.emplace_back("Expect:");
  for (const std::string& line : lines) {
    curl_slist* longer = curl().slist_append(headers.get(), line.c_str());
    if (!longer) return make_error("add the header {}: out of memory", line);
    (void)headers.release();
    headers.reset(longer);
  }
  if (CURLcode set = curl().easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get()); set != CURLE_OK) {
    return make_error("set headers: {}", curl().easy_strerror(set));
  }
  return easy;
}

}  // namespace

std::string Response::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

Result<Response> Http::perform(const Request& request) const {
  Transfer transfer{.request = request};
  HeaderList headers;
  Easy easy = TRY_VALUE(prepare(transfer, tls_, headers));
  if (CURLcode code = curl().easy_perform(easy.get()); code != CURLE_OK) return transfer.failure(code);
  curl().easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &transfer.response.status);
  return std::move(transfer.response);
}

// The multi handle drives one transfer a step at a time, so the body can be
// pulled block by block by the caller's thread.
struct Download::State {
  Transfer transfer;
  HeaderList headers;
  Multi multi;
  Easy easy;  // declared after multi: destroyed first
  bool added = false;
  bool done = false;
  CURLcode result = CURLE_OK;
  std::vector<std::byte> handed;  // the block next() returned last

  ~State() {
    if (added) curl().multi_remove_handle(multi.get(), easy.get());
  }

  // Runs the transfer until ready() or its end.
  template <typename Ready>
  Status drive(Ready ready) {
    while (!done && !ready()) {
      int running = 0;
      if (CURLMcode code = curl().multi_perform(multi.get(), &running); code != CURLM_OK) {
        return make_error("{} {}: {}", transfer.request.method, transfer.request.url,
                          curl().multi_strerror(code));
      }
      int queued = 0;
      while (CURLMsg* message = curl().multi_info_read(multi.get(), &queued)) {
        if (message->msg == CURLMSG_DONE) {
          done = true;
          result = message->data.result;
        }
      }
      if (done || ready()) break;
      if (CURLMcode code = curl().multi_poll(multi.get(), nullptr, 0, 1000, nullptr); code != CURLM_OK) {
        return make_error("{} {}: {}", transfer.request.method, transfer.request.url,
                          curl().multi_strerror(code));
      }
    }
    return ok();
  }
};

Download::Download(std::unique_ptr<State> state) : state_(std::move(state)) {}
Download::Download(Download&&) noexcept = default;
Download& Download::operator=(Download&&) noexcept = default;
Download::~Download() = default;

const Response& Download::response() const { return state_->transfer.response; }

Result<std::span<const std::byte>> Download::next() {
  State& state = *state_;
  TRY(state.drive([&] { return !state.transfer.pending.empty(); }));
  if (state.transfer.pending.empty()) {
    if (state.result != CURLE_OK) return state.transfer.failure(state.result);
    return std::span<const std::byte>();
  }
  state.handed.swap(state.transfer.pending);
  state.transfer.pending.clear();
  if (state.transfer.paused) {
    state.transfer.paused = false;
    // May call on_body at once with the bytes it held back.
    if (CURLcode code = curl().easy_pause(state.easy.get(), CURLPAUSE_CONT); code != CURLE_OK) {
      return state.transfer.failure(code);
    }
  }
  return std::span<const std::byte>(state.handed);
}

Result<Download> Http::open(const Request& request) const {
  auto state = std::make_unique<Download::State>();
  state->transfer.request = request;
  state->transfer.stream = true;
  state->easy = TRY_VALUE(prepare(state->transfer, tls_, state->headers));
  state->multi.reset(curl().multi_init());
  if (!state->multi) return make_error("{} {}: curl_multi_init failed", request.method, request.url);
  if (CURLMcode code = curl().multi_add_handle(state->multi.get(), state->easy.get()); code != CURLM_OK) {
    return make_error("{} {}: {}", request.method, request.url, curl().multi_strerror(code));
  }
  state->added = true;
  TRY(state->drive([&] { return state->transfer.headers_done; }));
  if (!state->transfer.headers_done) return state->transfer.failure(state->result);
  if (state->transfer.response.status / 100 != 2) {
    // An error document: read it whole for the caller's message.
    TRY(state->drive([] { return false; }));
    if (state->result != CURLE_OK) return state->transfer.failure(state->result);
  }
  return Download(std::move(state));
}

bool is_transient(const Error& error) {
  int value = error.errno_value();
  return value == ECONNREFUSED || value == ECONNRESET || value == ETIMEDOUT;
}

std::string url_host(const std::string& url) {
  if (!load_curl()) return "";
  Url parsed(curl().url());
  if (!parsed || curl().url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "";
  char* host = nullptr;
  if (curl().url_get(parsed.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK) return "";
  CHandle<char, free_string> host_owner(host);
  std::string result = host;
  char* port = nullptr;
  if (curl().url_get(parsed.get(), CURLUPART_PORT, &port, 0) == CURLUE_OK) {
    CHandle<char, free_string> port_owner(port);
    result += ":" + std::string(port);
  }
  return result;
}

Result<std::string> resolve_url(const std::string& base, const std::string& location) {
  TRY(load_curl());
  Url parsed(curl().url());
  if (!parsed) return make_error("resolve {} against {}: out of memory", location, base);
  // Setting a URL on a handle that holds one resolves it relative to it.
  for (const std::string* part : {&base, &location}) {
    if (CURLUcode code = curl().url_set(parsed.get(), CURLUPART_URL, part->c_str(), 0); code != CURLUE_OK) {
      return make_error("resolve {} against {}: {}", location, base, curl().url_strerror(code));
    }
  }
  char* resolved = nullptr;
  if (CURLUcode code = curl().url_get(parsed.get(), CURLUPART_URL, &resolved, 0); code != CURLUE_OK) {
    return make_error("resolve {} against {}: {}", location, base, curl().url_strerror(code));
  }
  CHandle<char, free_string> owner(resolved);
  return std::string(resolved);
}

}  // namespace berth::registry
