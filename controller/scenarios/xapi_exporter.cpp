#include "controller/scenarios/xapi_exporter.h"

namespace pso::controller::scenarios {

Result<std::size_t> XapiExporter::writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                          std::ostream& out) const {
  // Streamed one activity at a time: an export of thousands of scenarios
  // never holds the whole array.
  out << "[";
  bool first = true;
  for (const auto& record : scenarios) {
    auto document = parseScenarioDocument(record);
    if (!document) return document.error();
    for (const auto& activity : buildActivities(*document, context_)) {
      out << (first ? "\n" : ",\n")
          << activity.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      first = false;
    }
  }
  out << "\n]\n";
  return scenarios.size();
}

}  // namespace pso::controller::scenarios
