#pragma once

#include "controller/scenarios/exporter.h"

namespace pso::controller::scenarios {

/// "jsonl": one scenario document per line, in the order given.
class JsonlExporter : public ScenarioExporter {
 public:
  std::string format() const override { return "jsonl"; }
  std::string contentType() const override { return "application/x-ndjson"; }
  [[nodiscard]] Result<std::size_t> writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                            std::ostream& out) const override;
};

}  // namespace pso::controller::scenarios
