#pragma once

// GET and POST /api/v1/directives: the scaling directives sent to agents, and
// an operator's own directive.

#include "controller/service/api/router.h"
#include "controller/service/cycle_runner.h"
#include "controller/store/store.h"

namespace pso::controller::service {

/// Lists directives newest first ("system" filters, "limit" default 100), and
/// turns a JSON body {"system", "replicas", "action"?, "reason"?, "hold" |
/// "hold_s"?} into an operator directive created at the request's instant:
/// 201 with the directive, 400 for a malformed body, 422 when the controller
/// refuses it (unknown system, replicas out of bounds).
class DirectivesHandler {
 public:
  DirectivesHandler(store::Store& store, CycleRunner& cycles);

  HttpResponse list(const ApiRequest& request);
  HttpResponse create(const ApiRequest& request);

 private:
  store::Store& store_;
  CycleRunner& cycles_;
};

}  // namespace pso::controller::service
