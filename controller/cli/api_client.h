#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace pso::cli {

/// Talks to the controller's HTTP API (libcurl). Errors are one line: the
/// connection failure, or the API's {"error": ...} with the status code.
class ApiClient {
 public:
  /// `base_url` like "http://127.0.0.1:7460" or "https://ctl.example:7460";
  /// `token` is sent as a bearer token when not empty; `ca_file` (PEM) holds
  /// the certificates to trust for https:// besides the system's (empty:
  /// the system's only).
  ApiClient(std::string base_url, std::string token, long timeout_ms = 10000,
            std::string ca_file = {});

  [[nodiscard]] Result<nlohmann::json> getJson(const std::string& path) const;
  [[nodiscard]] Result<std::string> getText(const std::string& path) const;
  [[nodiscard]] Result<nlohmann::json> postJson(const std::string& path,
                                                const nlohmann::json& body) const;

  const std::string& baseUrl() const { return base_url_; }

  /// Percent-encodes a query value.
  static std::string escape(const std::string& value);

 private:
  struct Response {
    long status = 0;
    std::string body;
  };
  [[nodiscard]] Result<Response> request(const std::string& method, const std::string& path,
                                         const std::string* body) const;
  [[nodiscard]] Result<nlohmann::json> parse(const Response& response) const;

  std::string base_url_;
  std::string token_;
  long timeout_ms_;
  std::string ca_file_;
};

}  // namespace pso::cli
