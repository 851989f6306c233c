#include "controller/scenarios/markdown_exporter.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "controller/scenarios/lesson_text.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

constexpr int kTextBarWidth = 48;

// A table cell: pipes would split the cell and newlines would end the row.
std::string cell(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    if (ch == '|') {
      out += "\\|";
    } else if (ch == '\n' || ch == '\r') {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out.empty() ? " " : out;
}

std::string blankUnknown(double value) {
  return std::isfinite(value) ? formatNumber(value) : " ";
}

void renderHeader(std::ostringstream& out, const Lesson& lesson) {
  out << "# " << lesson.title << "\n\n";
  out << "| | |\n|---|---|\n";
  for (const auto& [label, value] : headerRows(lesson)) {
    out << "| " << label << " | " << cell(value) << " |\n";
  }
  out << "\n";
}

void renderMarkdownSituation(std::ostringstream& out, const Lesson& lesson) {
  out << "## Situation\n\n| " << join(situationColumns(), " | ") << " |\n";
  out << "|---|---|---|---|---|---|---|\n";
  for (const auto& sys : lesson.systems) out << "| " << join(situationCells(sys), " | ") << " |\n";
  out << "\n";
  bool listed = false;
  for (const auto& sys : lesson.systems) {
    if (sys.depends_on.empty()) continue;
    out << "- " << sys.name << " depends on " << join(sys.depends_on, ", ") << ".\n";
    listed = true;
  }
  if (listed) out << "\n";
  if (!lesson.workflow_notes.empty()) {
    out << "Operator and rule actions this cycle:\n\n";
    for (const auto& note : lesson.workflow_notes) out << "- " << note << "\n";
    out << "\n";
  }
}

std::string chartLine(const TimelineRow& row, double scale) {
  std::string bar(kTextBarWidth + 1, ' ');
  auto column = [&](double v) {
    return std::clamp(static_cast<int>(std::lround(v / scale * kTextBarWidth)), 0, kTextBarWidth);
  };
  if (std::isfinite(row.demand)) {
    for (int i = 0; i < column(row.demand); ++i) bar[static_cast<std::size_t>(i)] = '#';
  }
  if (std::isfinite(row.lo) && std::isfinite(row.hi)) {
    const int a = column(row.lo), b = column(row.hi);
    for (int i = a; i <= b; ++i) bar[static_cast<std::size_t>(i)] = '-';
    bar[static_cast<std::size_t>(a)] = '[';
    bar[static_cast<std::size_t>(b)] = ']';
  }
  if (std::isfinite(row.point)) bar[static_cast<std::size_t>(column(row.point))] = '*';
  if (std::isfinite(row.capacity)) {
    auto& c = bar[static_cast<std::size_t>(column(row.capacity))];
    if (c == ' ') c = '|';
  }
  while (!bar.empty() && bar.back() == ' ') bar.pop_back();
  std::string label = offsetText(row.offset_s);
  if (label.size() < 8) label.insert(0, 8 - label.size(), ' ');
  return label + " " + bar;
}

void renderMarkdownForecast(std::ostringstream& out, const Lesson& lesson) {
  out << "## Forecast\n\n";
  bool any = false;
  for (const auto& sys : lesson.systems) {
    if (!sys.forecast) continue;
    any = true;
    const LessonForecast& f = *sys.forecast;
    out << "### " << sys.name << "\n\n";
    out << modelSentence(f) << " " << intervalSentence(f, lesson.step_s) << " " << planSentence(sys)
        << "\n\n";
    out << bottleneckSentence(f) << "\n\n";

    const auto rows = timeline(sys, kHistoryRowsShown, kForecastRowsShown);
    out << "| Time | Demand | Forecast | " << formatPercent(f.coverage)
        << " interval | Capacity |\n|---|---|---|---|---|\n";
    for (const auto& row : rows) {
      const std::string interval = std::isfinite(row.lo) && std::isfinite(row.hi)
                                       ? formatNumber(row.lo) + " to " + formatNumber(row.hi)
                                       : " ";
      out << "| " << offsetText(row.offset_s) << " | " << blankUnknown(row.demand) << " | "
          << blankUnknown(row.point) << " | " << interval << " | " << blankUnknown(row.capacity)
          << " |\n";
    }
    out << "\n";

    double scale = 0.0;
    for (const auto& row : rows) {
      for (double v : {row.demand, row.point, row.hi, row.capacity}) {
        if (std::isfinite(v)) scale = std::max(scale, v);
      }
    }
    if (scale <= 0) continue;
    out << "```text\n";
    out << "  scale: 0 to " << formatNumber(scale)
        << "   # demand   [-*-] forecast in its interval   | capacity (from now on)\n";
    for (const auto& row : rows) out << chartLine(row, scale) << "\n";
    out << "```\n\n";
  }
  if (!any) out << noForecastText(lesson) << "\n\n";
}

void renderMarkdownDecision(std::ostringstream& out, const Lesson& lesson) {
  out << "## Decision\n\n";
  for (const auto& sys : lesson.systems) {
    if (!sys.decision) continue;
    const LessonDecision& d = *sys.decision;
    out << "### " << sys.name << "\n\n**" << scaleText(d.current, d.desired) << "** ("
        << decisionDetails(d) << ").\n\n";
    out << "> " << d.rationale << "\n\n";
    if (d.has_facts) out << "What set the count: the engine " << engineReasonText(sys) << ".\n\n";
    if (!d.notes.empty()) {
      out << "Coordination and guardrails that changed the decision:\n\n";
      for (const auto& g : d.notes) out << "- " << g << "\n";
      out << "\n";
    }
    if (!d.candidates.empty()) {
      out << "| " << join(candidateColumns(), " | ") << " |\n|---|---|---|---|---|\n";
      for (const auto& c : d.candidates) out << "| " << join(candidateCells(c), " | ") << " |\n";
      out << "\n";
    }
  }
  if (!lesson.directives.empty()) {
    out << "### Directives\n\n| Id | System | Replicas | Source | Status | Reason |\n"
           "|---|---|---|---|---|---|\n";
    for (const auto& d : lesson.directives) {
      out << "| " << cell(d.id) << " | " << cell(d.system) << " | " << d.replicas << " | "
          << cell(d.source) << " | " << cell(d.status) << " | " << cell(d.reason) << " |\n";
    }
    out << "\n";
  }
}

void renderMarkdownReactive(std::ostringstream& out, const Lesson& lesson) {
  const bool any = std::any_of(lesson.systems.begin(), lesson.systems.end(),
                               [](const LessonSystem& s) { return s.reactive.has_value(); });
  if (!any) return;
  out << "## Reactive baseline\n\n" << kReactiveIntro << "\n\n";
  out << "| System | HPA rule | Engine | Differs | Why |\n|---|---|---|---|---|\n";
  for (const auto& sys : lesson.systems) {
    if (!sys.reactive) continue;
    out << "| " << cell(sys.name) << " | " << sys.reactive->replicas << " | "
        << (sys.decision ? std::to_string(sys.decision->desired) : "n/a") << " | "
        << (sys.reactive->differs ? "yes" : "no") << " | " << cell(sys.reactive->comparison)
        << " |\n";
  }
  out << "\n";
  for (const auto& sys : lesson.systems) {
    if (sys.reactive && !sys.reactive->rationale.empty()) {
      out << "- " << sys.name << " (HPA rule): " << sys.reactive->rationale << "\n";
    }
  }
  out << "\n";
}

void renderMarkdownList(std::ostringstream& out, const std::vector<std::string>& items,
                        const char* empty) {
  if (items.empty()) out << "- " << empty << "\n";
  for (const auto& line : items) out << "- " << line << "\n";
}

void renderMarkdownDebrief(std::ostringstream& out, const Lesson& lesson) {
  out << "## Debrief\n\n";
  if (!lesson.debrief) {
    out << kNoOutcomeYet << "\n\n";
    return;
  }
  const LessonDebrief& debrief = *lesson.debrief;
  out << "Observed from " << debrief.from << " to " << debrief.to << ".\n\n";
  out << "**Verdict:** " << debrief.verdict << "\n\n";
  out << "| " << join(debriefColumns(), " | ") << " |\n|---|---|---|---|---|---|---|\n";
  for (const auto& sys : lesson.systems) {
    if (sys.debrief) out << "| " << join(debriefCells(sys), " | ") << " |\n";
  }
  out << "\n### What went well\n\n";
  renderMarkdownList(out, debrief.went_well, "Nothing to note.");
  out << "\n### What went wrong\n\n";
  renderMarkdownList(out, debrief.went_wrong, "Nothing to note.");
  out << "\n### Where it got lucky\n\n";
  renderMarkdownList(out, debrief.got_lucky, "Nothing to note: what went well was planned.");
  out << "\n";
}

void renderMarkdownQuestions(std::ostringstream& out, const Lesson& lesson) {
  if (lesson.questions.empty()) return;
  out << "## Questions\n\n";
  std::size_t number = 0;
  for (const auto& q : lesson.questions) {
    out << ++number << ". " << q.prompt;
    if (!questionKind(q).empty()) out << " *(" << questionKind(q) << ")*";
    out << "\n";
    for (std::size_t i = 0; i < q.choices.size(); ++i) {
      out << "   - " << choiceLabel(i) << " " << q.choices[i].text << "\n";
    }
  }
  out << "\n<details>\n<summary>Answer key</summary>\n\n";
  number = 0;
  for (const auto& q : lesson.questions) {
    out << ++number << ". **" << answerKeyText(q) << "**. " << q.feedback << "\n";
    for (std::size_t i = 0; i < q.choices.size(); ++i) {
      if (q.choices[i].correct) continue;
      out << "   - " << choiceLabel(i) << " " << q.choices[i].feedback << "\n";
    }
  }
  out << "\n</details>\n";
}

// `link` turns a lesson's stem into the index's link target: a file in the
// directory form, an anchor in the one-document form.
std::string renderMarkdownIndex(const std::vector<LessonSummary>& lessons,
                                const std::function<std::string(const std::string&)>& link) {
  std::ostringstream out;
  out << "# PSO-PRIME scenario lessons\n\n"
      << lessons.size() << " lessons, grouped by learning level from the simplest.\n\n";
  for (const auto& [level, entries] : curriculum(lessons)) {
    out << "## " << levelTitle(level) << " (" << entries.size() << ")\n\n";
    for (const LessonSummary* s : entries) {
      out << "- [" << s->id << "](" << link(s->stem) << ") " << s->time << ": " << s->title
          << (s->events.empty() ? "" : " (" + join(s->events, ", ") + ")")
          << (s->debrief ? ", with debrief" : "") << "\n";
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace

std::string renderMarkdownLesson(const Lesson& lesson) {
  std::ostringstream out;
  renderHeader(out, lesson);
  renderMarkdownSituation(out, lesson);
  renderMarkdownForecast(out, lesson);
  renderMarkdownDecision(out, lesson);
  renderMarkdownReactive(out, lesson);
  renderMarkdownDebrief(out, lesson);
  renderMarkdownQuestions(out, lesson);
  return out.str();
}

std::string renderMarkdownLesson(const nlohmann::json& scenario) {
  return renderMarkdownLesson(buildLesson(scenario));
}

Result<std::size_t> MarkdownExporter::writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                              std::ostream& out) const {
  // The index comes first but lists every lesson: a first pass summarises them.
  auto lessons = summarizeAll(scenarios);
  if (!lessons) return lessons.error();
  out << renderMarkdownIndex(*lessons, [](const std::string& stem) { return "#" + stem; });
  Status written = forEachLesson(scenarios, [&](const Lesson& lesson) -> Status {
    out << "\n---\n\n<a id=\"" << lessonFileStem(lesson.id) << "\"></a>\n\n"
        << renderMarkdownLesson(lesson);
    return {};
  });
  if (!written.ok()) return written.error();
  return scenarios.size();
}

Result<std::size_t> MarkdownExporter::write(const std::vector<store::ScenarioRecord>& scenarios,
                                            const std::string& out_path) const {
  return writeLessonDirectory(
      scenarios, out_path, ".md", [](const Lesson& lesson) { return renderMarkdownLesson(lesson); },
      [](const std::vector<LessonSummary>& lessons) {
        return renderMarkdownIndex(lessons, [](const std::string& stem) { return stem + ".md"; });
      });
}

}  // namespace pso::controller::scenarios
