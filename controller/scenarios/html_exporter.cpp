#include "controller/scenarios/html_exporter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "controller/scenarios/lesson_directory.h"
#include "controller/scenarios/markdown_exporter.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

constexpr double kChartWidth = 720;
constexpr double kChartHeight = 260;
constexpr double kMarginLeft = 56;
constexpr double kMarginRight = 16;
constexpr double kMarginTop = 16;
constexpr double kMarginBottom = 40;
constexpr std::size_t kChartHistoryPoints = 120;
constexpr std::size_t kChartMinHistoryPoints = 24;

constexpr const char* kStyle = R"css(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2330;line-height:1.45}
h1{font-size:1.6rem}h2{border-bottom:1px solid #d8dde6;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.8rem 0}td,th{border:1px solid #d8dde6;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f4f8}blockquote{border-left:4px solid #8aa4c8;margin:.8rem 0;padding:.2rem .8rem;background:#f6f8fb}
.tag{display:inline-block;background:#e8eef7;border-radius:.6rem;padding:0 .5rem;margin-right:.3rem;font-size:.9rem}
figure{margin:1rem 0}figcaption{font-size:.9rem;color:#4a5568}details{margin:1rem 0}summary{cursor:pointer;font-weight:600}
.well{color:#1e6b34}.wrong{color:#a12a2a}.lucky{color:#8a5a00}
)css";

std::string num(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

struct Point {
  double t_s;  // seconds from the cycle
  double v;
};

struct ChartData {
  std::vector<Point> history;
  std::vector<Point> point, lo, hi;
  double ready_capacity = NAN;
  double desired_capacity = NAN;
  double lead_s = 0;
  int64_t current = 0;
  int64_t desired = 0;
};

ChartData chartData(const json& doc, const std::string& system) {
  ChartData c;
  const json& s = memberAt(memberAt(doc, "situation"), system);
  const json& f = memberAt(memberAt(doc, "forecasts"), system);
  const json& r = memberAt(memberAt(doc, "rationale"), system);
  const double ts0 = numberAt(doc, "ts_ms", 0.0);
  const double step_s = numberAt(doc, "step_s", 15.0);
  const json& history = memberAt(s, "history");
  // Enough history for context, not so much that the forecast is squashed
  // into the right edge: a few horizons' worth.
  const std::size_t horizon = numbersAt(f, "point").size();
  const std::size_t shown =
      std::min(kChartHistoryPoints, std::max<std::size_t>(kChartMinHistoryPoints, 4 * horizon));
  if (history.is_array()) {
    const std::size_t start = history.size() > shown ? history.size() - shown : 0;
    for (std::size_t i = start; i < history.size(); ++i) {
      const json& pair = history[i];
      if (!pair.is_array() || pair.size() < 2) continue;
      const double t = asNumber(pair[0]);
      const double v = asNumber(pair[1]);
      if (std::isfinite(t) && std::isfinite(v)) c.history.push_back({(t - ts0) / 1000.0, v});
    }
  }
  auto series = [&](const char* key, std::vector<Point>& out) {
    const auto values = numbersAt(f, key);
    for (std::size_t k = 0; k < values.size(); ++k) {
      if (std::isfinite(values[k])) {
        out.push_back({static_cast<double>(k + 1) * step_s, values[k]});
      }
    }
  };
  series("point", c.point);
  series("lo", c.lo);
  series("hi", c.hi);
  const double cap = numberAt(s, "capacity_per_replica");
  c.ready_capacity = numberAt(s, "ready_capacity");
  c.current = integerAt(r, "current_replicas");
  c.desired = integerAt(r, "desired_replicas", c.current);
  c.desired_capacity = static_cast<double>(c.desired) * cap;
  c.lead_s = static_cast<double>(integerAt(f, "lead_steps")) * step_s;
  return c;
}

}  // namespace

std::string htmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string renderSvgChart(const json& doc, const std::string& system) {
  const ChartData c = chartData(doc, system);
  if (c.history.empty() && c.point.empty()) return "";
  double t_min = 0, t_max = 0, v_max = 0;
  auto widen = [&](const std::vector<Point>& points) {
    for (const auto& p : points) {
      t_min = std::min(t_min, p.t_s);
      t_max = std::max(t_max, p.t_s);
      v_max = std::max(v_max, p.v);
    }
  };
  widen(c.history);
  widen(c.point);
  widen(c.hi);
  for (double v : {c.ready_capacity, c.desired_capacity}) {
    if (std::isfinite(v)) v_max = std::max(v_max, v);
  }
  if (t_max <= t_min) t_max = t_min + 1;
  if (v_max <= 0) v_max = 1;
  v_max *= 1.1;
  const double plot_w = kChartWidth - kMarginLeft - kMarginRight;
  const double plot_h = kChartHeight - kMarginTop - kMarginBottom;
  auto x = [&](double t) { return kMarginLeft + (t - t_min) / (t_max - t_min) * plot_w; };
  auto y = [&](double v) { return kMarginTop + plot_h - std::clamp(v / v_max, 0.0, 1.0) * plot_h; };
  auto polyline = [&](const std::vector<Point>& points) {
    std::string out;
    for (const auto& p : points) out += num(x(p.t_s)) + "," + num(y(p.v)) + " ";
    if (!out.empty()) out.pop_back();
    return out;
  };

  const std::string label =
      system + ": demand history, forecast with its " +
      formatPercent(numberAt(memberAt(memberAt(doc, "forecasts"), system), "coverage", 0.9)) +
      " interval, and capacity before and after the decision (" + std::to_string(c.current) +
      " to " + std::to_string(c.desired) + " replicas)";
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << kChartWidth << " "
      << kChartHeight << "\" width=\"" << kChartWidth << "\" height=\"" << kChartHeight
      << "\" role=\"img\" aria-label=\"" << htmlEscape(label) << "\">\n";
  svg << "<title>" << htmlEscape(label) << "</title>\n";
  svg << "<rect x=\"" << kMarginLeft << "\" y=\"" << kMarginTop << "\" width=\"" << num(plot_w)
      << "\" height=\"" << num(plot_h) << "\" fill=\"#fbfcfe\" stroke=\"#c9d1dd\"/>\n";
  // Axes: value scale on the left, time offsets below.
  for (int i = 0; i <= 4; ++i) {
    const double v = v_max * i / 4.0;
    svg << "<line x1=\"" << kMarginLeft << "\" x2=\"" << num(kMarginLeft + plot_w) << "\" y1=\""
        << num(y(v)) << "\" y2=\"" << num(y(v)) << "\" stroke=\"#e3e8ef\"/>"
        << "<text x=\"" << num(kMarginLeft - 6) << "\" y=\"" << num(y(v) + 4)
        << "\" font-size=\"11\" text-anchor=\"end\" fill=\"#4a5568\">" << formatNumber(v)
        << "</text>\n";
  }
  double last_label_x = -1e9;
  for (double t : {t_min, 0.0, t_max}) {
    // Labels closer than their width would overlap: keep the first.
    if (x(t) - last_label_x < 48) continue;
    last_label_x = x(t);
    const std::string text =
        std::fabs(t) < 0.5 ? "now" : (t > 0 ? "+" : "") + formatNumber(std::round(t)) + " s";
    svg << "<text x=\"" << num(x(t)) << "\" y=\"" << num(kMarginTop + plot_h + 16)
        << "\" font-size=\"11\" text-anchor=\""
        << (t == t_min ? "start" : (t == t_max ? "end" : "middle")) << "\" fill=\"#4a5568\">"
        << htmlEscape(text) << "</text>\n";
  }
  if (!c.hi.empty() && c.hi.size() == c.lo.size()) {
    std::vector<Point> band = c.hi;
    for (auto it = c.lo.rbegin(); it != c.lo.rend(); ++it) band.push_back(*it);
    svg << "<polygon class=\"band\" points=\"" << polyline(band)
        << "\" fill=\"#9fc0ea\" fill-opacity=\"0.45\" stroke=\"none\"/>\n";
  }
  if (std::isfinite(c.ready_capacity)) {
    // Launched replicas serve after the warm-up: ready capacity until then.
    std::vector<Point> capacity = {{t_min, c.ready_capacity}};
    const double switch_t = std::min(std::max(c.lead_s, 0.0), t_max);
    capacity.push_back({switch_t, c.ready_capacity});
    const double after = std::isfinite(c.desired_capacity) && c.desired_capacity > 0
                             ? c.desired_capacity
                             : c.ready_capacity;
    capacity.push_back({switch_t, after});
    capacity.push_back({t_max, after});
    svg << "<polyline class=\"capacity\" points=\"" << polyline(capacity)
        << "\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n";
  }
  if (!c.history.empty()) {
    svg << "<polyline class=\"history\" points=\"" << polyline(c.history)
        << "\" fill=\"none\" stroke=\"#1d2330\" stroke-width=\"2\"/>\n";
  }
  if (!c.point.empty()) {
    std::vector<Point> forecast = c.point;
    if (!c.history.empty()) forecast.insert(forecast.begin(), c.history.back());
    svg << "<polyline class=\"forecast\" points=\"" << polyline(forecast)
        << "\" fill=\"none\" stroke=\"#2c6fbb\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>\n";
  }
  // The decision's label goes where there is room beside the "now" line.
  const bool label_left = x(0) > kMarginLeft + plot_w * 0.6;
  svg << "<line x1=\"" << num(x(0)) << "\" x2=\"" << num(x(0)) << "\" y1=\"" << kMarginTop
      << "\" y2=\"" << num(kMarginTop + plot_h) << "\" stroke=\"#6b7280\"/>"
      << "<text x=\"" << num(label_left ? x(0) - 4 : x(0) + 4) << "\" y=\"" << num(kMarginTop + 12)
      << "\" font-size=\"11\" text-anchor=\"" << (label_left ? "end" : "start")
      << "\" fill=\"#1d2330\">decision: " << c.current << " &#8594; " << c.desired
      << " replicas</text>\n";
  const double legend_y = kChartHeight - 8;
  svg << "<g font-size=\"11\" fill=\"#1d2330\">"
      << "<line x1=\"60\" x2=\"80\" y1=\"" << num(legend_y - 4) << "\" y2=\"" << num(legend_y - 4)
      << "\" stroke=\"#1d2330\" stroke-width=\"2\"/><text x=\"84\" y=\"" << num(legend_y)
      << "\">demand</text>"
      << "<line x1=\"150\" x2=\"170\" y1=\"" << num(legend_y - 4) << "\" y2=\"" << num(legend_y - 4)
      << "\" stroke=\"#2c6fbb\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/><text x=\"174\" y=\""
      << num(legend_y) << "\">forecast</text>"
      << "<rect x=\"244\" y=\"" << num(legend_y - 9)
      << "\" width=\"20\" height=\"9\" fill=\"#9fc0ea\" fill-opacity=\"0.45\"/><text x=\"268\" "
         "y=\""
      << num(legend_y) << "\">interval</text>"
      << "<line x1=\"330\" x2=\"350\" y1=\"" << num(legend_y - 4) << "\" y2=\"" << num(legend_y - 4)
      << "\" stroke=\"#c0392b\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/><text x=\"354\" y=\""
      << num(legend_y) << "\">capacity</text></g>\n";
  svg << "</svg>";
  return svg.str();
}

namespace {

void tableRow(std::ostringstream& out, const std::vector<std::string>& cells, bool header = false) {
  out << "<tr>";
  for (const auto& c : cells) {
    out << (header ? "<th>" : "<td>") << htmlEscape(c) << (header ? "</th>" : "</td>");
  }
  out << "</tr>\n";
}

void renderList(std::ostringstream& out, const std::vector<std::string>& items,
                const std::string& css, const std::string& empty) {
  out << "<ul class=\"" << css << "\">\n";
  if (items.empty()) out << "<li>" << htmlEscape(empty) << "</li>\n";
  for (const auto& item : items) out << "<li>" << htmlEscape(item) << "</li>\n";
  out << "</ul>\n";
}

void renderSituation(std::ostringstream& out, const json& doc) {
  out << "<h2>Situation</h2>\n<table>\n";
  tableRow(out,
           {"System", "Demand", "Replicas (current / ready)", "Capacity per replica",
            "Ready capacity", "Utilisation", "Target"},
           true);
  const json& situation = memberAt(doc, "situation");
  for (const auto& name : stringsAt(doc, "systems")) {
    const json& s = memberAt(situation, name);
    const json& replicas = memberAt(s, "replicas");
    tableRow(out, {name, formatNumber(numberAt(s, "demand")),
                   replicas.is_object() ? std::to_string(integerAt(replicas, "current")) + " / " +
                                              std::to_string(integerAt(replicas, "ready"))
                                        : "n/a",
                   formatNumber(numberAt(s, "capacity_per_replica")),
                   formatNumber(numberAt(s, "ready_capacity")),
                   formatPercent(numberAt(s, "utilization")),
                   formatPercent(numberAt(s, "target_utilization"))});
  }
  out << "</table>\n";
  for (const auto& name : stringsAt(doc, "systems")) {
    const auto depends = stringsAt(memberAt(situation, name), "depends_on");
    if (!depends.empty()) {
      out << "<p>" << htmlEscape(name + " depends on " + join(depends, ", ")) << ".</p>\n";
    }
  }
  const auto notes = stringsAt(doc, "workflow_notes");
  if (!notes.empty()) {
    out << "<p>Operator and rule actions this cycle:</p>\n";
    renderList(out, notes, "notes", "");
  }
}

void renderForecast(std::ostringstream& out, const json& doc) {
  out << "<h2>Forecast</h2>\n";
  const json& forecasts = memberAt(doc, "forecasts");
  bool any = false;
  for (const auto& name : stringsAt(doc, "systems")) {
    const json& f = memberAt(forecasts, name);
    if (!f.is_object()) continue;
    any = true;
    out << "<h3>" << htmlEscape(name) << "</h3>\n<p>Model <strong>"
        << htmlEscape(textAt(f, "model", "unknown")) << "</strong> after "
        << integerAt(f, "observations") << " observations, one-step backtest MAE "
        << formatNumber(numberAt(f, "backtest_mae")) << "; the band is the central "
        << formatPercent(numberAt(f, "coverage", 0.9))
        << " prediction interval. The engine plans for <strong>"
        << formatNumber(numberAt(f, "planned_demand")) << "</strong>, the highest upper bound over "
        << "the warm-up (" << integerAt(f, "lead_steps") << " steps) plus one step.</p>\n";
    const json& b = memberAt(f, "bottleneck");
    if (b.is_object()) {
      out << "<p><strong>Predicted bottleneck</strong> ("
          << htmlEscape(textAt(b, "kind", "capacity")) << "): demand "
          << formatNumber(numberAt(b, "predicted_demand")) << " against a capacity of "
          << formatNumber(numberAt(b, "capacity")) << " at " << htmlEscape(textAt(b, "eta")) << ", "
          << integerAt(b, "steps_ahead") << " steps ahead (probability "
          << formatPercent(numberAt(b, "probability")) << ").</p>\n";
    } else {
      out << "<p>No bottleneck predicted within the horizon.</p>\n";
    }
    const std::string chart = renderSvgChart(doc, name);
    if (!chart.empty()) {
      out << "<figure>\n"
          << chart << "\n<figcaption>" << htmlEscape(name)
          << ": history (solid), forecast (dashed) in its interval band, capacity (red, "
             "dashed) switching to the decided count once the warm-up has passed."
          << "</figcaption>\n</figure>\n";
    }
  }
  if (!any) out << "<p>No forecast was made in this cycle.</p>\n";
}

void renderDecision(std::ostringstream& out, const json& doc) {
  out << "<h2>Decision</h2>\n";
  const json& rationale = memberAt(doc, "rationale");
  const json& candidates = memberAt(doc, "candidates");
  for (const auto& name : stringsAt(doc, "systems")) {
    const json& r = memberAt(rationale, name);
    if (!r.is_object()) continue;
    const int64_t current = integerAt(r, "current_replicas");
    const int64_t desired = integerAt(r, "desired_replicas");
    out << "<h3>" << htmlEscape(name) << "</h3>\n<p><strong>" << scaleText(current, desired)
        << "</strong> (rule <code>" << htmlEscape(textAt(r, "rule", "unknown"))
        << "</code>, recommended " << integerAt(r, "recommended_replicas") << ", "
        << (boolAt(r, "dispatch") ? "dispatched" : "not dispatched") << ").</p>\n";
    out << "<blockquote>" << htmlEscape(textAt(r, "text")) << "</blockquote>\n";
    const auto guardrails = stringsAt(r, "guardrails");
    if (!guardrails.empty()) {
      out << "<p>Guardrails that changed the decision:</p>\n";
      renderList(out, guardrails, "guardrails", "");
    }
    const json& list = memberAt(candidates, name);
    if (list.is_array() && !list.empty()) {
      out << "<table>\n";
      tableRow(out,
               {"Replicas", "Predicted utilisation", "Overload probability", "Cost (replica-hours)",
                "Note"},
               true);
      for (const auto& c : list) {
        tableRow(out, {std::to_string(integerAt(c, "replicas")) +
                           (boolAt(c, "chosen") ? " (chosen)" : ""),
                       formatPercent(numberAt(c, "predicted_utilization")),
                       formatPercent(numberAt(c, "overload_probability")),
                       formatNumber(numberAt(c, "cost_replica_hours")), textAt(c, "note")});
      }
      out << "</table>\n";
    }
  }
  const json& directives = memberAt(doc, "directives");
  if (directives.is_array() && !directives.empty()) {
    out << "<h3>Directives</h3>\n<table>\n";
    tableRow(out, {"Id", "System", "Replicas", "Source", "Status", "Reason"}, true);
    for (const auto& d : directives) {
      tableRow(out,
               {textAt(d, "id"), textAt(d, "system"), std::to_string(integerAt(d, "replicas", -1)),
                textAt(d, "source"), textAt(d, "status"), textAt(d, "reason")});
    }
    out << "</table>\n";
  }
}

void renderReactive(std::ostringstream& out, const json& doc) {
  const json& reactive = memberAt(doc, "reactive_baseline");
  const json& rationale = memberAt(doc, "rationale");
  if (!reactive.is_object() || reactive.empty()) return;
  out << "<h2>Reactive baseline</h2>\n<p>What a reactive, HPA-style rule (scale on the demand "
         "observed now) would have done:</p>\n<table>\n";
  tableRow(out, {"System", "Reactive rule", "Predictive engine", "Differs", "Why"}, true);
  for (const auto& name : stringsAt(doc, "systems")) {
    const json& r = memberAt(reactive, name);
    if (!r.is_object()) continue;
    tableRow(out, {name, std::to_string(integerAt(r, "replicas")),
                   std::to_string(integerAt(memberAt(rationale, name), "desired_replicas")),
                   boolAt(r, "differs") ? "yes" : "no", textAt(r, "why")});
  }
  out << "</table>\n";
}

void renderDebrief(std::ostringstream& out, const json& doc) {
  out << "<h2>Debrief</h2>\n";
  const json& outcome = memberAt(doc, "outcome");
  if (!outcome.is_object()) {
    out << "<p>Outcome not known yet: the forecast horizon had not passed when this lesson was "
           "exported.</p>\n";
    return;
  }
  const json& window = memberAt(outcome, "window");
  out << "<p>Observed from " << htmlEscape(textAt(window, "from")) << " to "
      << htmlEscape(textAt(window, "to")) << ".</p>\n<p><strong>Verdict:</strong> "
      << htmlEscape(textAt(outcome, "verdict")) << "</p>\n<table>\n";
  tableRow(out,
           {"System", "Samples", "MAE", "Inside interval", "Max demand", "Overload",
            "Bottleneck avoided"},
           true);
  const json& systems = memberAt(outcome, "systems");
  for (const auto& name : stringsAt(doc, "systems")) {
    const json& s = memberAt(systems, name);
    if (!s.is_object()) continue;
    const json& avoided = memberAt(s, "bottleneck_avoided");
    tableRow(
        out,
        {name, std::to_string(integerAt(s, "samples")), formatNumber(numberAt(s, "forecast_mae")),
         formatPercent(numberAt(s, "inside_interval")), formatNumber(numberAt(s, "max_demand")),
         boolAt(s, "overload") ? "yes, at " + textAt(s, "overload_at") : "no",
         avoided.is_boolean() ? (avoided.get<bool>() ? "yes" : "no") : "n/a"});
  }
  out << "</table>\n<h3>What went well</h3>\n";
  renderList(out, stringsAt(outcome, "went_well"), "well", "Nothing to note.");
  out << "<h3>What went wrong</h3>\n";
  renderList(out, stringsAt(outcome, "went_wrong"), "wrong", "Nothing to note.");
  out << "<h3>Where it got lucky</h3>\n";
  renderList(out, stringsAt(outcome, "got_lucky"), "lucky",
             "Nothing to note: what went well was planned.");
}

void renderQuestions(std::ostringstream& out, const json& doc) {
  const json& questions = memberAt(doc, "questions");
  if (!questions.is_array() || questions.empty()) return;
  out << "<h2>Questions</h2>\n<ol>\n";
  for (const auto& q : questions) {
    const std::string type = textAt(q, "type");
    out << "<li id=\"" << htmlEscape(textAt(q, "id")) << "\">" << htmlEscape(textAt(q, "prompt"));
    if (type == "numeric") out << " <em>(number)</em>";
    if (type == "short_answer") out << " <em>(short answer)</em>";
    const json& choices = memberAt(q, "choices");
    if (type == "multiple_choice" && choices.is_array()) {
      out << "<ol type=\"a\">";
      for (const auto& c : choices) out << "<li>" << htmlEscape(textAt(c, "text")) << "</li>";
      out << "</ol>";
    }
    out << "</li>\n";
  }
  out << "</ol>\n<details>\n<summary>Answer key</summary>\n<ol>\n";
  for (const auto& q : questions) {
    const std::string type = textAt(q, "type");
    const json& answer = memberAt(q, "answer");
    std::string key;
    if (type == "numeric") {
      const double tolerance = numberAt(q, "tolerance", 0.0);
      key = formatNumber(asNumber(answer)) +
            (tolerance > 0 ? " (accepted within +/- " + formatNumber(tolerance) + ")" : " (exact)");
    } else {
      key = answer.is_string() ? answer.get<std::string>() : answer.dump();
    }
    out << "<li><strong>" << htmlEscape(key) << "</strong>. " << htmlEscape(textAt(q, "feedback"));
    const json& choices = memberAt(q, "choices");
    if (type == "multiple_choice" && choices.is_array()) {
      out << "<ul>";
      for (const auto& c : choices) {
        if (!boolAt(c, "correct")) {
          out << "<li>" << htmlEscape(textAt(c, "text") + ": " + textAt(c, "feedback")) << "</li>";
        }
      }
      out << "</ul>";
    }
    out << "</li>\n";
  }
  out << "</ol>\n</details>\n";
}

std::string page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         htmlEscape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n" + body +
         "</body>\n</html>\n";
}

std::string renderIndex(const std::vector<json>& lessons) {
  std::ostringstream out;
  out << "<h1>PSO-PRIME scenario lessons</h1>\n<p>" << lessons.size()
      << " lessons, in curriculum order: learning levels from the simplest, lessons by time "
         "within a level.</p>\n";
  std::map<std::string, std::vector<const json*>> by_level;
  for (const auto& doc : lessons) by_level[textAt(doc, "level")].push_back(&doc);
  for (const auto& level : curriculumOrder(by_level)) {
    const auto& docs = by_level[level];
    out << "<h2 id=\"" << htmlEscape(level) << "\">" << htmlEscape(levelTitle(level)) << " ("
        << docs.size() << ")</h2>\n<ol>\n";
    for (const json* doc : docs) {
      const std::string id = textAt(*doc, "id");
      const auto events = stringsAt(*doc, "events");
      out << "<li><a href=\"" << htmlEscape(lessonFileStem(id)) << ".html\">"
          << htmlEscape(lessonTitle(*doc)) << "</a> " << htmlEscape(textAt(*doc, "time"));
      for (const auto& e : events) out << " <span class=\"tag\">" << htmlEscape(e) << "</span>";
      if (memberAt(*doc, "outcome").is_object()) out << " (with debrief)";
      out << "</li>\n";
    }
    out << "</ol>\n";
  }
  return page("PSO-PRIME scenario lessons", out.str());
}

}  // namespace

std::string renderHtmlLesson(const json& doc) {
  std::ostringstream out;
  const std::string title = lessonTitle(doc);
  out << "<p><a href=\"index.html\">All lessons</a></p>\n<h1>" << htmlEscape(title) << "</h1>\n";
  out << "<table>\n";
  tableRow(out, {"Scenario", textAt(doc, "id")});
  tableRow(out, {"Cycle", textAt(doc, "cycle_id")});
  tableRow(out, {"Time", textAt(doc, "time")});
  tableRow(out, {"Mode", textAt(doc, "mode", "act")});
  tableRow(out, {"Level", levelTitle(textAt(doc, "level"))});
  const auto events = stringsAt(doc, "events");
  tableRow(out, {"Events", events.empty() ? "none" : join(events, ", ")});
  out << "</table>\n";
  renderSituation(out, doc);
  renderForecast(out, doc);
  renderDecision(out, doc);
  renderReactive(out, doc);
  renderDebrief(out, doc);
  renderQuestions(out, doc);
  return page(title, out.str());
}

Result<std::size_t> HtmlExporter::write(const std::vector<store::ScenarioRecord>& scenarios,
                                        const std::string& out_path) const {
  return writeLessonDirectory(scenarios, out_path, ".html", renderHtmlLesson, renderIndex);
}

}  // namespace pso::controller::scenarios
