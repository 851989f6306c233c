#pragma once

// A learning record store (and, for cmi5 launches, the LMS around it) on a
// LoopbackHttpServer. The default handler answers POST .../statements with
// the ids of the posted statements, or with a configured error status; every
// answer carries X-Experience-API-Version as an LRS's does.

#include <string>

#include "tests/support/loopback_http_server.h"

namespace pso::testing {

class LoopbackLrs : public LoopbackHttpServer {
 public:
  /// The default handler, answering statements with `status`.
  explicit LoopbackLrs(int status = 200);
  explicit LoopbackLrs(Handler handler);

  /// base() + "/xapi"
  std::string endpoint() const { return base() + "/xapi"; }

  /// The answer to a statements POST/PUT: the ids of the posted statement(s).
  static Answer statementIds(const Request& request);
};

}  // namespace pso::testing
