#pragma once

// GET /api/v1/systems, /systems/{name} and /systems/{name}/samples: the
// managed systems as the controller sees them now, and their stored samples.

#include <cstdint>
#include <optional>
#include <string>

#include "controller/service/api/router.h"
#include "controller/store/store.h"

namespace pso::controller::service {

/// The samples of one stored series as the samples routes answer them:
/// {"<owner_key>": owner, "metric": M, "samples": [[ts_ms, value], ...]},
/// oldest first. Reads "metric" (`default_metric` when absent; required when
/// that is empty), "since" (default an hour ago), "until" (exclusive, default
/// now) and "limit" (default 10000: the newest that many of the range).
/// A metric not stored for the owner is a 404 naming the stored ones (the
/// default metric always answers, empty before its first sample).
/// `series_system` is the name the series is stored under (a system, or
/// store::hostSeriesSystem(agent)).
HttpResponse seriesSamples(store::TelemetryStore& store, const ApiRequest& request,
                           const std::string& series_system, const std::string& owner_key,
                           const std::string& owner, const std::string& default_metric);

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
