#pragma once

// GET /api/v1/systems, /systems/{name} and /systems/{name}/samples: the
// managed systems as the controller sees them now, and their stored samples.

#include <cstdint>
#include <optional>
#include <string>

#include "controller/service/api/router.h"
#include "controller/store/store.h"

namespace pso::controller::service {

/// Each system's bounds and capacity, latest demand, active hold, newest
/// health results, and what the last cycle decided for it; and a system's
/// samples of one metric in a time range.
class SystemsHandler {
 public:
  explicit SystemsHandler(store::Store& store);

  HttpResponse list(const ApiRequest& request);
  /// 404 for a system the controller does not know.
  HttpResponse show(const ApiRequest& request);
  /// "metric" (default demand), "since" (default an hour ago), "until"
  /// (exclusive, default now), "limit" (default 10000).
  HttpResponse samples(const ApiRequest& request);

 private:
  /// Every system, or only `name`, as of `now_ms` (which holds are active).
  HttpResponse describe(const std::optional<std::string>& name, int64_t now_ms);

  store::Store& store_;
};

}  // namespace pso::controller::service
