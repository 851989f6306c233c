#pragma once

// A real HTTP/1.1 server on 127.0.0.1 for tests that need an outside HTTP
// service (a learning record store, a Prometheus server): it records every
// request and answers with what the test's handler returns. Each connection
// is served on its own thread (a browser opens several) and closed after
// one answer.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace pso::testing {

class LoopbackHttpServer {
 public:
  struct Request {
    std::string method;
    std::string path;                                          ///< as sent, with the query
    std::string route;                                         ///< the path without the query
    std::map<std::string, std::string> query;                  ///< percent-decoded
    std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
    std::string body;

    std::string header(const std::string& name) const;
  };
  struct Answer {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers = {};  ///< extra response headers
  };
  using Handler = std::function<Answer(const Request&)>;

  /// Listens on an ephemeral loopback port; throws std::runtime_error when
  /// it cannot. `name` says which service in that error.
  LoopbackHttpServer(Handler handler, std::string name);
  ~LoopbackHttpServer();
  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  /// http://127.0.0.1:<port>
  std::string base() const;
  /// Every request answered so far, in order.
  std::vector<Request> requests();

 private:
  void serve();
  void handle(int client);

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Request> requests_;
  std::vector<std::thread> clients_;
};

}  // namespace pso::testing
