#pragma once

// GET /api/v1/cycles: the decision cycles run, newest first.

#include "controller/service/api/router.h"
#include "controller/store/store.h"

namespace pso::controller::service {

/// Lists cycles ("limit", default 20) with their decisions and the events of
/// the scenario each one recorded.
class CyclesHandler {
 public:
  explicit CyclesHandler(store::Store& store);

  HttpResponse list(const ApiRequest& request);

 private:
  store::Store& store_;
};

}  // namespace pso::controller::service
