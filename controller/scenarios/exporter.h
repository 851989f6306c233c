#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/store/store.h"

namespace pso::controller::scenarios {

/// Turns stored scenarios into material for trainers. One implementation per
/// format, registered by name in makeExporter(). Every format writes to a
/// stream (writeTo), so the HTTP API serves any of them without a temporary
/// file; write() puts the same export on disk.
class ScenarioExporter {
 public:
  virtual ~ScenarioExporter() = default;
  /// Format name as given to --format ("jsonl", "markdown", ...).
  virtual std::string format() const = 0;
  /// The media type of what writeTo() produces.
  virtual std::string contentType() const = 0;
  /// Writes the whole export to `out` as one stream: for the per-lesson
  /// formats (markdown, html) one self-contained document with the
  /// curriculum index first and every lesson after it. Returns the number of
  /// scenarios written; on an error `out` may hold part of the export.
  [[nodiscard]] virtual Result<std::size_t> writeTo(
      const std::vector<store::ScenarioRecord>& scenarios, std::ostream& out) const = 0;
  /// Writes the export to `out_path`: by default writeTo()'s stream into one
  /// file, atomically (its parent directory is created if missing); the
  /// per-lesson formats write a directory instead (see their headers).
  /// Returns the number of scenarios written.
  [[nodiscard]] virtual Result<std::size_t> write(
      const std::vector<store::ScenarioRecord>& scenarios, const std::string& out_path) const;
};

/// The exporter for a format name; Error code "invalid" lists the known formats.
[[nodiscard]] Result<std::unique_ptr<ScenarioExporter>> makeExporter(const std::string& format);
std::vector<std::string> exporterFormats();

/// A stored scenario's document: code "invalid" naming the scenario when it
/// is not a JSON object. A document without an id takes the record's.
[[nodiscard]] Result<nlohmann::json> parseScenarioDocument(const store::ScenarioRecord& record);

}  // namespace pso::controller::scenarios
