#include "controller/cli/api_client.h"

#include "common/http_transfer.h"

namespace pso::cli {

ApiClient::ApiClient(std::string base_url, std::string token, long timeout_ms, std::string ca_file)
    : base_url_(std::move(base_url)),
      token_(std::move(token)),
      timeout_ms_(timeout_ms),
      ca_file_(std::move(ca_file)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

std::string ApiClient::escape(const std::string& value) {
  return common::escapeQueryValue(value);
}

Result<ApiClient::Response> ApiClient::request(const std::string& method, const std::string& path,
                                               const std::string* body) const {
  common::HttpTransfer transfer;
  transfer.method = method;
  transfer.url = base_url_ + path;
  transfer.timeout_ms = timeout_ms_;
  transfer.ca_file = ca_file_;
  transfer.headers.push_back("Accept: application/json");
  if (!token_.empty()) transfer.headers.push_back("Authorization: Bearer " + token_);
  if (body != nullptr) {
    transfer.headers.push_back("Content-Type: application/json");
    transfer.body = *body;
  }
  Result<common::HttpReply> reply = common::performTransfer(transfer);
  if (!reply) {
    return makeError(reply.error().code,
                     "cannot reach the controller at " + base_url_ + ": " + reply.error().message);
  }
  return Response{reply->status, std::move(reply->body)};
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
