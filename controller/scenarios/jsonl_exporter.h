#pragma once

#include "controller/scenarios/exporter.h"

namespace pso::controller::scenarios {

/// "jsonl": one scenario document per line, in the order given, written
/// atomically to one file (its parent directory is created if missing).
class JsonlExporter : public ScenarioExporter {
 public:
  std::string format() const override { return "jsonl"; }
  [[nodiscard]] Result<std::size_t> write(const std::vector<store::ScenarioRecord>& scenarios,
                                          const std::string& out_path) const override;
};

}  // namespace pso::controller::scenarios
