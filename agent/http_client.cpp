#include "agent/http_client.h"

#include <curl/curl.h>
#include <dlfcn.h>

#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/clock.h"

namespace pso::agent {
namespace {

// The libcurl functions the agent uses, resolved from the loaded library.
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

CurlApi g_curl;
Status g_load_status = makeError("unsupported", "libcurl not loaded yet");
std::once_flag g_load_once;

template <typename F>
bool resolve(void* library, const char* name, F& out) {
  out = reinterpret_cast<F>(::dlsym(library, name));
  return out != nullptr;
}

Status loadOnce() {
  // libcurl.so.4 is the OpenSSL build; the GnuTLS build has the same ABI.
  void* library = nullptr;
  std::string tried;
  for (const char* name : {"libcurl.so.4", "libcurl-gnutls.so.4"}) {
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
  const bool complete = resolve(library, "curl_global_init", api.global_init) &&
                        resolve(library, "curl_easy_init", api.easy_init) &&
                        resolve(library, "curl_easy_cleanup", api.easy_cleanup) &&
                        resolve(library, "curl_easy_reset", api.easy_reset) &&
                        resolve(library, "curl_easy_setopt", api.easy_setopt) &&
                        resolve(library, "curl_easy_perform", api.easy_perform) &&
                        resolve(library, "curl_easy_getinfo", api.easy_getinfo) &&
                        resolve(library, "curl_easy_strerror", api.easy_strerror) &&
                        resolve(library, "curl_slist_append", api.slist_append) &&
                        resolve(library, "curl_slist_free_all", api.slist_free_all);
  if (!complete) return makeError("unsupported", "the loaded libcurl lacks a needed function");
  // Not thread-safe in libcurl: done here, under call_once, before any handle.
  if (CURLcode code = api.global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK) {
    return makeError("unsupported",
                     std::string("curl_global_init failed: ") + api.easy_strerror(code));
  }
  g_curl = api;
  return {};
}

struct BodySink {
  std::string* body;
  std::size_t max;
  bool overflow = false;
};

size_t writeBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const size_t bytes = size * count;
  if (sink->body->size() + bytes > sink->max) {
    sink->overflow = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  sink->body->append(data, bytes);
  return bytes;
}

// Frees a header list on every return path.
class HeaderList {
 public:
  ~HeaderList() {
    if (list_ != nullptr) g_curl.slist_free_all(list_);
  }
  void add(const std::string& header) { list_ = g_curl.slist_append(list_, header.c_str()); }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

}  // namespace

Status loadCurl() {
  std::call_once(g_load_once, [] { g_load_status = loadOnce(); });
  return g_load_status;
}

HttpClient::HttpClient() {
  if (loadCurl().ok()) handle_ = g_curl.easy_init();
}

HttpClient::~HttpClient() {
  if (handle_ != nullptr) g_curl.easy_cleanup(static_cast<CURL*>(handle_));
}

Status HttpClient::perform(const HttpRequest& request, HttpResponse& response) {
  const std::string what = request.method + " " + request.url;
  if (Status loaded = loadCurl(); !loaded)
    return makeError("unsupported", what + ": " + loaded.error().message);
  if (handle_ == nullptr) return makeError("unsupported", what + ": curl_easy_init failed");
  CURL* curl = static_cast<CURL*>(handle_);
  // Reset options, not the handle: its connection cache survives.
  g_curl.easy_reset(curl);
  response.status = 0;
  response.body.clear();
  response.latency_ms = 0.0;

  char error_buffer[CURL_ERROR_SIZE] = {};
  BodySink sink{&response.body, request.max_body};
  HeaderList headers;
  for (const std::string& header : request.headers) headers.add(header);

  g_curl.easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  g_curl.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  g_curl.easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  g_curl.easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  g_curl.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
  g_curl.easy_setopt(curl, CURLOPT_WRITEFUNCTION, &writeBody);
  g_curl.easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  g_curl.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  g_curl.easy_setopt(curl, CURLOPT_USERAGENT, "pso-agent");
  if (headers.get() != nullptr) g_curl.easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  if (!request.unix_socket.empty()) {
    g_curl.easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, request.unix_socket.c_str());
  }
  if (!request.ca_file.empty()) g_curl.easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  if (request.method == "GET") {
    g_curl.easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    g_curl.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty() || request.method == "POST" || request.method == "PATCH" ||
      request.method == "PUT") {
    g_curl.easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    g_curl.easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }

  const int64_t started = common::steadyMs();
  const CURLcode code = g_curl.easy_perform(curl);
  response.latency_ms = static_cast<double>(common::steadyMs() - started);
  if (code != CURLE_OK) {
    if (sink.overflow) {
      return makeError("too_large", what + ": response body larger than " +
                                        std::to_string(request.max_body) + " bytes");
    }
    std::string reason = g_curl.easy_strerror(code);
    if (error_buffer[0] != '\0') reason += std::string(" (") + error_buffer + ")";
    return makeError(code == CURLE_OPERATION_TIMEDOUT ? "timeout" : "http", what + ": " + reason);
  }
  g_curl.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return {};
}

std::string describeHttpError(const HttpRequest& request, const HttpResponse& response) {
  std::string reason;
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("message") && body["message"].is_string()) {
    reason = body["message"].get<std::string>();
  } else {
    reason = response.body.substr(0, response.body.find('\n'));
  }
  if (reason.size() > 200) reason = reason.substr(0, 200) + "...";
  std::string text =
      request.method + " " + request.url + ": HTTP " + std::to_string(response.status);
  if (!reason.empty()) text += ": " + reason;
  return text;
}

std::string urlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace pso::agent
