#include "controller/scenarios/exporter.h"

#include "controller/scenarios/gift_exporter.h"
#include "controller/scenarios/html_exporter.h"
#include "controller/scenarios/jsonl_exporter.h"
#include "controller/scenarios/markdown_exporter.h"

namespace pso::controller::scenarios {
namespace {

using ExporterFactory = std::unique_ptr<ScenarioExporter> (*)();

template <typename T>
std::unique_ptr<ScenarioExporter> make() {
  return std::make_unique<T>();
}

struct Registration {
  const char* format;
  ExporterFactory factory;
};

// The one place formats are registered: a new exporter adds its header above
// and one line here.
constexpr Registration kExporters[] = {
    {"jsonl", &make<JsonlExporter>},
    {"markdown", &make<MarkdownExporter>},
    {"html", &make<HtmlExporter>},
    {"gift", &make<GiftExporter>},
};

}  // namespace

std::vector<std::string> exporterFormats() {
  std::vector<std::string> formats;
  for (const auto& registration : kExporters) formats.emplace_back(registration.format);
  return formats;
}

Result<std::unique_ptr<ScenarioExporter>> makeExporter(const std::string& format) {
  for (const auto& registration : kExporters) {
    if (format == registration.format) return registration.factory();
  }
  std::string known;
  for (const auto& name : exporterFormats()) known += (known.empty() ? "" : ", ") + name;
  return makeError("invalid", "unknown export format '" + format + "' (known: " + known + ")");
}

}  // namespace pso::controller::scenarios
