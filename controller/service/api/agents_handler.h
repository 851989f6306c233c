#pragma once

// GET /api/v1/agents: the agents the controller knows, with their hosts, the
// systems each manages and the systems of its hello another agent owns; GET
// /api/v1/agents/{id}/samples: an agent's host metrics.

#include "controller/service/api/router.h"
#include "controller/store/store.h"

namespace pso::controller::service {

/// Lists every agent ever registered: connection state, first and last
/// contact, last telemetry seq, host facts, managed systems and conflicts;
/// serves one agent's host samples.
class AgentsHandler {
 public:
  explicit AgentsHandler(store::Store& store);

  HttpResponse list(const ApiRequest& request);
  /// The host samples of agent {id} (404 when unknown): "metric" (required),
  /// "since" (default an hour ago), "until" (exclusive, default now),
  /// "limit" (default 10000); the systems samples route's shape with
  /// "agent" in place of "system".
  HttpResponse samples(const ApiRequest& request);

 private:
  store::Store& store_;
};

}  // namespace pso::controller::service
