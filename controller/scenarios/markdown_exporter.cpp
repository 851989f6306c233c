#include "controller/scenarios/markdown_exporter.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <sstream>

#include "common/clock.h"
#include "controller/scenarios/lesson_directory.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

constexpr std::size_t kTableHistoryRows = 12;
constexpr std::size_t kTableForecastRows = 24;
constexpr int kChartWidth = 48;

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

std::string offsetText(double seconds) {
  if (std::fabs(seconds) < 0.5) return "now";
  return (seconds > 0 ? "+" : "") + formatNumber(std::round(seconds)) + " s";
}

void renderHeader(std::ostringstream& out, const json& doc) {
  out << "# " << lessonTitle(doc) << "\n\n";
  const auto events = stringsAt(doc, "events");
  out << "| | |\n|---|---|\n";
  out << "| Scenario | " << cell(textAt(doc, "id")) << " |\n";
  out << "| Cycle | " << cell(textAt(doc, "cycle_id")) << " |\n";
  out << "| Time | " << cell(textAt(doc, "time")) << " |\n";
  out << "| Mode | " << cell(textAt(doc, "mode", "act")) << " |\n";
  out << "| Level | " << cell(levelTitle(textAt(doc, "level"))) << " |\n";
  out << "| Events | " << cell(events.empty() ? "none" : join(events, ", ")) << " |\n\n";
}

void renderSituation(std::ostringstream& out, const json& doc) {
  out << "## Situation\n\n";
  out << "| System | Demand | Replicas (current / ready) | Capacity per replica | Ready capacity | "
         "Utilisation | Target |\n";
  out << "|---|---|---|---|---|---|---|\n";
  const json& situation = memberAt(doc, "situation");
  for (const auto& name : stringsAt(doc, "systems")) {
    const json& s = memberAt(situation, name);
    const json& replicas = memberAt(s, "replicas");
    std::string counts = "n/a";
    if (replicas.is_object()) {
      counts = std::to_string(integerAt(replicas, "current")) + " / " +
               std::to_string(integerAt(replicas, "ready"));
    }
    out << "| " << cell(name) << " | " << formatNumber(numberAt(s, "demand")) << " | " << counts
        << " | " << formatNumber(numberAt(s, "capacity_per_replica")) << " | "
        << formatNumber(numberAt(s, "ready_capacity")) << " | "
        << formatPercent(numberAt(s, "utilization")) << " | "
        << formatPercent(numberAt(s, "target_utilization")) << " |\n";
  }
  out << "\n";
  bool listed = false;
  for (const auto& name : stringsAt(doc, "systems")) {
    const auto depends = stringsAt(memberAt(situation, name), "depends_on");
    if (depends.empty()) continue;
    out << "- " << name << " depends on " << join(depends, ", ") << ".\n";
    listed = true;
  }
  if (listed) out << "\n";
  const auto notes = stringsAt(doc, "workflow_notes");
  if (!notes.empty()) {
    out << "Operator and rule actions this cycle:\n\n";
    for (const auto& note : notes) out << "- " << note << "\n";
    out << "\n";
  }
}

struct ChartRow {
  std::string label;
  double demand = NAN;
  double point = NAN;
  double lo = NAN;
  double hi = NAN;
  double capacity = NAN;
};

std::string chartLine(const ChartRow& row, double scale) {
  std::string bar(kChartWidth + 1, ' ');
  auto column = [&](double v) {
    return std::clamp(static_cast<int>(std::lround(v / scale * kChartWidth)), 0, kChartWidth);
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
  std::string label = row.label;
  if (label.size() < 8) label.insert(0, 8 - label.size(), ' ');
  return label + " " + bar;
}

void renderForecast(std::ostringstream& out, const json& doc) {
  out << "## Forecast\n\n";
  const json& forecasts = memberAt(doc, "forecasts");
  const json& situation = memberAt(doc, "situation");
  const json& rationale = memberAt(doc, "rationale");
  const double step_s = numberAt(doc, "step_s", 15.0);
  const int64_t ts0 = integerAt(doc, "ts_ms");
  bool any = false;
  for (const auto& name : stringsAt(doc, "systems")) {
    const json& f = memberAt(forecasts, name);
    if (!f.is_object()) continue;
    any = true;
    const json& s = memberAt(situation, name);
    const double coverage = numberAt(f, "coverage", 0.9);
    const int64_t lead = integerAt(f, "lead_steps");
    const auto hi_steps = static_cast<int64_t>(numbersAt(f, "hi").size());
    const int64_t planning = hi_steps > 0 ? std::min(lead + 1, hi_steps) : lead + 1;
    out << "### " << name << "\n\n";
    out << "Model **" << textAt(f, "model", "unknown") << "** after "
        << integerAt(f, "observations") << " observations, one-step backtest MAE "
        << formatNumber(numberAt(f, "backtest_mae")) << "; the band is the central "
        << formatPercent(coverage) << " prediction interval. Replicas launched now serve after "
        << lead << " steps (" << formatNumber(static_cast<double>(lead) * step_s)
        << " s of warm-up); the engine plans for **" << formatNumber(numberAt(f, "planned_demand"))
        << "**, the highest upper bound over the next " << planning << " steps.\n\n";
    const json& b = memberAt(f, "bottleneck");
    if (b.is_object()) {
      out << "**Predicted bottleneck** (" << textAt(b, "kind", "capacity") << "): demand "
          << formatNumber(numberAt(b, "predicted_demand")) << " against a capacity of "
          << formatNumber(numberAt(b, "capacity")) << " at " << textAt(b, "eta") << ", "
          << integerAt(b, "steps_ahead") << " steps ahead (probability "
          << formatPercent(numberAt(b, "probability")) << ").\n\n";
    } else {
      out << "No bottleneck predicted within the horizon.\n\n";
    }

    const double cap = numberAt(s, "capacity_per_replica");
    const double ready_capacity = numberAt(s, "ready_capacity");
    const double desired_capacity =
        static_cast<double>(integerAt(memberAt(rationale, name), "desired_replicas", 0)) * cap;
    std::vector<ChartRow> rows;
    const json& history = memberAt(s, "history");
    if (history.is_array()) {
      const std::size_t start =
          history.size() > kTableHistoryRows ? history.size() - kTableHistoryRows : 0;
      for (std::size_t i = start; i < history.size(); ++i) {
        const json& pair = history[i];
        if (!pair.is_array() || pair.size() < 2) continue;
        ChartRow row;
        const double t = asNumber(pair[0], static_cast<double>(ts0));
        row.label = offsetText((t - static_cast<double>(ts0)) / 1000.0);
        row.demand = asNumber(pair[1]);
        row.capacity = ready_capacity;
        rows.push_back(row);
      }
    }
    const auto point = numbersAt(f, "point");
    const auto lo = numbersAt(f, "lo");
    const auto hi = numbersAt(f, "hi");
    for (std::size_t k = 0; k < point.size() && k < kTableForecastRows; ++k) {
      ChartRow row;
      row.label = offsetText(static_cast<double>(k + 1) * step_s);
      row.point = point[k];
      row.lo = k < lo.size() ? lo[k] : NAN;
      row.hi = k < hi.size() ? hi[k] : NAN;
      // New replicas serve from the lead step on; before it, only the ready ones.
      row.capacity = static_cast<int64_t>(k + 1) >= lead && desired_capacity > 0 ? desired_capacity
                                                                                 : ready_capacity;
      rows.push_back(row);
    }
    if (rows.empty()) continue;

    out << "| Time | Demand | Forecast | " << formatPercent(coverage)
        << " interval | Capacity |\n|---|---|---|---|---|\n";
    for (const auto& row : rows) {
      const std::string interval = std::isfinite(row.lo) && std::isfinite(row.hi)
                                       ? formatNumber(row.lo) + " to " + formatNumber(row.hi)
                                       : " ";
      out << "| " << row.label << " | "
          << (std::isfinite(row.demand) ? formatNumber(row.demand) : " ") << " | "
          << (std::isfinite(row.point) ? formatNumber(row.point) : " ") << " | " << interval
          << " | " << formatNumber(row.capacity) << " |\n";
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
        << "   # demand   [-*-] forecast in its interval   | capacity\n";
    for (const auto& row : rows) out << chartLine(row, scale) << "\n";
    out << "```\n\n";
  }
  if (!any) out << "No forecast was made in this cycle.\n\n";
}

void renderDecision(std::ostringstream& out, const json& doc) {
  out << "## Decision\n\n";
  const json& rationale = memberAt(doc, "rationale");
  const json& candidates = memberAt(doc, "candidates");
  for (const auto& name : stringsAt(doc, "systems")) {
    const json& r = memberAt(rationale, name);
    if (!r.is_object()) continue;
    const int64_t current = integerAt(r, "current_replicas");
    const int64_t desired = integerAt(r, "desired_replicas");
    out << "### " << name << "\n\n**" << scaleText(current, desired) << "** (rule `"
        << textAt(r, "rule", "unknown") << "`, recommended " << integerAt(r, "recommended_replicas")
        << ", " << (boolAt(r, "dispatch") ? "dispatched" : "not dispatched") << ").\n\n";
    out << "> " << textAt(r, "text") << "\n\n";
    const auto guardrails = stringsAt(r, "guardrails");
    if (!guardrails.empty()) {
      out << "Guardrails that changed the decision:\n\n";
      for (const auto& g : guardrails) out << "- " << g << "\n";
      out << "\n";
    }
    const json& list = memberAt(candidates, name);
    if (list.is_array() && !list.empty()) {
      out << "| Replicas | Predicted utilisation | Overload probability | Cost (replica-hours) | "
             "Note |\n|---|---|---|---|---|\n";
      for (const auto& c : list) {
        out << "| " << integerAt(c, "replicas") << (boolAt(c, "chosen") ? " (chosen)" : "") << " | "
            << formatPercent(numberAt(c, "predicted_utilization")) << " | "
            << formatPercent(numberAt(c, "overload_probability")) << " | "
            << formatNumber(numberAt(c, "cost_replica_hours")) << " | " << cell(textAt(c, "note"))
            << " |\n";
      }
      out << "\n";
    }
  }
  const json& directives = memberAt(doc, "directives");
  if (directives.is_array() && !directives.empty()) {
    out << "### Directives\n\n| Id | System | Replicas | Source | Status | Reason |\n"
           "|---|---|---|---|---|---|\n";
    for (const auto& d : directives) {
      out << "| " << cell(textAt(d, "id")) << " | " << cell(textAt(d, "system")) << " | "
          << integerAt(d, "replicas", -1) << " | " << cell(textAt(d, "source")) << " | "
          << cell(textAt(d, "status")) << " | " << cell(textAt(d, "reason")) << " |\n";
    }
    out << "\n";
  }
}

void renderReactive(std::ostringstream& out, const json& doc) {
  const json& reactive = memberAt(doc, "reactive_baseline");
  const json& rationale = memberAt(doc, "rationale");
  if (!reactive.is_object() || reactive.empty()) return;
  out << "## Reactive baseline\n\n"
         "What a reactive, HPA-style rule (scale on the demand observed now) would have "
         "done:\n\n";
  out << "| System | Reactive rule | Predictive engine | Differs | Why |\n|---|---|---|---|---|\n";
  for (const auto& name : stringsAt(doc, "systems")) {
    const json& r = memberAt(reactive, name);
    if (!r.is_object()) continue;
    out << "| " << cell(name) << " | " << integerAt(r, "replicas") << " | "
        << integerAt(memberAt(rationale, name), "desired_replicas") << " | "
        << (boolAt(r, "differs") ? "yes" : "no") << " | " << cell(textAt(r, "why")) << " |\n";
  }
  out << "\n";
  for (const auto& name : stringsAt(doc, "systems")) {
    const std::string text = textAt(memberAt(reactive, name), "rationale");
    if (!text.empty()) out << "- " << name << " (reactive rule): " << text << "\n";
  }
  out << "\n";
}

void renderDebrief(std::ostringstream& out, const json& doc) {
  out << "## Debrief\n\n";
  const json& outcome = memberAt(doc, "outcome");
  if (!outcome.is_object()) {
    out << "Outcome not known yet: the forecast horizon had not passed when this lesson was "
           "exported.\n\n";
    return;
  }
  const json& window = memberAt(outcome, "window");
  out << "Observed from " << textAt(window, "from") << " to " << textAt(window, "to") << ".\n\n";
  out << "**Verdict:** " << textAt(outcome, "verdict") << "\n\n";
  const json& systems = memberAt(outcome, "systems");
  out << "| System | Samples | MAE | Inside interval | Max demand | Overload | Bottleneck avoided "
         "|\n|---|---|---|---|---|---|---|\n";
  for (const auto& name : stringsAt(doc, "systems")) {
    const json& s = memberAt(systems, name);
    if (!s.is_object()) continue;
    const json& avoided = memberAt(s, "bottleneck_avoided");
    out << "| " << cell(name) << " | " << integerAt(s, "samples") << " | "
        << formatNumber(numberAt(s, "forecast_mae")) << " | "
        << formatPercent(numberAt(s, "inside_interval")) << " | "
        << formatNumber(numberAt(s, "max_demand")) << " | "
        << (boolAt(s, "overload") ? "yes, at " + textAt(s, "overload_at") : std::string("no"))
        << " | " << (avoided.is_boolean() ? (avoided.get<bool>() ? "yes" : "no") : "n/a") << " |\n";
  }
  out << "\n";
  const auto well = stringsAt(outcome, "went_well");
  const auto wrong = stringsAt(outcome, "went_wrong");
  out << "### What went well\n\n";
  if (well.empty()) out << "- Nothing to note.\n";
  for (const auto& line : well) out << "- " << line << "\n";
  out << "\n### What went wrong\n\n";
  if (wrong.empty()) out << "- Nothing to note.\n";
  for (const auto& line : wrong) out << "- " << line << "\n";
  const auto lucky = stringsAt(outcome, "got_lucky");
  out << "\n### Where it got lucky\n\n";
  if (lucky.empty()) out << "- Nothing to note: what went well was planned.\n";
  for (const auto& line : lucky) out << "- " << line << "\n";
  out << "\n";
}

std::string choiceLabel(std::size_t index) {
  return std::string(1, static_cast<char>('a' + index)) + ")";
}

void renderQuestions(std::ostringstream& out, const json& doc) {
  const json& questions = memberAt(doc, "questions");
  if (!questions.is_array() || questions.empty()) return;
  out << "## Questions\n\n";
  std::size_t number = 0;
  for (const auto& q : questions) {
    const std::string type = textAt(q, "type");
    out << ++number << ". " << textAt(q, "prompt");
    if (type == "numeric") out << " *(number)*";
    if (type == "short_answer") out << " *(short answer)*";
    out << "\n";
    const json& choices = memberAt(q, "choices");
    if (type == "multiple_choice" && choices.is_array()) {
      for (std::size_t i = 0; i < choices.size(); ++i) {
        out << "   - " << choiceLabel(i) << " " << textAt(choices[i], "text") << "\n";
      }
    }
  }
  out << "\n<details>\n<summary>Answer key</summary>\n\n";
  number = 0;
  for (const auto& q : questions) {
    const std::string type = textAt(q, "type");
    out << ++number << ". ";
    const json& answer = memberAt(q, "answer");
    if (type == "numeric") {
      out << "**" << formatNumber(asNumber(answer)) << "**";
      const double tolerance = numberAt(q, "tolerance", 0.0);
      out << (tolerance > 0 ? " (accepted within +/- " + formatNumber(tolerance) + ")"
                            : std::string(" (exact)"));
    } else if (type == "multiple_choice") {
      const json& choices = memberAt(q, "choices");
      for (std::size_t i = 0; choices.is_array() && i < choices.size(); ++i) {
        if (boolAt(choices[i], "correct")) {
          out << "**" << choiceLabel(i) << " " << textAt(choices[i], "text") << "**";
        }
      }
    } else {
      out << "**" << (answer.is_string() ? answer.get<std::string>() : answer.dump()) << "**";
    }
    out << ". " << textAt(q, "feedback") << "\n";
    const json& choices = memberAt(q, "choices");
    if (type == "multiple_choice" && choices.is_array()) {
      for (std::size_t i = 0; i < choices.size(); ++i) {
        if (boolAt(choices[i], "correct")) continue;
        out << "   - " << choiceLabel(i) << " " << textAt(choices[i], "feedback") << "\n";
      }
    }
  }
  out << "\n</details>\n";
}

std::string renderIndex(const std::vector<json>& lessons) {
  std::ostringstream out;
  out << "# PSO-PRIME scenario lessons\n\n"
      << lessons.size() << " lessons, grouped by learning level from the simplest.\n\n";
  std::map<std::string, std::vector<const json*>> by_level;
  for (const auto& doc : lessons) by_level[textAt(doc, "level")].push_back(&doc);
  for (const auto& level : curriculumOrder(by_level)) {
    auto it = by_level.find(level);
    if (it == by_level.end()) continue;
    out << "## " << levelTitle(level) << " (" << it->second.size() << ")\n\n";
    for (const json* doc : it->second) {
      const std::string id = textAt(*doc, "id");
      const auto events = stringsAt(*doc, "events");
      out << "- [" << id << "](" << lessonFileStem(id) << ".md) " << textAt(*doc, "time") << ": "
          << lessonTitle(*doc) << (events.empty() ? "" : " (" + join(events, ", ") + ")")
          << (memberAt(*doc, "outcome").is_object() ? ", with debrief" : "") << "\n";
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace

std::string lessonFileStem(const std::string& scenario_id) {
  std::string out = scenario_id;
  for (char& ch : out) {
    const bool safe =
        std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
    if (!safe) ch = '_';
  }
  // Never a hidden file or a path step.
  if (out.empty() || out.front() == '.') out.insert(0, "s");
  return out;
}

std::string renderMarkdownLesson(const json& scenario) {
  std::ostringstream out;
  renderHeader(out, scenario);
  renderSituation(out, scenario);
  renderForecast(out, scenario);
  renderDecision(out, scenario);
  renderReactive(out, scenario);
  renderDebrief(out, scenario);
  renderQuestions(out, scenario);
  return out.str();
}

Result<std::size_t> MarkdownExporter::write(const std::vector<store::ScenarioRecord>& scenarios,
                                            const std::string& out_path) const {
  return writeLessonDirectory(scenarios, out_path, ".md", renderMarkdownLesson, renderIndex);
}

}  // namespace pso::controller::scenarios
