#include "common/http_transfer.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

namespace pso::common {
namespace {

using EasyHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

// curl_global_init is not thread-safe: once, before the first handle.
EasyHandle makeHandle() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return EasyHandle(curl_easy_init(), curl_easy_cleanup);
}

struct ReplySink {
  std::string* body = nullptr;
  std::size_t limit = 0;  // 0: no limit
  bool overflowed = false;
};

// Returning less than it was given makes libcurl abort the transfer.
std::size_t appendBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<ReplySink*>(user);
  if (sink->limit > 0 && sink->body->size() + size * count > sink->limit) {
    sink->overflowed = true;
    return 0;
  }
  sink->body->append(data, size * count);
  return size * count;
}

}  // namespace

Result<HttpReply> performTransfer(const HttpTransfer& transfer) {
  EasyHandle curl = makeHandle();
  if (!curl) return makeError("io", "cannot initialise libcurl");
  HeaderList headers(nullptr, curl_slist_free_all);
  for (const std::string& header : transfer.headers) {
    curl_slist* appended = curl_slist_append(headers.get(), header.c_str());
    if (appended == nullptr) return makeError("io", "cannot build the request headers");
    (void)headers.release();  // `appended` is the same list, grown
    headers.reset(appended);
  }
  HttpReply reply;
  curl_easy_setopt(curl.get(), CURLOPT_URL, transfer.url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, transfer.timeout_ms);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, appendBody);
  ReplySink sink{&reply.body, transfer.max_reply_bytes};
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &sink);
  if (transfer.method == "POST") {
    curl_easy_setopt(curl.get(), CURLOPT_POST, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, transfer.body.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(transfer.body.size()));
  } else if (transfer.method != "GET") {
    curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, transfer.method.c_str());
  }
  // Only these two: a redirect or an environment variable must not send the
  // token over another protocol.
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl.get(), CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_SSL_VERIFYHOST, 2L);
  if (!transfer.ca_file.empty()) {
    curl_easy_setopt(curl.get(), CURLOPT_CAINFO, transfer.ca_file.c_str());
  }
  char detail[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, detail);
  if (!transfer.basic_user.empty()) {
    curl_easy_setopt(curl.get(), CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(curl.get(), CURLOPT_USERNAME, transfer.basic_user.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_PASSWORD, transfer.basic_password.c_str());
  }
  const CURLcode code = curl_easy_perform(curl.get());
  if (code != CURLE_OK) {
    if (sink.overflowed) {
      return makeError("unreachable", "reply body larger than " +
                                          std::to_string(transfer.max_reply_bytes) + " bytes");
    }
    std::string reason = curl_easy_strerror(code);
    if (detail[0] != '\0') reason += std::string(" (") + detail + ")";
    return makeError("unreachable", reason);
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

std::string escapeQueryValue(const std::string& value) {
  EasyHandle curl = makeHandle();
  if (!curl) return value;
  char* escaped = curl_easy_escape(curl.get(), value.c_str(), static_cast<int>(value.size()));
  std::string out = escaped != nullptr ? escaped : value;
  curl_free(escaped);
  return out;
}

}  // namespace pso::common
