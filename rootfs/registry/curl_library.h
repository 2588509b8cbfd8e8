// libcurl, opened with dlopen when the first registry request needs it.
//
// Why not link it: Debian's libcurl brings two dozen shared libraries
// (nghttp2, libssh2, librtmp, LDAP, Kerberos, libpsl, ...), and every
// `berth` command would load and relocate them at start, `berth run` and
// `berth ps` included: 10 ms or more a command on this project's machines
// (docs/performance.md). Only pull, push and login speak HTTP, so only
// they pay for it. The headers are libcurl's own, so every call is typed
// as the library declares it.
#pragma once

#include <curl/curl.h>

#include "core/error.h"

namespace berth::registry {

struct CurlLibrary {
  decltype(&curl_global_init) global_init;
  decltype(&curl_easy_strerror) easy_strerror;
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_getinfo) easy_getinfo;
  decltype(&curl_easy_perform) easy_perform;
  decltype(&curl_easy_pause) easy_pause;
  decltype(&curl_multi_init) multi_init;
  decltype(&curl_multi_cleanup) multi_cleanup;
  decltype(&curl_multi_add_handle) multi_add_handle;
  decltype(&curl_multi_remove_handle) multi_remove_handle;
  decltype(&curl_multi_perform) multi_perform;
  decltype(&curl_multi_info_read) multi_info_read;
  decltype(&curl_multi_poll) multi_poll;
  decltype(&curl_multi_strerror) multi_strerror;
  decltype(&curl_slist_append) slist_append;
  decltype(&curl_slist_free_all) slist_free_all;
  decltype(&curl_url) url;
  decltype(&curl_url_cleanup) url_cleanup;
  decltype(&curl_url_set) url_set;
  decltype(&curl_url_get) url_get;
  decltype(&curl_url_strerror) url_strerror;
  decltype(&curl_free) free;
};

// Opens libcurl.so.4 and runs curl_global_init, once per process (safe
// from any thread); the library stays loaded. An error names what was
// missing: the library (install libcurl4) or a symbol (a libcurl older than
// 7.80).
Result<const CurlLibrary*> load_curl();

}  // namespace berth::registry
