#pragma once

// libcurl for the agent's https:// requests, loaded with dlopen() on first
// use rather than linked: with the ~30 libraries and the TLS stack it pulls
// in it costs about 7 MB of resident memory, which an agent that only speaks
// plain HTTP should not pay (docs/agent.md, "Footprint"). Only curl's headers
// are used at build time.

#include <curl/curl.h>

#include <initializer_list>
#include <string>

#include "common/result.h"

namespace pso::agent::http {

/// The libcurl functions the agent calls, resolved from a loaded library.
struct CurlApi {
  CURLcode (*global_init)(long) = nullptr;
  CURL* (*easy_init)() = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  void (*easy_reset)(CURL*) = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
};

/// Opens the first of `libraries` that dlopen() can load and resolves every
/// CurlApi function from it (no curl_global_init). An Error (code
/// "unsupported") names each library tried and why it failed, or the
/// function a loaded library lacks. The library stays loaded.
[[nodiscard]] Result<CurlApi> loadCurlLibrary(std::initializer_list<const char*> libraries);

/// The process's libcurl: libcurl.so.4 (OpenSSL) or libcurl-gnutls.so.4 (same
/// ABI), loaded and globally initialised on the first call, under a once
/// flag since curl_global_init is not thread-safe. Every call returns the
/// first call's outcome.
[[nodiscard]] Result<const CurlApi*> processCurl();

/// A curl_slist of request headers, freed on every return path.
class CurlHeaderList {
 public:
  explicit CurlHeaderList(const CurlApi& api) : api_(api) {}
  ~CurlHeaderList();
  CurlHeaderList(const CurlHeaderList&) = delete;
  CurlHeaderList& operator=(const CurlHeaderList&) = delete;

  void add(const std::string& header);
  curl_slist* get() const { return list_; }

 private:
  const CurlApi& api_;
  curl_slist* list_ = nullptr;
};

}  // namespace pso::agent::http
