#include "controller/scenarios/exporter.h"

#include <array>
#include <filesystem>
#include <streambuf>

#include "controller/scenarios/atomic_file.h"
#include "controller/scenarios/cmi5_package.h"
#include "controller/scenarios/course_exporter.h"
#include "controller/scenarios/exercise_exporter.h"
#include "controller/scenarios/gift_exporter.h"
#include "controller/scenarios/html_exporter.h"
#include "controller/scenarios/jsonl_exporter.h"
#include "controller/scenarios/markdown_exporter.h"
#include "controller/scenarios/scenario_text.h"
#include "controller/scenarios/xapi_exporter.h"

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
    {"xapi", &make<XapiExporter>},
    {"course-html", &make<CourseHtmlExporter>},
    {"course-markdown", &make<CourseMarkdownExporter>},
    {"cmi5", &make<Cmi5Exporter>},
    {"exercise-html", &make<ExerciseHtmlExporter>},
};

// A stream buffer over an AtomicFileWriter: an export streams into the
// temporary file in blocks, and the first write error is kept for commit.
class AtomicFileBuffer : public std::streambuf {
 public:
  explicit AtomicFileBuffer(AtomicFileWriter& writer) : writer_(writer) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  Status status() const { return status_; }

 protected:
  int_type overflow(int_type ch) override {
    if (!flushBuffer()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  int sync() override { return flushBuffer() ? 0 : -1; }

 private:
  bool flushBuffer() {
    if (!status_.ok()) return false;
    const auto size = static_cast<std::size_t>(pptr() - pbase());
    if (size > 0) status_ = writer_.append(std::string_view(pbase(), size));
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return status_.ok();
  }

  AtomicFileWriter& writer_;
  std::array<char, 1 << 16> buffer_{};
  Status status_;
};

}  // namespace

Result<std::size_t> ScenarioExporter::write(const std::vector<store::ScenarioRecord>& scenarios,
                                            const std::string& out_path) const {
  const auto parent = std::filesystem::path(out_path).parent_path();
  if (!parent.empty()) {
    if (auto st = ensureDirectory(parent.string()); !st.ok()) return st.error();
  }
  auto writer = AtomicFileWriter::create(out_path);
  if (!writer.ok()) return writer.error();
  AtomicFileBuffer buffer(*writer);
  std::ostream out(&buffer);
  auto written = writeTo(scenarios, out);
  out.flush();
  if (!written) return written.error();
  if (auto st = buffer.status(); !st.ok()) return st.error();
  if (auto st = writer->commit(); !st.ok()) return st.error();
  return written;
}

Result<nlohmann::json> parseScenarioDocument(const store::ScenarioRecord& record) {
  auto document = nlohmann::json::parse(record.json, nullptr, false);
  if (!document.is_object()) {
    return makeError("invalid",
                     "scenario '" + record.id + "': stored document is not a JSON object");
  }
  if (textAt(document, "id").empty()) document["id"] = record.id;
  return document;
}

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
