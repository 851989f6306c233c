#pragma once

// GET /api/v1/agents: the agents the controller knows, with their hosts and
// the systems each manages.

#include "controller/service/api/router.h"
#include "controller/store/store.h"

namespace pso::controller::service {

/// Lists every agent ever registered: connection state, first and last
/// contact, last telemetry seq, host facts and managed systems.
class AgentsHandler {
 public:
  explicit AgentsHandler(store::Store& store);

  HttpResponse list(const ApiRequest& request);

 private:
  store::Store& store_;
};

}  // namespace pso::controller::service
