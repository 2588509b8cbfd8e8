#include "rootfs/registry/curl_library.h"

#include <dlfcn.h>

#include <mutex>
#include <optional>

namespace berth::registry {
namespace {

constexpr const char* kLibrary = "libcurl.so.4";

template <typename Function>
Status find(void* library, const char* name, Function& function) {
  function = reinterpret_cast<Function>(::dlsym(library, name));
  if (!function) return make_error("{} has no {} (libcurl 7.80 or later is needed)", kLibrary, name);
  return ok();
}

Result<CurlLibrary> open_library() {
  // Never closed: curl keeps global state (OpenSSL's among it) for the
  // process's life.
  void* library = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (!library) return make_error("load {} (install libcurl4): {}", kLibrary, ::dlerror());
  CurlLibrary curl;
  TRY(find(library, "curl_global_init", curl.global_init));
  TRY(find(library, "curl_easy_strerror", curl.easy_strerror));
  TRY(find(library, "curl_easy_init", curl.easy_init));
  TRY(find(library, "curl_easy_cleanup", curl.easy_cleanup));
  TRY(find(library, "curl_easy_setopt", curl.easy_setopt));
  TRY(find(library, "curl_easy_getinfo", curl.easy_getinfo));
  TRY(find(library, "curl_easy_perform", curl.easy_perform));
  TRY(find(library, "curl_easy_pause", curl.easy_pause));
  TRY(find(library, "curl_multi_init", curl.multi_init));
  TRY(find(library, "curl_multi_cleanup", curl.multi_cleanup));
  TRY(find(library, "curl_multi_add_handle", curl.multi_add_handle));
  TRY(find(library, "curl_multi_remove_handle", curl.multi_remove_handle));
  TRY(find(library, "curl_multi_perform", curl.multi_perform));
  TRY(find(library, "curl_multi_info_read", curl.multi_info_read));
  TRY(find(library, "curl_multi_poll", curl.multi_poll));
  TRY(find(library, "curl_multi_strerror", curl.multi_strerror));
  TRY(find(library, "curl_slist_append", curl.slist_append));
  TRY(find(library, "curl_slist_free_all", curl.slist_free_all));
  TRY(find(library, "curl_url", curl.url));
  TRY(find(library, "curl_url_cleanup", curl.url_cleanup));
  TRY(find(library, "curl_url_set", curl.url_set));
  TRY(find(library, "curl_url_get", curl.url_get));
  TRY(find(library, "curl_url_strerror", curl.url_strerror));
  TRY(find(library, "curl_free", curl.free));
  if (CURLcode code = curl.global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK) {
    return make_error("initialise libcurl: {}", curl.easy_strerror(code));
  }
  return curl;
}

}  // namespace

Result<const CurlLibrary*> load_curl() {
  static std::once_flag once;
  static std::optional<Result<CurlLibrary>> loaded;
  std::call_once(once, [] { loaded.emplace(open_library()); });
  if (!*loaded) return loaded->error();
  return &loaded->value();
}

}  // namespace berth::registry
