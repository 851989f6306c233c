#pragma once

// A real HTTP server on 127.0.0.1 that plays a learning record store (and,
// for cmi5 launches, the LMS around it): it records every request and
// answers with what a handler returns. The default handler answers
// POST .../statements with the ids of the posted statements, or with a
// configured error status. Each connection is served on its own thread (a
// browser opens several) and closed after one answer.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace pso::testing {

class LoopbackLrs {
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
  };
  using Handler = std::function<Answer(const Request&)>;

  /// The default handler, answering statements with `status`.
  explicit LoopbackLrs(int status = 200);
  explicit LoopbackLrs(Handler handler);
  ~LoopbackLrs();
  LoopbackLrs(const LoopbackLrs&) = delete;
  LoopbackLrs& operator=(const LoopbackLrs&) = delete;

  /// http://127.0.0.1:<port>
  std::string base() const;
  /// base() + "/xapi"
  std::string endpoint() const { return base() + "/xapi"; }
  std::vector<Request> requests();

  /// The answer to a statements POST/PUT: the ids of the posted statement(s).
  static Answer statementIds(const Request& request);

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
