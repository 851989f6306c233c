#include "controller/cli/lrs_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "controller/scenarios/xapi.h"

namespace pso::cli {
namespace {

std::size_t appendBody(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::string statementsUrl(std::string endpoint) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const std::string suffix = "/statements";
  if (endpoint.size() >= suffix.size() &&
      endpoint.compare(endpoint.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return endpoint;
  }
  return endpoint + suffix;
}

Result<std::vector<std::string>> postBatch(const LrsOptions& options, const std::string& url,
                                           const std::string& body) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return makeError("io", "cannot initialise libcurl");
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Accept: application/json");
  const std::string version =
      std::string("X-Experience-API-Version: ") + controller::scenarios::kXapiVersion;
  headers = curl_slist_append(headers, version.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_guard(headers,
                                                                           curl_slist_free_all);
  std::string answer;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, options.timeout_ms);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_POST, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &answer);
  if (!options.user.empty()) {
    curl_easy_setopt(curl.get(), CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(curl.get(), CURLOPT_USERNAME, options.user.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_PASSWORD, options.password.c_str());
  }
  const CURLcode code = curl_easy_perform(curl.get());
  if (code != CURLE_OK) {
    return makeError("unreachable",
                     "cannot reach the LRS at " + url + ": " + curl_easy_strerror(code));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status >= 300 || status < 200) {
    return makeError(
        "http_" + std::to_string(status),
        "the LRS at " + url + " answered " + std::to_string(status) + ": " + answer.substr(0, 200));
  }
  const auto ids = nlohmann::json::parse(answer, nullptr, false);
  if (!ids.is_array()) {
    return makeError("invalid", "the LRS at " + url +
                                    " answered with a body that is not a JSON "
                                    "array of statement ids");
  }
  std::vector<std::string> out;
  for (const auto& id : ids) {
    if (!id.is_string()) {
      return makeError("invalid", "the LRS at " + url +
                                      " answered a statement id that is not a "
                                      "string");
    }
    out.push_back(id.get<std::string>());
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> postStatements(const LrsOptions& options,
                                                const nlohmann::json& statements) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (!statements.is_array()) return makeError("invalid", "statements must be a JSON array");
  if (options.endpoint.empty()) return makeError("invalid", "no LRS endpoint given");
  const std::string url = statementsUrl(options.endpoint);
  const std::size_t batch = options.batch > 0 ? options.batch : 100;
  std::vector<std::string> ids;
  for (std::size_t start = 0; start < statements.size(); start += batch) {
    nlohmann::json chunk = nlohmann::json::array();
    for (std::size_t i = start; i < std::min(statements.size(), start + batch); ++i) {
      chunk.push_back(statements[i]);
    }
    auto posted = postBatch(options, url, chunk.dump());
    if (!posted) return posted.error();
    ids.insert(ids.end(), posted->begin(), posted->end());
  }
  return ids;
}

}  // namespace pso::cli
