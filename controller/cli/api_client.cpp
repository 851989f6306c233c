#include "controller/cli/api_client.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

namespace pso::cli {
namespace {

std::size_t appendBody(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

ApiClient::ApiClient(std::string base_url, std::string token, long timeout_ms)
    : base_url_(std::move(base_url)), token_(std::move(token)), timeout_ms_(timeout_ms) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  initCurlOnce();
}

std::string ApiClient::escape(const std::string& value) {
  initCurlOnce();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return value;
  char* escaped = curl_easy_escape(curl.get(), value.c_str(), static_cast<int>(value.size()));
  std::string out = escaped != nullptr ? escaped : value;
  curl_free(escaped);
  return out;
}

Result<ApiClient::Response> ApiClient::request(const std::string& method, const std::string& path,
                                               const std::string* body) const {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return makeError("io", "cannot initialise libcurl");
  const std::string url = base_url_ + path;
  Response response;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  std::string auth;
  if (!token_.empty()) {
    auth = "Authorization: Bearer " + token_;
    headers = curl_slist_append(headers, auth.c_str());
  }
  if (body != nullptr) headers = curl_slist_append(headers, "Content-Type: application/json");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_guard(headers,
                                                                           curl_slist_free_all);
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, timeout_ms_);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response.body);
  if (method == "POST") {
    curl_easy_setopt(curl.get(), CURLOPT_POST, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body != nullptr ? body->c_str() : "");
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(body != nullptr ? body->size() : 0));
  }
  const CURLcode code = curl_easy_perform(curl.get());
  if (code != CURLE_OK) {
    return makeError("unreachable", "cannot reach the controller at " + base_url_ + ": " +
                                        curl_easy_strerror(code));
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

Result<nlohmann::json> ApiClient::parse(const Response& response) const {
  nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (response.status >= 400) {
    std::string reason = doc.is_object() && doc.contains("error") && doc["error"].is_string()
                             ? doc["error"].get<std::string>()
                             : response.body.substr(0, 200);
    return makeError("http_" + std::to_string(response.status),
                     "controller answered " + std::to_string(response.status) + ": " + reason);
  }
  if (doc.is_discarded()) {
    return makeError("invalid", "controller answered with a body that is not JSON");
  }
  return doc;
}

Result<nlohmann::json> ApiClient::getJson(const std::string& path) const {
  auto response = request("GET", path, nullptr);
  if (!response) return response.error();
  return parse(*response);
}

Result<std::string> ApiClient::getText(const std::string& path) const {
  auto response = request("GET", path, nullptr);
  if (!response) return response.error();
  if (response->status >= 400) {
    auto parsed = parse(*response);
    return parsed.error();
  }
  return std::move(response->body);
}

Result<nlohmann::json> ApiClient::postJson(const std::string& path,
                                           const nlohmann::json& body) const {
  const std::string text = body.dump();
  auto response = request("POST", path, &text);
  if (!response) return response.error();
  return parse(*response);
}

}  // namespace pso::cli
