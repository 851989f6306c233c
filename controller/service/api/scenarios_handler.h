#pragma once

// GET /api/v1/scenarios, /scenarios/{id} and /scenarios/export: the scenarios
// recorded from decision cycles, listed, shown whole, or exported for
// training.

#include <cstdint>

#include "controller/service/api/router.h"
#include "controller/store/store.h"

namespace pso::controller::service {

/// Filters shared by the list and the export: "event", "level", "system",
/// "since", "until" (times as query.h reads them) and "limit".
class ScenariosHandler {
 public:
  explicit ScenariosHandler(store::Store& store);

  /// Newest first, summaries only ("limit" default 100).
  HttpResponse list(const ApiRequest& request);
  /// The stored scenario document; 404 for an unknown id.
  HttpResponse show(const ApiRequest& request);
  /// Oldest first through the exporter named by "format" (default jsonl), as
  /// one file with X-Scenario-Count; a format that writes a directory is
  /// refused with 400.
  HttpResponse exportAll(const ApiRequest& request);

 private:
  store::Store& store_;
};

}  // namespace pso::controller::service
