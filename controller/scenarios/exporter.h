#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/store/store.h"

namespace pso::controller::scenarios {

/// Turns stored scenarios into material for trainers. One implementation per
/// format, registered by name in makeExporter().
class ScenarioExporter {
 public:
  virtual ~ScenarioExporter() = default;
  /// Format name as given to --format ("jsonl", "markdown", ...).
  virtual std::string format() const = 0;
  /// Writes the export to `out_path`: a file for single-file formats (jsonl),
  /// a directory (created if missing) for per-lesson formats (markdown).
  /// Returns the number of scenarios written.
  [[nodiscard]] virtual Result<std::size_t> write(
      const std::vector<store::ScenarioRecord>& scenarios, const std::string& out_path) const = 0;
};

/// The exporter for a format name; Error code "invalid" lists the known formats.
[[nodiscard]] Result<std::unique_ptr<ScenarioExporter>> makeExporter(const std::string& format);
std::vector<std::string> exporterFormats();

}  // namespace pso::controller::scenarios
