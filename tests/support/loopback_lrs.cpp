#include "tests/support/loopback_lrs.h"

#include <nlohmann/json.hpp>

namespace pso::testing {
namespace {

using nlohmann::json;

/// Every answer of the LRS names the xAPI version it speaks.
LoopbackHttpServer::Handler withVersion(LoopbackHttpServer::Handler handler) {
  return [handler = std::move(handler)](const LoopbackHttpServer::Request& request) {
    LoopbackHttpServer::Answer answer = handler(request);
    answer.headers.emplace_back("X-Experience-API-Version", "1.0.3");
    return answer;
  };
}

}  // namespace

LoopbackLrs::Answer LoopbackLrs::statementIds(const Request& request) {
  json ids = json::array();
  const json posted = json::parse(request.body, nullptr, false);
  if (posted.is_array()) {
    for (const auto& s : posted) ids.push_back(s.value("id", ""));
  } else if (posted.is_object()) {
    ids.push_back(posted.value("id", ""));
  }
  return {200, ids.dump()};
}

LoopbackLrs::LoopbackLrs(int status)
    : LoopbackLrs([status](const Request& request) -> Answer {
        if (status != 200) return {status, R"({"error":"statement rejected by the test LRS"})"};
        return statementIds(request);
      }) {}

LoopbackLrs::LoopbackLrs(Handler handler)
    : LoopbackHttpServer(withVersion(std::move(handler)), "LRS") {}

}  // namespace pso::testing
