#pragma once

#include "controller/scenarios/exporter.h"
#include "controller/scenarios/xapi.h"

namespace pso::controller::scenarios {

/// "xapi": the xAPI activity definitions of the scenarios (xapi.h,
/// buildActivities()), one JSON array: per scenario its assessment activity
/// then one cmi.interaction per question. Statements about learners come from
/// `psoctl scenarios grade`, under the same activity ids.
class XapiExporter : public ScenarioExporter {
 public:
  explicit XapiExporter(XapiContext context = {}) : context_(std::move(context)) {}
  std::string format() const override { return "xapi"; }
  std::string contentType() const override { return "application/json"; }
  [[nodiscard]] Result<std::size_t> writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                            std::ostream& out) const override;

 private:
  XapiContext context_;
};

}  // namespace pso::controller::scenarios
