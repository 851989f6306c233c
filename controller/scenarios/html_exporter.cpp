#include "controller/scenarios/html_exporter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "controller/engine/wording.h"
#include "controller/scenarios/lesson_directory.h"
#include "controller/scenarios/lesson_text.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

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
  double coverage = 0.9;
  int64_t current = 0;
  int64_t desired = 0;
};

ChartData chartData(const LessonSystem& sys) {
  ChartData c;
  // Enough history for context, not so much that the forecast is squashed
  // into the right edge: a few horizons' worth.
  const std::size_t horizon = sys.forecast ? sys.forecast->steps.size() : 0;
  const std::size_t shown =
      std::min(kChartHistoryPoints, std::max<std::size_t>(kChartMinHistoryPoints, 4 * horizon));
  for (const auto& row : timeline(sys, shown, horizon)) {
    if (row.offset_s <= 0) {
      if (std::isfinite(row.demand)) c.history.push_back({row.offset_s, row.demand});
      continue;
    }
    if (std::isfinite(row.point)) c.point.push_back({row.offset_s, row.point});
    if (std::isfinite(row.lo)) c.lo.push_back({row.offset_s, row.lo});
    if (std::isfinite(row.hi)) c.hi.push_back({row.offset_s, row.hi});
  }
  c.ready_capacity = sys.ready_capacity;
  c.current = sys.decision ? sys.decision->current : sys.current.value_or(0);
  c.desired = sys.decision ? sys.decision->desired : c.current;
  c.desired_capacity = static_cast<double>(c.desired) * sys.capacity_per_replica;
  if (sys.forecast) {
    const double step_s = sys.forecast->steps.empty() ? 0.0 : sys.forecast->steps.front().offset_s;
    c.lead_s = static_cast<double>(sys.forecast->lead_steps) * step_s;
    c.coverage = sys.forecast->coverage;
  }
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

std::string renderSvgChart(const LessonSystem& sys) {
  const ChartData c = chartData(sys);
  const std::string& system = sys.name;
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
      system + ": demand history, forecast with its " + formatPercent(c.coverage) +
      " interval, and capacity from now, before and after the decision (" +
      std::to_string(c.current) + " to " + engine::formatReplicas(c.desired) + ")";
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
    // Capacity is known from now on only (a scenario keeps no capacity
    // history); launched replicas serve after the warm-up.
    std::vector<Point> capacity = {{0.0, c.ready_capacity}};
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
      << "\" fill=\"#1d2330\">decision: " << c.current << " &#8594; "
      << engine::formatReplicas(c.desired) << "</text>\n";
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

void renderHtmlList(std::ostringstream& out, const std::vector<std::string>& items,
                    const std::string& css, const std::string& empty) {
  out << "<ul class=\"" << css << "\">\n";
  if (items.empty()) out << "<li>" << htmlEscape(empty) << "</li>\n";
  for (const auto& item : items) out << "<li>" << htmlEscape(item) << "</li>\n";
  out << "</ul>\n";
}

std::string cellNumber(double value) {
  return std::isfinite(value) ? formatNumber(value) : "";
}

void renderHtmlSituation(std::ostringstream& out, const Lesson& lesson) {
  out << "<h2>Situation</h2>\n<table>\n";
  tableRow(out, situationColumns(), true);
  for (const auto& sys : lesson.systems) tableRow(out, situationCells(sys));
  out << "</table>\n";
  for (const auto& sys : lesson.systems) {
    if (!sys.depends_on.empty()) {
      out << "<p>" << htmlEscape(sys.name + " depends on " + join(sys.depends_on, ", "))
          << ".</p>\n";
    }
  }
  if (!lesson.workflow_notes.empty()) {
    out << "<p>Operator and rule actions this cycle:</p>\n";
    renderHtmlList(out, lesson.workflow_notes, "notes", "");
  }
}

void renderHtmlForecast(std::ostringstream& out, const Lesson& lesson) {
  out << "<h2>Forecast</h2>\n";
  bool any = false;
  for (const auto& sys : lesson.systems) {
    if (!sys.forecast) continue;
    any = true;
    const LessonForecast& f = *sys.forecast;
    out << "<h3>" << htmlEscape(sys.name) << "</h3>\n<p>"
        << htmlEscape(modelSentence(f) + " " + intervalSentence(f, lesson.step_s) + " " +
                      planSentence(sys))
        << "</p>\n<p>" << htmlEscape(bottleneckSentence(f)) << "</p>\n";
    const std::string chart = renderSvgChart(sys);
    if (!chart.empty()) {
      out << "<figure>\n"
          << chart << "\n<figcaption>" << htmlEscape(sys.name)
          << ": history (solid) ending at the demand now, forecast (dashed) in its interval band, "
             "capacity (red, dashed) from now, switching to the decided count once the warm-up "
             "has passed."
          << "</figcaption>\n</figure>\n";
    }
    out << "<table>\n";
    tableRow(out,
             {"Time", "Demand", "Forecast", formatPercent(f.coverage) + " interval", "Capacity"},
             true);
    for (const auto& row : timeline(sys, kHistoryRowsShown, kForecastRowsShown)) {
      const std::string interval = std::isfinite(row.lo) && std::isfinite(row.hi)
                                       ? formatNumber(row.lo) + " to " + formatNumber(row.hi)
                                       : "";
      tableRow(out, {offsetText(row.offset_s), cellNumber(row.demand), cellNumber(row.point),
                     interval, cellNumber(row.capacity)});
    }
    out << "</table>\n";
  }
  if (!any) out << "<p>" << htmlEscape(noForecastText(lesson)) << "</p>\n";
}

void renderHtmlDecision(std::ostringstream& out, const Lesson& lesson) {
  out << "<h2>Decision</h2>\n";
  for (const auto& sys : lesson.systems) {
    if (!sys.decision) continue;
    const LessonDecision& d = *sys.decision;
    out << "<h3>" << htmlEscape(sys.name) << "</h3>\n<p><strong>"
        << htmlEscape(scaleText(d.current, d.desired)) << "</strong> ("
        << htmlEscape(decisionDetails(d)) << ").</p>\n";
    out << "<blockquote>" << htmlEscape(d.rationale) << "</blockquote>\n";
    if (d.has_facts) {
      out << "<p>What set the count: the engine " << htmlEscape(engineReasonText(sys)) << ".</p>\n";
    }
    if (!d.notes.empty()) {
      out << "<p>Coordination and guardrails that changed the decision:</p>\n";
      renderHtmlList(out, d.notes, "guardrails", "");
    }
    if (!d.candidates.empty()) {
      out << "<table>\n";
      tableRow(out, candidateColumns(), true);
      for (const auto& c : d.candidates) tableRow(out, candidateCells(c));
      out << "</table>\n";
    }
  }
  if (!lesson.directives.empty()) {
    out << "<h3>Directives</h3>\n<table>\n";
    tableRow(out, {"Id", "System", "Replicas", "Source", "Status", "Reason"}, true);
    for (const auto& d : lesson.directives) {
      tableRow(out, {d.id, d.system, std::to_string(d.replicas), d.source, d.status, d.reason});
    }
    out << "</table>\n";
  }
}

void renderHtmlReactive(std::ostringstream& out, const Lesson& lesson) {
  const bool any = std::any_of(lesson.systems.begin(), lesson.systems.end(),
                               [](const LessonSystem& s) { return s.reactive.has_value(); });
  if (!any) return;
  out << "<h2>Reactive baseline</h2>\n<p>" << htmlEscape(kReactiveIntro) << "</p>\n<table>\n";
  tableRow(out, {"System", "HPA rule", "Engine", "Differs", "Why"}, true);
  for (const auto& sys : lesson.systems) {
    if (!sys.reactive) continue;
    tableRow(out, {sys.name, std::to_string(sys.reactive->replicas),
                   sys.decision ? std::to_string(sys.decision->desired) : "n/a",
                   sys.reactive->differs ? "yes" : "no", sys.reactive->comparison});
  }
  out << "</table>\n";
}

void renderHtmlDebrief(std::ostringstream& out, const Lesson& lesson) {
  out << "<h2>Debrief</h2>\n";
  if (!lesson.debrief) {
    out << "<p>" << htmlEscape(kNoOutcomeYet) << "</p>\n";
    return;
  }
  const LessonDebrief& debrief = *lesson.debrief;
  out << "<p>Observed from " << htmlEscape(debrief.from) << " to " << htmlEscape(debrief.to)
      << ".</p>\n<p><strong>Verdict:</strong> " << htmlEscape(debrief.verdict) << "</p>\n<table>\n";
  tableRow(out, debriefColumns(), true);
  for (const auto& sys : lesson.systems) {
    if (sys.debrief) tableRow(out, debriefCells(sys));
  }
  out << "</table>\n<h3>What went well</h3>\n";
  renderHtmlList(out, debrief.went_well, "well", "Nothing to note.");
  out << "<h3>What went wrong</h3>\n";
  renderHtmlList(out, debrief.went_wrong, "wrong", "Nothing to note.");
  out << "<h3>Where it got lucky</h3>\n";
  renderHtmlList(out, debrief.got_lucky, "lucky", "Nothing to note: what went well was planned.");
}

void renderHtmlQuestions(std::ostringstream& out, const Lesson& lesson) {
  if (lesson.questions.empty()) return;
  out << "<h2>Questions</h2>\n<ol>\n";
  for (const auto& q : lesson.questions) {
    out << "<li id=\"" << htmlEscape(q.id) << "\">" << htmlEscape(q.prompt);
    if (!questionKind(q).empty()) out << " <em>(" << questionKind(q) << ")</em>";
    if (!q.choices.empty()) {
      out << "<ol type=\"a\">";
      for (const auto& c : q.choices) out << "<li>" << htmlEscape(c.text) << "</li>";
      out << "</ol>";
    }
    out << "</li>\n";
  }
  out << "</ol>\n<details>\n<summary>Answer key</summary>\n<ol>\n";
  for (const auto& q : lesson.questions) {
    out << "<li><strong>" << htmlEscape(answerKeyText(q)) << "</strong>. "
        << htmlEscape(q.feedback);
    if (!q.choices.empty()) {
      out << "<ul>";
      for (const auto& c : q.choices) {
        if (!c.correct) out << "<li>" << htmlEscape(c.text + ": " + c.feedback) << "</li>";
      }
      out << "</ul>";
    }
    out << "</li>\n";
  }
  out << "</ol>\n</details>\n";
}

}  // namespace

std::string htmlPage(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         htmlEscape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n" + body +
         "</body>\n</html>\n";
}

std::string htmlLessonBody(const Lesson& lesson, const std::string& back, bool with_questions) {
  std::ostringstream out;
  if (!back.empty()) out << "<p><a href=\"" << htmlEscape(back) << "\">All lessons</a></p>\n";
  out << "<h1>" << htmlEscape(lesson.title) << "</h1>\n<table>\n";
  for (const auto& [label, value] : headerRows(lesson)) tableRow(out, {label, value});
  out << "</table>\n";
  renderHtmlSituation(out, lesson);
  renderHtmlForecast(out, lesson);
  renderHtmlDecision(out, lesson);
  renderHtmlReactive(out, lesson);
  renderHtmlDebrief(out, lesson);
  if (with_questions) renderHtmlQuestions(out, lesson);
  return out.str();
}

namespace {

// `link` turns a lesson's stem into the index's link target: a file in the
// directory form, an anchor in the one-page form.
std::string renderHtmlIndex(const std::vector<LessonSummary>& lessons,
                            const std::function<std::string(const std::string&)>& link) {
  std::ostringstream out;
  out << "<h1 id=\"index\">PSO-PRIME scenario lessons</h1>\n<p>" << lessons.size()
      << " lessons, in curriculum order: learning levels from the simplest, lessons by time "
         "within a level.</p>\n";
  for (const auto& [level, entries] : curriculum(lessons)) {
    out << "<h2 id=\"" << htmlEscape(level) << "\">" << htmlEscape(levelTitle(level)) << " ("
        << entries.size() << ")</h2>\n<ol>\n";
    for (const LessonSummary* s : entries) {
      out << "<li><a href=\"" << htmlEscape(link(s->stem)) << "\">" << htmlEscape(s->title)
          << "</a> " << htmlEscape(s->time);
      for (const auto& e : s->events) out << " <span class=\"tag\">" << htmlEscape(e) << "</span>";
      if (s->debrief) out << " (with debrief)";
      out << "</li>\n";
    }
    out << "</ol>\n";
  }
  return out.str();
}

}  // namespace

std::string renderHtmlLesson(const Lesson& lesson) {
  return htmlPage(lesson.title, htmlLessonBody(lesson, "index.html"));
}

std::string renderHtmlLesson(const nlohmann::json& scenario) {
  return renderHtmlLesson(buildLesson(scenario));
}

Result<std::size_t> HtmlExporter::writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                          std::ostream& out) const {
  // The index comes first but lists every lesson: a first pass summarises them.
  auto lessons = summarizeAll(scenarios);
  if (!lessons) return lessons.error();
  const std::string title = "PSO-PRIME scenario lessons";
  const std::string shell = htmlPage(title, "\n");
  const auto body_at = shell.find("<body>\n") + 7;
  out << shell.substr(0, body_at)
      << renderHtmlIndex(*lessons, [](const std::string& stem) { return "#" + stem; });
  Status written = forEachLesson(scenarios, [&](const Lesson& lesson) -> Status {
    out << "<section id=\"" << htmlEscape(lessonFileStem(lesson.id)) << "\">\n"
        << htmlLessonBody(lesson, "#index") << "</section>\n";
    return {};
  });
  if (!written.ok()) return written.error();
  out << shell.substr(body_at + 1);
  return scenarios.size();
}

Result<std::size_t> HtmlExporter::write(const std::vector<store::ScenarioRecord>& scenarios,
                                        const std::string& out_path) const {
  return writeLessonDirectory(
      scenarios, out_path, ".html", [](const Lesson& lesson) { return renderHtmlLesson(lesson); },
      [](const std::vector<LessonSummary>& lessons) {
        return htmlPage(
            "PSO-PRIME scenario lessons",
            renderHtmlIndex(lessons, [](const std::string& stem) { return stem + ".html"; }));
      });
}

}  // namespace pso::controller::scenarios
