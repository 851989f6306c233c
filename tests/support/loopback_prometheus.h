#pragma once

// A real HTTP server on 127.0.0.1 that speaks the Prometheus HTTP API's
// GET /api/v1/query_range: it records the query parameters of every request
// and answers with what the test's handler returns (canned JSON, an error
// status). One request per connection (Connection: close).

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pso::testing {

class LoopbackPrometheus {
 public:
  /// The query parameters of one request, percent-decoded, and its path.
  struct Request {
    std::string path;
    std::map<std::string, std::string> params;
  };
  struct Answer {
    int status = 200;
    std::string body;
  };
  using Handler = std::function<Answer(const Request&)>;

  /// Listens on an ephemeral loopback port; throws std::runtime_error when
  /// it cannot.
  explicit LoopbackPrometheus(Handler handler);
  ~LoopbackPrometheus();
  LoopbackPrometheus(const LoopbackPrometheus&) = delete;
  LoopbackPrometheus& operator=(const LoopbackPrometheus&) = delete;

  /// http://127.0.0.1:<port>
  std::string url() const;
  std::vector<Request> requests();

 private:
  void serve();
  void handle(int client);

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<Request> requests_;
  std::thread thread_;
};

/// A matrix answer with one series per label set, each with the given
/// [time, "value"] pairs (values as Prometheus writes them: "1.5", "NaN").
std::string prometheusMatrix(
    const std::vector<std::pair<std::string, std::vector<std::pair<double, std::string>>>>& series);

}  // namespace pso::testing
