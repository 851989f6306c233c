#include "controller/cli/lrs_client.h"

#include <algorithm>

#include "common/http_transfer.h"
#include "controller/scenarios/xapi.h"

namespace pso::cli {
namespace {

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
  common::HttpTransfer transfer;
  transfer.method = "POST";
  transfer.url = url;
  transfer.body = body;
  transfer.timeout_ms = options.timeout_ms;
  transfer.headers = {
      "Content-Type: application/json", "Accept: application/json",
      std::string("X-Experience-API-Version: ") + controller::scenarios::kXapiVersion};
  transfer.basic_user = options.user;
  transfer.basic_password = options.password;
  Result<common::HttpReply> reply = common::performTransfer(transfer);
  if (!reply) {
    return makeError(reply.error().code,
                     "cannot reach the LRS at " + url + ": " + reply.error().message);
  }
  const long status = reply->status;
  const std::string& answer = reply->body;
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
