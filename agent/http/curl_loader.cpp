#include "agent/http/curl_loader.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace pso::agent::http {
namespace {

template <typename F>
void resolve(void* library, const char* name, F& out, std::string& missing) {
  out = reinterpret_cast<F>(::dlsym(library, name));
  if (out == nullptr && missing.empty()) missing = name;
}

}  // namespace

Result<CurlApi> loadCurlLibrary(std::initializer_list<const char*> libraries) {
  void* library = nullptr;
  std::string tried;
  for (const char* name : libraries) {
    library = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (library != nullptr) break;
    const char* reason = ::dlerror();
    tried += tried.empty() ? "" : "; ";
    tried += reason != nullptr ? reason : name;
  }
  if (library == nullptr) {
    return makeError("unsupported", "HTTP needs libcurl, which could not be loaded (" + tried +
                                        "): install libcurl4");
  }
  CurlApi api;
  std::string missing;
  resolve(library, "curl_global_init", api.global_init, missing);
  resolve(library, "curl_easy_init", api.easy_init, missing);
  resolve(library, "curl_easy_cleanup", api.easy_cleanup, missing);
  resolve(library, "curl_easy_reset", api.easy_reset, missing);
  resolve(library, "curl_easy_setopt", api.easy_setopt, missing);
  resolve(library, "curl_easy_perform", api.easy_perform, missing);
  resolve(library, "curl_easy_getinfo", api.easy_getinfo, missing);
  resolve(library, "curl_easy_strerror", api.easy_strerror, missing);
  resolve(library, "curl_slist_append", api.slist_append, missing);
  resolve(library, "curl_slist_free_all", api.slist_free_all, missing);
  if (!missing.empty()) {
    return makeError("unsupported", "the loaded libcurl lacks a needed function (" + missing + ")");
  }
  return api;
}

Result<const CurlApi*> processCurl() {
  static CurlApi api;
  static Result<const CurlApi*> outcome = makeError("unsupported", "libcurl not loaded yet");
  static std::once_flag once;
  std::call_once(once, [] {
    Result<CurlApi> loaded = loadCurlLibrary({"libcurl.so.4", "libcurl-gnutls.so.4"});
    if (!loaded) {
      outcome = loaded.error();
      return;
    }
    if (CURLcode code = loaded->global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK) {
      outcome = makeError("unsupported",
                          std::string("curl_global_init failed: ") + loaded->easy_strerror(code));
      return;
    }
    api = *loaded;
    outcome = &api;
  });
  return outcome;
}

CurlHeaderList::~CurlHeaderList() {
  if (list_ != nullptr) api_.slist_free_all(list_);
}

void CurlHeaderList::add(const std::string& header) {
  list_ = api_.slist_append(list_, header.c_str());
}

}  // namespace pso::agent::http
