#include "controller/scenarios/jsonl_exporter.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "controller/scenarios/atomic_file.h"

namespace pso::controller::scenarios {

Result<std::size_t> JsonlExporter::write(const std::vector<store::ScenarioRecord>& scenarios,
                                         const std::string& out_path) const {
  const auto parent = std::filesystem::path(out_path).parent_path();
  if (!parent.empty()) {
    if (auto st = ensureDirectory(parent.string()); !st.ok()) return st.error();
  }
  auto writer = AtomicFileWriter::create(out_path);
  if (!writer.ok()) return writer.error();
  for (const auto& record : scenarios) {
    // Re-serialised rather than copied: a stored document with a stray newline
    // or invalid JSON must not break the one-document-per-line contract.
    auto document = nlohmann::json::parse(record.json, nullptr, false);
    if (document.is_discarded()) {
      return makeError("invalid",
                       "scenario '" + record.id + "': stored document is not valid JSON");
    }
    std::string line = document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    if (auto st = writer->append(line); !st.ok()) return st.error();
  }
  if (auto st = writer->commit(); !st.ok()) return st.error();
  return scenarios.size();
}

}  // namespace pso::controller::scenarios
