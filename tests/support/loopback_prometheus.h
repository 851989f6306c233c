#pragma once

// A Prometheus server for tests: the HTTP API's GET /api/v1/query_range on
// a real loopback server, answering with what the test's handler returns
// (canned JSON, an error status).

#include <string>
#include <utility>
#include <vector>

#include "tests/support/loopback_http_server.h"

namespace pso::testing {

/// GET /api/v1/query_range on a LoopbackHttpServer: the test's handler
/// reads the request's query parameters (Request::query) and answers.
class LoopbackPrometheus : public LoopbackHttpServer {
 public:
  explicit LoopbackPrometheus(Handler handler)
      : LoopbackHttpServer(std::move(handler), "Prometheus") {}

  /// http://127.0.0.1:<port>
  std::string url() const { return base(); }
};

/// A matrix answer with one series per label set, each with the given
/// [time, "value"] pairs (values as Prometheus writes them: "1.5", "NaN").
std::string prometheusMatrix(
    const std::vector<std::pair<std::string, std::vector<std::pair<double, std::string>>>>& series);

}  // namespace pso::testing
