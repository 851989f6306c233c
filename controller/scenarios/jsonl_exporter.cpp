#include "controller/scenarios/jsonl_exporter.h"

#include <nlohmann/json.hpp>

namespace pso::controller::scenarios {

Result<std::size_t> JsonlExporter::writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                           std::ostream& out) const {
  for (const auto& record : scenarios) {
    // Re-serialised rather than copied: a stored document with a stray newline
    // or invalid JSON must not break the one-document-per-line contract.
    auto document = nlohmann::json::parse(record.json, nullptr, false);
    if (document.is_discarded()) {
      return makeError("invalid",
                       "scenario '" + record.id + "': stored document is not valid JSON");
    }
    out << document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  }
  return scenarios.size();
}

}  // namespace pso::controller::scenarios
