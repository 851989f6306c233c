#include "controller/cli/psoctl.h"

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/config.h"
#include "common/curve_keys.h"
#include "common/text.h"
#include "common/trace.h"
#include "controller/cli/api_client.h"
#include "controller/cli/assignments.h"
#include "controller/cli/badge.h"
#include "controller/cli/business_case.h"
#include "controller/cli/completion.h"
#include "controller/cli/directive_request.h"
#include "controller/cli/failure.h"
#include "controller/cli/grade.h"
#include "controller/cli/import.h"
#include "controller/cli/offline.h"
#include "controller/cli/progress.h"
#include "controller/cli/runbook.h"
#include "controller/cli/runbook_parser.h"
#include "controller/cli/table.h"
#include "controller/cli/tabletop.h"
#include "controller/engine/alert_rules.h"
#include "controller/scenarios/exporter.h"
#include "controller/scenarios/scenario.h"
#include "controller/store/store.h"

namespace pso::cli {
namespace {

using nlohmann::json;

/// What a command prints on stdout (-o): a table that fits kTableWidth
/// columns, the same table uncut, the API's JSON, or one name per line.
enum class OutputFormat { kTable, kWide, kJson, kName };

// Tables fit a classic wide terminal unless -o wide asks for every character.
constexpr std::size_t kTableWidth = 120;

struct GlobalOptions {
  std::string api;
  std::string token;
  std::string ca_file;       ///< certificates to trust for an https:// API
  bool json_output = false;  ///< --json or -o json
  std::string output_flag;   ///< -o as given
  bool no_headers = false;
  OutputFormat output = OutputFormat::kTable;

  TableStyle tableStyle() const {
    return {!no_headers, output == OutputFormat::kWide ? 0 : kTableWidth};
  }
};

ApiClient apiClient(const GlobalOptions& g, long timeout_ms = 10000) {
  return ApiClient(g.api, g.token, timeout_ms, g.ca_file);
}

/// Reports a failure the way every psoctl command does: one line, exit 1.
std::string str(const json& doc, const char* key) {
  if (!doc.is_object() || !doc.contains(key)) return "-";
  const json& v = doc.at(key);
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return formatNumber(v.get<double>());
  return v.dump();
}

std::string joined(const json& list) {
  if (!list.is_array()) return "-";
  std::string out;
  for (const auto& item : list) {
    if (!out.empty()) out += ",";
    out += item.is_string() ? item.get<std::string>() : item.dump();
  }
  return out.empty() ? "-" : out;
}

/// A --since/--until value as epoch milliseconds: a relative duration ("10m":
/// ten minutes ago), a timestamp (ISO 8601, "YYYY-MM-DD HH:MM:SS", epoch seconds).
/// A bare number is epoch seconds, never a duration: durations carry a unit.
Result<int64_t> parseTimeArg(const std::string& text) {
  const bool bare_number =
      !text.empty() &&
      std::all_of(text.begin(), text.end(), [](unsigned char ch) { return std::isdigit(ch) != 0; });
  if (auto ago = common::parseDuration(text); ago.ok() && !bare_number) {
    return common::wallMs() - ago->count();
  }
  auto ts = common::parseTimestamp(text);
  if (!ts) return makeError("invalid", "'" + text + "' is neither a duration nor a timestamp");
  return *ts * 1000;
}

void printJson(const json& doc) {
  std::cout << doc.dump(2) << '\n';
}

/// A table's time cell: "YYYY-MM-DD HH:MM:SS" (UTC) to save columns; -o wide
/// and JSON keep the API's ISO 8601 with milliseconds.
std::string tableTime(const GlobalOptions& g, const std::string& iso) {
  if (g.output == OutputFormat::kWide) return iso;
  const auto seconds = common::parseTimestamp(iso);
  return seconds ? common::formatTimestamp(*seconds * 1000) : iso;
}

void printTable(const GlobalOptions& g, const Table& table) {
  table.print(std::cout, g.tableStyle());
}

/// -o name: the `key` of each item, one per line, each once (a cycle has a
/// row per system but one id).
void printNames(const json& items, const char* key) {
  std::vector<std::string> seen;
  for (const auto& item : items) {
    const std::string name = str(item, key);
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    std::cout << name << '\n';
  }
}

/// A refusal of -o name by a command that prints no list of named things.
int noNames(const std::string& command) {
  return fail("-o name does not apply to " + command + ": it prints no list of names");
}

/// A --db must name an existing database: psoctl only reads it, and opening a
/// missing path would create an empty database and answer "no scenarios".
Status checkDatabaseExists(const std::string& path) {
  if (controller::store::isPostgresqlUri(path)) return Status();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return makeError("not_found", "--db: no database at " + path);
  }
  return Status();
}

struct ScenarioQuery {
  std::string db;
  std::string event;
  std::string level;
  std::string system;
  std::string since;
  std::string until;
  int64_t limit = 0;
};

/// The scenario filter as query parameters for the HTTP API.
Result<std::string> scenarioQueryString(const ScenarioQuery& q) {
  std::string query;
  auto add = [&](const std::string& key, const std::string& value) {
    query += (query.empty() ? "?" : "&") + key + "=" + ApiClient::escape(value);
  };
  if (!q.event.empty()) add("event", q.event);
  if (!q.level.empty()) add("level", q.level);
  if (!q.system.empty()) add("system", q.system);
  for (const auto& [key, text] : {std::pair{"since", q.since}, std::pair{"until", q.until}}) {
    if (text.empty()) continue;
    auto ms = parseTimeArg(text);
    if (!ms) return ms.error();
    add(key, std::to_string(*ms));
  }
  if (q.limit > 0) add("limit", std::to_string(q.limit));
  return query;
}

/// The filter's own mistakes, refused before anything is read: an unknown
/// event or level would match nothing and look like "no such scenarios".
Status checkScenarioQuery(const ScenarioQuery& q) {
  if (!q.event.empty()) {
    if (auto known =
            common::checkOneOf("--event", q.event, controller::scenarios::scenarioEvents());
        !known)
      return known;
  }
  if (!q.level.empty()) {
    if (auto known =
            common::checkOneOf("--level", q.level, controller::scenarios::scenarioLevels());
        !known) {
      return known;
    }
  }
  if (q.limit < 0) {
    return makeError("invalid", "--limit must be at least 1, got " + std::to_string(q.limit));
  }
  if (!q.db.empty()) return checkDatabaseExists(q.db);
  return Status();
}

/// Scenarios matching the query, read from a database file (--db) or the API.
Result<std::vector<controller::store::ScenarioRecord>> loadScenarios(const GlobalOptions& g,
                                                                     const ScenarioQuery& q) {
  if (!q.db.empty()) {
    auto store = controller::store::Store::open(q.db);
    if (!store) return store.error();
    controller::store::ScenarioFilter filter;
    if (!q.event.empty()) filter.event = q.event;
    if (!q.level.empty()) filter.level = q.level;
    if (!q.system.empty()) filter.system = q.system;
    if (!q.since.empty()) {
      auto ms = parseTimeArg(q.since);
      if (!ms) return ms.error();
      filter.since_ms = *ms;
    }
    if (!q.until.empty()) {
      auto ms = parseTimeArg(q.until);
      if (!ms) return ms.error();
      filter.until_ms = *ms;
    }
    filter.limit = q.limit;
    return (*store)->scenarios(filter);
  }
  auto query = scenarioQueryString(q);
  if (!query) return query.error();
  ApiClient client = apiClient(g, 120000);
  const std::string sep = query->empty() ? "?" : "&";
  auto body = client.getText("/api/v1/scenarios/export" + *query + sep + "format=jsonl");
  if (!body) return body.error();
  std::vector<controller::store::ScenarioRecord> records;
  std::size_t start = 0;
  std::size_t line_no = 0;
  while (start < body->size()) {
    std::size_t end = body->find('\n', start);
    if (end == std::string::npos) end = body->size();
    ++line_no;
    const std::string_view line(body->data() + start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    json doc = json::parse(line, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      return makeError("invalid", "scenario export line " + std::to_string(line_no) +
                                      " from the controller is not a JSON object");
    }
    records.push_back(controller::scenarios::toRecord(doc));
  }
  return records;
}

void addScenarioFilters(CLI::App* cmd, ScenarioQuery& q) {
  cmd->add_option("--db", q.db, "Read a controller database file instead of the API");
  // The accepted names are checked after parsing (checkScenarioQuery, one
  // line naming them); the type name lists them in --help and for completion.
  const auto listed = [](const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) text += (text.empty() ? "" : ",") + name;
    return "TEXT:{" + text + "}";
  };
  cmd->add_option("--event", q.event, "Only scenarios with this event")
      ->type_name(listed(controller::scenarios::scenarioEvents()));
  cmd->add_option("--level", q.level, "Only scenarios of this learning level")
      ->type_name(listed(controller::scenarios::scenarioLevels()));
  cmd->add_option("--system", q.system, "Only scenarios involving this system");
  cmd->add_option("--since", q.since, "From this time (timestamp, or a duration ago: 1h)");
  cmd->add_option("--until", q.until, "Up to this time");
  cmd->add_option("--limit", q.limit, "At most this many scenarios");
}

int cmdStatus(const GlobalOptions& g) {
  auto doc = apiClient(g).getJson("/api/v1/status");
  if (!doc) return fail(doc.error().message);
  if (g.json_output) {
    printJson(*doc);
    return 0;
  }
  if (g.output == OutputFormat::kName) {
    std::cout << str(*doc, "controller_id") << '\n';
    return 0;
  }
  const json& agents = doc->value("agents", json::object());
  Table t({"FIELD", "VALUE"});
  t.addRow({"controller", str(*doc, "controller_id")});
  t.addRow({"version", str(*doc, "version")});
  t.addRow({"mode", str(*doc, "mode")});
  t.addRow({"uptime_s", str(*doc, "uptime_s")});
  t.addRow({"agents", str(agents, "connected") + " connected / " + str(agents, "total")});
  t.addRow({"systems", str(*doc, "systems")});
  t.addRow({"cycles", str(*doc, "cycles")});
  const json& last = doc->value("last_cycle", json());
  t.addRow({"last cycle", last.is_object() ? str(last, "id") + " at " + str(last, "time") : "-"});
  t.addRow({"rejected messages", str(*doc, "rejected_messages")});
  printTable(g, t);
  return 0;
}

int cmdAgents(const GlobalOptions& g) {
  auto doc = apiClient(g).getJson("/api/v1/agents");
  if (!doc) return fail(doc.error().message);
  if (g.json_output) {
    printJson(*doc);
    return 0;
  }
  if (g.output == OutputFormat::kName) {
    printNames(doc->value("agents", json::array()), "id");
    return 0;
  }
  Table t({"AGENT", "CONNECTED", "VERSION", "LAST SEEN", "LAST SEQ", "SYSTEMS", "CONFLICTS"});
  for (const auto& a : doc->value("agents", json::array())) {
    // A system of the agent's hello that another agent owns: "web (owner edge-02)".
    std::string conflicts;
    for (const auto& c : a.value("conflicts", json::array())) {
      if (!conflicts.empty()) conflicts += ",";
      conflicts += str(c, "system") + " (owner " + str(c, "owner") + ")";
    }
    t.addRow({str(a, "id"), str(a, "connected"), str(a, "version"),
              tableTime(g, str(a, "last_seen")), str(a, "last_seq"),
              joined(a.value("systems", json::array())), conflicts.empty() ? "-" : conflicts});
  }
  t.shrinkable("SYSTEMS").shrinkable("CONFLICTS");
  printTable(g, t);
  return 0;
}

std::string holdText(const GlobalOptions& g, const json& hold) {
  return hold.is_object() ? str(hold, "replicas") + " until " + tableTime(g, str(hold, "until"))
                          : "-";
}

std::string forecastText(const json& forecast) {
  return forecast.is_object() ? str(forecast, "point") + " (hi " + str(forecast, "hi") + ")" : "-";
}

/// `psoctl systems NAME`: one system in full, one field a line.
int cmdSystem(const GlobalOptions& g, const std::string& name) {
  auto doc = apiClient(g).getJson("/api/v1/systems/" + ApiClient::escape(name));
  if (!doc) return fail(doc.error().message);
  if (g.json_output) {
    printJson(*doc);
    return 0;
  }
  if (g.output == OutputFormat::kName) {
    std::cout << str(*doc, "name") << '\n';
    return 0;
  }
  const json& s = *doc;
  const json& demand = s.value("demand", json());
  const json& hold = s.value("hold", json());
  Table t({"FIELD", "VALUE"});
  t.addRow({"system", str(s, "name")});
  t.addRow({"agent", str(s, "agent")});
  t.addRow({"actuator", str(s, "actuator")});
  t.addRow({"replicas", str(s, "replicas")});
  t.addRow({"desired", str(s, "desired")});
  t.addRow({"bounds", str(s, "min_replicas") + "-" + str(s, "max_replicas")});
  t.addRow({"capacity per replica", str(s, "capacity_per_replica")});
  t.addRow({"target utilization", str(s, "target_utilization")});
  t.addRow({"warm-up", str(s, "warmup_s") + " s"});
  t.addRow({"priority", str(s, "priority")});
  t.addRow({"depends on", joined(s.value("depends_on", json::array()))});
  t.addRow(
      {"demand", demand.is_object() ? str(demand, "value") + " at " + str(demand, "time") : "-"});
  t.addRow({"forecast", forecastText(s.value("forecast", json()))});
  t.addRow({"hold", hold.is_object() ? holdText(g, hold) + " (" + str(hold, "reason") + ", " +
                                           str(hold, "directive") + ")"
                                     : "-"});
  std::string checks;
  for (const auto& c : s.value("health", json::array())) {
    checks += (checks.empty() ? "" : ", ") + str(c, "check") + " " + str(c, "status");
  }
  t.addRow({"health", str(s, "health_score") + (checks.empty() ? "" : " (" + checks + ")")});
  t.addRow({"last rule", str(s, "last_rule")});
  t.addRow({"last rationale", str(s, "last_rationale")});
  // One system's view, like kubectl describe, is never cut: it is read, not scanned.
  t.print(std::cout, {!g.no_headers, 0});
  return 0;
}

int cmdSystems(const GlobalOptions& g, const std::string& name) {
  if (!name.empty()) return cmdSystem(g, name);
  auto doc = apiClient(g).getJson("/api/v1/systems");
  if (!doc) return fail(doc.error().message);
  if (g.json_output) {
    printJson(*doc);
    return 0;
  }
  if (g.output == OutputFormat::kName) {
    printNames(doc->value("systems", json::array()), "name");
    return 0;
  }
  Table t({"SYSTEM", "AGENT", "ACTUATOR", "REPLICAS", "DESIRED", "MIN-MAX", "DEMAND", "FORECAST",
           "HEALTH", "HOLD", "RULE"});
  for (const auto& s : doc->value("systems", json::array())) {
    const json& demand = s.value("demand", json());
    t.addRow({str(s, "name"), str(s, "agent"), str(s, "actuator"), str(s, "replicas"),
              str(s, "desired"), str(s, "min_replicas") + "-" + str(s, "max_replicas"),
              demand.is_object() ? str(demand, "value") : "-",
              forecastText(s.value("forecast", json())), str(s, "health_score"),
              holdText(g, s.value("hold", json())), str(s, "last_rule")});
  }
  // A hold's time and a rule's name give way first: systems NAME and -o wide
  // have them whole.
  t.shrinkable("HOLD").shrinkable("RULE");
  printTable(g, t);
  return 0;
}

struct SamplesArgs {
  std::string system;
  std::string agent;  ///< an agent's host metrics instead of a system's
  std::string metric = "demand";
  std::string since;
  std::string until;
  int64_t limit = 0;
};

int cmdSamples(const GlobalOptions& g, const SamplesArgs& a) {
  std::string path = a.agent.empty() ? "/api/v1/systems/" + ApiClient::escape(a.system)
                                     : "/api/v1/agents/" + ApiClient::escape(a.agent);
  path += "/samples?metric=" + ApiClient::escape(a.metric);
  for (const auto& [key, text] : {std::pair{"since", a.since}, std::pair{"until", a.until}}) {
    if (text.empty()) continue;
    auto ms = parseTimeArg(text);
    if (!ms) return fail("--" + std::string(key) + ": " + ms.error().message);
    path += "&" + std::string(key) + "=" + std::to_string(*ms);
  }
  if (a.limit < 0) return fail("--limit must be at least 1, got " + std::to_string(a.limit));
  if (a.limit > 0) path += "&limit=" + std::to_string(a.limit);
  if (g.output == OutputFormat::kName) return noNames("samples");
  auto doc = apiClient(g).getJson(path);
  if (!doc) return fail(doc.error().message);
  if (g.json_output) {
    printJson(*doc);
    return 0;
  }
  Table t({"TIME", "VALUE"});
  for (const auto& s : doc->value("samples", json::array())) {
    if (!s.is_array() || s.size() != 2 || !s[0].is_number() || !s[1].is_number()) continue;
    t.addRow({common::formatTimestamp(s[0].get<int64_t>()), formatNumber(s[1].get<double>(), 3)});
  }
  printTable(g, t);
  return 0;
}

/// `psoctl forecast SYSTEM ...`: the controller's forecast of a system.
struct OnlineForecastArgs {
  std::string system;
  std::string horizon;     ///< steps, or a duration such as 168h
  std::string resolution;  ///< 1h | cycle | empty (the API decides by the horizon)
  std::string capacity;    ///< breach threshold for hourly forecasts
  std::string model;       ///< registry model for hourly forecasts
};

int cmdForecastOnline(const GlobalOptions& g, const OnlineForecastArgs& a) {
  std::string path = "/api/v1/systems/" + ApiClient::escape(a.system) +
                     "/forecast?horizon=" + ApiClient::escape(a.horizon);
  for (const auto& [key, text] : {std::pair{"resolution", a.resolution},
                                  std::pair{"capacity", a.capacity}, std::pair{"model", a.model}}) {
    if (!text.empty()) path += "&" + std::string(key) + "=" + ApiClient::escape(text);
  }
  if (g.output == OutputFormat::kName) return noNames("forecast");
  auto doc = apiClient(g).getJson(path);
  if (!doc) return fail(doc.error().message);
  if (g.json_output) {
    printJson(*doc);
    return 0;
  }
  const json points = doc->value("points", json::array());
  std::cout << str(*doc, "system") << ": " << points.size() << " steps of "
            << common::formatDuration(
                   common::Duration(std::llround(doc->value("step_s", 0.0) * 1000.0)))
            << " (" << str(*doc, "resolution") << ") from " << str(*doc, "origin") << ", model "
            << str(*doc, "model") << ", " << formatNumber(100.0 * doc->value("coverage", 0.0))
            << "% interval\n";
  if (doc->contains("capacity")) {
    const json& breach = doc->value("breach", json());
    std::cout << "capacity " << str(*doc, "capacity") << ": "
              << (breach.is_object()
                      ? "breached at " + str(breach, "eta") + " (" + str(breach, "steps_ahead") +
                            " steps ahead, upper " + str(breach, "predicted_demand") + ")"
                      : std::string("no breach within the horizon"))
              << '\n';
  }
  Table t({"STEP", "TIME", "POINT", "LO", "HI"});
  for (const auto& p : points) {
    t.addRow({str(p, "step"), str(p, "time"), str(p, "point"), str(p, "lo"), str(p, "hi")});
  }
  printTable(g, t);
  return 0;
}

/// Gives `psoctl forecast` its online form beside the offline one of
/// docs/architecture.md section 6: a SYSTEM argument asks the controller, --trace
/// runs offline as before (--trace, --horizon as steps and --out required).
void addOnlineForecastOptions(CLI::App* cmd, OnlineForecastArgs& online) {
  CLI::Option* trace = cmd->get_option("--trace");
  trace->required(false);
  cmd->get_option("--out")->required(false);
  // The offline --horizon is a step count; online it may be a duration, so one
  // text option serves both and the offline form checks its number itself.
  cmd->remove_option(cmd->get_option("--horizon"));
  cmd->add_option("--horizon", online.horizon,
                  "Steps ahead to forecast (--trace: 1 to 10000); for SYSTEM also a duration: "
                  "up to 1h from the decision cycle's model, longer (up to 168h) from hourly "
                  "rollups")
      ->required();
  cmd->add_option("system", online.system,
                  "System whose forecast the controller serves (instead of --trace)")
      ->excludes(trace);
  cmd->add_option("--resolution", online.resolution,
                  "SYSTEM: 1h (hourly rollups) or cycle (the decision cycle's step)")
      ->check(CLI::IsMember({"1h", "cycle"}));
  cmd->add_option("--capacity", online.capacity,
                  "SYSTEM, hourly: demand whose breach is reported (default: max replicas x "
                  "capacity per replica)");
  cmd->add_option("--model", online.model, "SYSTEM, hourly: forecast model (default auto-select)");
}

/// The offline form's checks that the shared options no longer make: throws
/// the CLI11 error the offline command always gave.
void checkOfflineForecast(const OnlineForecastArgs& online, ForecastArgs& offline) {
  if (offline.trace.empty()) throw CLI::RequiredError("--trace");
  if (offline.out.empty()) throw CLI::RequiredError("--out");
  for (const auto& [name, value] :
       {std::pair{"--resolution", &online.resolution}, std::pair{"--capacity", &online.capacity},
        std::pair{"--model", &online.model}}) {
    if (!value->empty()) {
      throw CLI::ValidationError(name, "only applies to a SYSTEM forecast, not --trace");
    }
  }
  const std::string& text = online.horizon;
  const std::optional<int64_t> parsed = common::parseInt64(text);
  if (!parsed || *parsed < 1 || *parsed > 10000) {
    throw CLI::ValidationError("--horizon", "Value " + text + " not in range 1 to 10000");
  }
  offline.horizon = static_cast<int>(*parsed);
}

int cmdCycles(const GlobalOptions& g, int64_t limit) {
  if (limit < 1) return fail("--limit must be at least 1, got " + std::to_string(limit));
  auto doc = apiClient(g).getJson("/api/v1/cycles?limit=" + std::to_string(limit));
  if (!doc) return fail(doc.error().message);
  if (g.json_output) {
    printJson(*doc);
    return 0;
  }
  if (g.output == OutputFormat::kName) {
    printNames(doc->value("cycles", json::array()), "id");
    return 0;
  }
  // -o wide adds what does not fit 120 columns: the dispatch and the rationale.
  const bool wide = g.output == OutputFormat::kWide;
  std::vector<std::string> header = {"CYCLE",   "TIME",    "SYSTEM", "DEMAND", "FORECAST (HI)",
                                     "CURRENT", "DESIRED", "HPA",    "RULE",   "EVENTS"};
  if (wide) header.insert(header.end(), {"DISPATCH", "RATIONALE"});
  Table t(header);
  for (const auto& c : doc->value("cycles", json::array())) {
    const std::string events = joined(c.value("events", json::array()));
    for (const auto& d : c.value("decisions", json::array())) {
      std::vector<std::string> row = {str(c, "id"),
                                      tableTime(g, str(c, "time")),
                                      str(d, "system"),
                                      str(d, "demand"),
                                      str(d, "forecast_point") + " (" + str(d, "forecast_hi") + ")",
                                      str(d, "current"),
                                      str(d, "desired"),
                                      str(d, "reactive"),
                                      str(d, "rule"),
                                      events};
      if (wide) row.insert(row.end(), {str(d, "dispatch"), str(d, "rationale")});
      t.addRow(std::move(row));
    }
  }
  t.shrinkable("EVENTS");
  printTable(g, t);
  return 0;
}

/// `psoctl explain SYSTEM`: the numbers of the system's last decision, in the
/// order the engine made it, from the cycles API's typed fields.
int cmdExplain(const GlobalOptions& g, const std::string& system) {
  // The newest decisions first; a system missing from the last few cycles
  // (its agent away) is still explained from the cycle that last included it.
  constexpr int64_t kCyclesSearched = 50;
  ApiClient client = apiClient(g);
  auto known = client.getJson("/api/v1/systems/" + ApiClient::escape(system));
  if (!known) return fail(known.error().message);
  auto doc = client.getJson("/api/v1/cycles?limit=" + std::to_string(kCyclesSearched));
  if (!doc) return fail(doc.error().message);
  json cycle;
  json decision;
  for (const auto& c : doc->value("cycles", json::array())) {
    for (const auto& d : c.value("decisions", json::array())) {
      if (d.is_object() && d.value("system", "") == system) {
        cycle = c;
        decision = d;
        break;
      }
    }
    if (!decision.is_null()) break;
  }
  if (decision.is_null()) {
    return fail("no decision for " + system + " in the last " + std::to_string(kCyclesSearched) +
                " cycles");
  }
  if (g.json_output) {
    printJson(json{{"cycle", str(cycle, "id")},
                   {"time", cycle.value("time", json())},
                   {"mode", cycle.value("mode", json())},
                   {"decision", decision}});
    return 0;
  }
  if (g.output == OutputFormat::kName) return noNames("explain");

  const auto replicas = [&](const char* key) {
    const std::string n = str(decision, key);
    return n == "-" ? n : n + (n == "1" ? " replica" : " replicas");
  };
  // A fixed label column, like kubectl describe: the guardrails' lines line
  // up under one label and the rationale is never cut.
  const auto line = [](const std::string& label, const std::string& value) {
    std::cout << label << std::string(label.size() < 17 ? 17 - label.size() : 1, ' ') << value
              << '\n';
  };
  line("system", system);
  line("cycle", str(cycle, "id") + " at " + str(cycle, "time") + " (" + str(cycle, "mode") + ")");
  line("demand observed", str(decision, "demand"));
  std::string forecast = str(decision, "forecast_point");
  if (forecast != "-") {
    forecast += " (interval " + str(decision, "forecast_lo") + " to " +
                str(decision, "forecast_hi") + ") at " + str(decision, "lead_steps") +
                " steps ahead, model " + str(decision, "forecast_model");
  }
  line("forecast", forecast);
  line("recommended",
       replicas("recommended") + " before guardrails (rule " + str(decision, "rule") + ")");
  const json effects = decision.value("guardrail_effects", json::array());
  if (!decision.contains("guardrail_effects")) {
    // A controller from before the typed effects: its sentences, as they are.
    line("guardrails", "numbers not reported by this controller: " +
                           joined(decision.value("guardrails", json::array())));
  } else if (effects.empty()) {
    line("guardrails", "none changed it");
  }
  std::string label = "guardrails";
  for (const auto& effect : effects) {
    line(label, str(effect, "kind") + ": " + str(effect, "from") + " -> " + str(effect, "to"));
    label.clear();
  }
  line("HPA rule", replicas("reactive"));
  line("desired", replicas("desired") + " (current " + str(decision, "current") + ", dispatch " +
                      str(decision, "dispatch") + ")");
  line("rationale", str(decision, "rationale"));
  return 0;
}

struct ScaleArgs {
  std::string system;
  int64_t replicas = -1;
  std::string reason;
  std::string hold;
};

/// What a directive command prints: the stored directive.
int printDirective(const GlobalOptions& g, const json& doc) {
  if (g.json_output) {
    printJson(doc);
    return 0;
  }
  if (g.output == OutputFormat::kName) {
    std::cout << str(doc.value("directive", json::object()), "id") << '\n';
    return 0;
  }
  std::cout << directiveSummary(doc) << '\n';
  return 0;
}

int cmdDirectiveScale(const GlobalOptions& g, const ScaleArgs& a) {
  auto body = scaleDirectiveBody(a.system, a.replicas, a.reason, a.hold);
  if (!body) return fail(body.error().message);
  auto doc = apiClient(g).postJson("/api/v1/directives", *body);
  if (!doc) return fail(doc.error().message);
  return printDirective(g, *doc);
}

/// `psoctl directive release SYSTEM`: ends the operator hold in force.
int cmdDirectiveRelease(const GlobalOptions& g, const std::string& system,
                        const std::string& reason) {
  auto doc = apiClient(g).postJson("/api/v1/directives", releaseDirectiveBody(system, reason));
  if (!doc) return fail(doc.error().message);
  return printDirective(g, *doc);
}

int cmdDirectives(const GlobalOptions& g, const std::string& system, int64_t limit) {
  if (limit < 1) return fail("--limit must be at least 1, got " + std::to_string(limit));
  std::string path = "/api/v1/directives?limit=" + std::to_string(limit);
  if (!system.empty()) path += "&system=" + ApiClient::escape(system);
  auto doc = apiClient(g).getJson(path);
  if (!doc) return fail(doc.error().message);
  if (g.json_output) {
    printJson(*doc);
    return 0;
  }
  if (g.output == OutputFormat::kName) {
    printNames(doc->value("directives", json::array()), "id");
    return 0;
  }
  Table t({"DIRECTIVE", "SYSTEM", "ACTION", "REPLICAS", "SOURCE", "STATUS", "CREATED", "RESULT",
           "REASON"});
  for (const auto& d : doc->value("directives", json::array())) {
    t.addRow({str(d, "id"), str(d, "system"), str(d, "action"), str(d, "replicas"),
              str(d, "source"), str(d, "status"), tableTime(g, str(d, "created")),
              str(d, "result_message"), str(d, "reason")});
  }
  t.shrinkable("RESULT").shrinkable("REASON");
  printTable(g, t);
  return 0;
}

int cmdScenariosList(const GlobalOptions& g, const ScenarioQuery& q) {
  if (auto checked = checkScenarioQuery(q); !checked) return fail(checked.error().message);
  json list = json::array();
  if (q.db.empty()) {
    auto query = scenarioQueryString(q);
    if (!query) return fail(query.error().message);
    auto doc = apiClient(g).getJson("/api/v1/scenarios" + *query);
    if (!doc) return fail(doc.error().message);
    list = doc->value("scenarios", json::array());
  } else {
    auto records = loadScenarios(g, q);
    if (!records) return fail(records.error().message);
    for (const auto& r : *records) {
      list.push_back({{"id", r.id},
                      {"cycle_id", r.cycle_id},
                      {"time", common::formatIso8601(r.ts_ms)},
                      {"level", r.level},
                      {"events", r.events},
                      {"systems", r.systems},
                      {"outcome_filled", r.outcome_filled}});
    }
  }
  if (g.json_output) {
    printJson(json{{"scenarios", list}});
    return 0;
  }
  if (g.output == OutputFormat::kName) {
    printNames(list, "id");
    return 0;
  }
  Table t({"SCENARIO", "TIME", "LEVEL", "EVENTS", "SYSTEMS", "OUTCOME"});
  for (const auto& s : list) {
    t.addRow({str(s, "id"), tableTime(g, str(s, "time")), str(s, "level"),
              joined(s.value("events", json::array())), joined(s.value("systems", json::array())),
              s.value("outcome_filled", false) ? "filled" : "pending"});
  }
  t.shrinkable("EVENTS").shrinkable("SYSTEMS");
  printTable(g, t);
  return 0;
}

/// One scenario's document, from a database file (--db) or the API.
Result<json> loadScenarioDocument(const GlobalOptions& g, const std::string& id,
                                  const std::string& db) {
  if (db.empty()) return apiClient(g).getJson("/api/v1/scenarios/" + ApiClient::escape(id));
  if (auto exists = checkDatabaseExists(db); !exists) return exists.error();
  auto store = controller::store::Store::open(db);
  if (!store) return store.error();
  auto record = (*store)->scenario(id);
  if (!record) return record.error();
  if (!record->has_value()) return makeError("not_found", "no scenario '" + id + "' in " + db);
  json doc = json::parse((*record)->json, nullptr, false);
  if (doc.is_discarded()) {
    return makeError("invalid", "scenario '" + id + "' in " + db + " is not valid JSON");
  }
  return doc;
}

int cmdScenariosShow(const GlobalOptions& g, const std::string& id, const std::string& db) {
  auto loaded = loadScenarioDocument(g, id, db);
  if (!loaded) return fail(loaded.error().message);
  const json doc = std::move(*loaded);
  if (g.json_output) {
    printJson(doc);
    return 0;
  }
  if (g.output == OutputFormat::kName) {
    std::cout << str(doc, "id") << '\n';
    return 0;
  }
  std::cout << "scenario " << str(doc, "id") << " (cycle " << str(doc, "cycle_id") << ", "
            << str(doc, "time") << ")\n"
            << "level:  " << str(doc, "level") << "\n"
            << "events: " << joined(doc.value("events", json::array())) << "\n";
  const json& rationale = doc.value("rationale", json());
  if (rationale.is_object()) {
    for (const auto& [system, text] : rationale.items()) {
      std::cout << "- " << system << ": "
                << (text.is_string() ? text.get<std::string>() : text.dump()) << '\n';
    }
  } else if (!rationale.is_null()) {
    std::cout << "rationale: " << rationale.dump() << '\n';
  }
  std::cout << "questions: " << doc.value("questions", json::array()).size() << '\n';
  return 0;
}

struct ExerciseArgs {
  std::string id;
  std::string db;
  std::optional<int64_t> answer;
};

int cmdScenariosExercise(const GlobalOptions& g, const ExerciseArgs& a) {
  if (g.output == OutputFormat::kName) return noNames("scenarios exercise");
  auto doc = loadScenarioDocument(g, a.id, a.db);
  if (!doc) return fail(doc.error().message);
  return runTabletop(*doc, {a.answer, g.json_output}, std::cin, std::cout);
}

int cmdScenariosExport(const GlobalOptions& g, const ScenarioQuery& q, const std::string& format,
                       const std::string& out) {
  if (auto checked = checkScenarioQuery(q); !checked) return fail(checked.error().message);
  if (g.output == OutputFormat::kName) return noNames("scenarios export");
  auto exporter = controller::scenarios::makeExporter(format);
  if (!exporter) return fail(exporter.error().message);
  auto records = loadScenarios(g, q);
  if (!records) return fail(records.error().message);
  // "-" streams the export to stdout (the per-lesson formats as one
  // document, as the API serves them); the summary then goes to stderr so
  // stdout stays the export alone.
  const bool to_stdout = out == "-";
  auto written =
      to_stdout ? (*exporter)->writeTo(*records, std::cout) : (*exporter)->write(*records, out);
  if (!written) return fail(written.error().message);
  std::cout.flush();
  if (!std::cout) return fail("error writing the export to stdout");
  std::ostream& summary = to_stdout ? std::cerr : std::cout;
  if (g.json_output) {
    summary << json{{"format", format}, {"out", out}, {"scenarios", *written}}.dump(2) << '\n';
  } else {
    summary << "exported " << *written << " scenarios as " << format << " to "
            << (to_stdout ? std::string("stdout") : out) << '\n';
  }
  return 0;
}

// `psoctl keygen --out PREFIX`: a CurveZMQ key pair for an agent or the
// controller (docs/security.md says where each file goes).
int cmdKeygen(const std::string& prefix, bool json_output) {
  // Two files are written, so "-" (stdout elsewhere) cannot stand for them.
  if (prefix == "-")
    return fail("--out: keygen writes two files (PREFIX.key, PREFIX.pub); - is not a prefix");
  auto pair = common::generateCurveKeyPair();
  if (!pair) return fail(pair.error().message);
  if (Status written = common::writeCurveKeyFiles(prefix, *pair); !written) {
    return fail(written.error().message);
  }
  if (json_output) {
    printJson(json{{"secret_key_file", prefix + ".key"},
                   {"public_key_file", prefix + ".pub"},
                   {"public_key", pair->public_key}});
  } else {
    std::cout << "wrote " << prefix << ".key (secret, mode 0600) and " << prefix
              << ".pub (public key " << pair->public_key << ")\n";
  }
  return 0;
}

/// `psoctl version`: this client's version and, when the API answers, the
/// controller's. An unreachable controller is a note on stderr, not a
/// failure: the client's version is still the answer asked for.
int cmdVersion(const GlobalOptions& g) {
  // A short timeout: the version must not wait on a controller that is down.
  constexpr long kVersionTimeoutMs = 3000;
  auto status = apiClient(g, kVersionTimeoutMs).getJson("/api/v1/status");
  json controller = nullptr;
  if (status) {
    controller = {{"version", status->value("version", json())},
                  {"id", status->value("controller_id", json())},
                  {"api", g.api}};
  } else {
    std::cerr << "psoctl: controller unreachable, its version unknown: " << status.error().message
              << '\n';
  }
  if (g.json_output) {
    printJson(json{{"client", {{"version", PSO_VERSION}}}, {"controller", controller}});
    return 0;
  }
  if (g.output == OutputFormat::kName) return noNames("version");
  std::cout << "client: psoctl " << PSO_VERSION << '\n';
  if (controller.is_object()) {
    std::cout << "controller: " << str(controller, "version") << " (" << str(controller, "id")
              << " at " << g.api << ")\n";
  }
  return 0;
}

/// The alert states `alerts --state` accepts (GET /api/v1/alerts?state=).
/// `psoctl alerts`: the alert rules' states per subject, firing first.
int cmdAlerts(const GlobalOptions& g, const std::string& state) {
  std::string path = "/api/v1/alerts";
  if (!state.empty()) {
    if (auto known = common::checkOneOf("--state", state, controller::engine::alertStateFilters());
        !known) {
      return fail(known.error().message);
    }
    path += "?state=" + ApiClient::escape(state);
  }
  auto doc = apiClient(g).getJson(path);
  if (!doc) return fail(doc.error().message);
  if (g.json_output) {
    printJson(*doc);
    return 0;
  }
  const json alerts = doc->value("alerts", json::array());
  if (g.output == OutputFormat::kName) {
    // An alert is a rule's state for one subject: "rule/subject".
    for (const auto& a : alerts) std::cout << str(a, "rule") << '/' << str(a, "subject") << '\n';
    return 0;
  }
  Table t({"RULE", "SUBJECT", "STATE", "VALUE", "SINCE", "FIRED", "RESOLVED", "CONDITION"});
  for (const auto& a : alerts) {
    t.addRow({str(a, "rule"), str(a, "subject"), str(a, "state"), str(a, "value"),
              tableTime(g, str(a, "since")), tableTime(g, str(a, "fired_at")),
              tableTime(g, str(a, "resolved_at")), str(a, "condition")});
  }
  t.shrinkable("CONDITION").shrinkable("RULE");
  printTable(g, t);
  return 0;
}

/// `psoctl notifications`: the webhook outbox, newest first.
int cmdNotifications(const GlobalOptions& g, int64_t limit) {
  if (limit < 1) return fail("--limit must be at least 1, got " + std::to_string(limit));
  auto doc = apiClient(g).getJson("/api/v1/notifications?limit=" + std::to_string(limit));
  if (!doc) return fail(doc.error().message);
  if (g.json_output) {
    printJson(*doc);
    return 0;
  }
  const json list = doc->value("notifications", json::array());
  if (g.output == OutputFormat::kName) {
    printNames(list, "id");
    return 0;
  }
  Table t({"ID", "RULE", "SUBJECT", "EVENT", "STATUS", "ATTEMPTS", "CREATED", "DELIVERED", "URL",
           "LAST ERROR"});
  for (const auto& n : list) {
    t.addRow({str(n, "id"), str(n, "rule"), str(n, "subject"), str(n, "event"), str(n, "status"),
              str(n, "attempts"), tableTime(g, str(n, "created_at")),
              tableTime(g, str(n, "delivered_at")), str(n, "url"), str(n, "last_error")});
  }
  t.shrinkable("LAST ERROR").shrinkable("URL").shrinkable("RULE");
  printTable(g, t);
  return 0;
}

/// --watch of a listing command: how often, and how many refreshes at most.
struct WatchArgs {
  bool watch = false;
  std::string interval = "2s";
  int64_t count = 0;  ///< stop after this many refreshes; 0: until interrupted
};

std::atomic<bool> g_interrupted{false};

extern "C" void onInterrupt(int) {
  g_interrupted.store(true);
}

/// Runs `once` (a listing command that prints to stdout) every interval, like
/// `kubectl get -w`: a table (or names) is printed only when it changed, under
/// a timestamp line; -o json prints each refresh as one line (JSON Lines). A
/// failed refresh is reported on stderr and the watch goes on: a controller
/// restarting is what one watches for. SIGINT ends the watch with exit 0;
/// --watch-count N ends it after N refreshes with the last refresh's code.
int watchCommand(const GlobalOptions& g, const WatchArgs& w, const std::function<int()>& once) {
  auto interval = common::parseDuration(w.interval);
  if (!interval) return fail("--interval: " + interval.error().message);
  if (interval->count() <= 0) return fail("--interval must be longer than 0, got " + w.interval);
  if (w.count < 0) return fail("--watch-count must be at least 1, got " + std::to_string(w.count));
  std::signal(SIGINT, onInterrupt);
  std::signal(SIGTERM, onInterrupt);
  std::string previous;
  int code = 0;
  for (int64_t refresh = 1; !g_interrupted.load(); ++refresh) {
    // The command prints to stdout; its output is caught to compare and reshape.
    std::ostringstream caught;
    std::streambuf* const saved = std::cout.rdbuf(caught.rdbuf());
    code = once();
    std::cout.rdbuf(saved);
    const std::string text = caught.str();
    if (code == 0 && g.json_output) {
      const json doc = json::parse(text, nullptr, false);
      std::cout << (doc.is_discarded() ? text : doc.dump() + "\n") << std::flush;
    } else if (code == 0 && text != previous) {
      std::cout << (previous.empty() ? "" : "\n") << "# "
                << common::formatTimestamp(common::wallMs()) << " UTC\n"
                << text << std::flush;
      previous = text;
    }
    if (w.count > 0 && refresh >= w.count) return code;
    // Short sleeps so an interrupt ends the watch promptly.
    const auto until = std::chrono::steady_clock::now() + *interval;
    while (!g_interrupted.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(100), until - std::chrono::steady_clock::now()));
    }
  }
  return 0;
}

void addWatchOptions(CLI::App* cmd, WatchArgs& w) {
  cmd->add_flag("-w,--watch", w.watch,
                "Print again every --interval until interrupted (tables: only when changed)");
  cmd->add_option("--interval", w.interval, "Time between refreshes of --watch")
      ->capture_default_str();
  cmd->add_option("--watch-count", w.count,
                  "Stop after N refreshes (implies --watch; for scripts and tests)");
}

/// A listing command, once or under --watch.
int maybeWatch(const GlobalOptions& g, const WatchArgs& w, const std::function<int()>& once) {
  if (!w.watch && w.count == 0) return once();
  return watchCommand(g, w, once);
}

struct RunbookArgs {
  std::string file;
  bool dry_run = false;
  bool yes = false;
};

/// `psoctl runbook run FILE`: every step checked (the file, then the systems
/// and bounds with the controller) before anything runs; the plan printed;
/// then the steps in order. Exit codes: runbook.h.
int cmdRunbookRun(const GlobalOptions& g, const RunbookArgs& a) {
  if (g.output == OutputFormat::kName || g.json_output) {
    std::cerr << "psoctl: runbook run prints its plan and outcomes as text: -o does not apply\n";
    return kRunbookExitRefused;
  }
  std::ifstream in(a.file, std::ios::binary);
  if (!in) {
    std::cerr << "psoctl: " << a.file << ": cannot read the runbook\n";
    return kRunbookExitRefused;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto runbook = parseRunbook(text.str(), a.file);
  if (!runbook) {
    std::cerr << "psoctl: " << runbook.error().message << '\n';
    return kRunbookExitRefused;
  }
  // Directives and waits may take a while; a step's own timeout bounds a wait.
  ApiClient client = apiClient(g, 30000);
  if (Status checked = checkRunbookWithController(*runbook, a.file, client); !checked) {
    std::cerr << "psoctl: " << checked.error().message << '\n';
    return checked.error().code == "invalid" ? kRunbookExitRefused : 1;
  }
  const std::size_t total = runbook->steps.size();
  std::cout << "runbook " << (runbook->name.empty() ? a.file : "'" + runbook->name + "'") << ": "
            << total << (total == 1 ? " step" : " steps") << " against " << g.api << '\n';
  for (const auto& step : runbook->steps) {
    std::cout << "  " << step.number << ". " << describeRunbookStep(step) << '\n';
  }
  if (a.dry_run) {
    std::cout << "dry run: nothing was changed\n";
    return 0;
  }
  if (!a.yes) {
    // A run changes the fleet: it is confirmed by a person, or by --yes in scripts.
    if (isatty(STDIN_FILENO) == 0) {
      std::cerr << "psoctl: " << a.file
                << ": a run changes the controller; give --yes (or --dry-run to see the plan)\n";
      return kRunbookExitRefused;
    }
    std::cout << "run these " << total << " steps? [y/N] " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer) || (answer != "y" && answer != "yes")) {
      std::cerr << "psoctl: not confirmed: nothing was changed\n";
      return kRunbookExitRefused;
    }
  }
  std::cout << std::flush;
  return runRunbookSteps(*runbook, a.file, client, std::cout, std::cerr);
}

/// Every command's help ends with examples; one place builds the footer.
std::string examples(std::initializer_list<const char*> lines) {
  std::string text = "Examples:";
  for (const char* line : lines) text += std::string("\n  ") + line;
  return text;
}

}  // namespace

int runPsoctl(int argc, char** argv) {
  CLI::App app{"psoctl: operate a PSO-PRIME controller and replay traces through its engine",
               "psoctl"};
  app.require_subcommand(1);
  app.footer(examples({"psoctl systems", "psoctl explain web", "psoctl -o wide cycles --limit 5",
                       "source <(psoctl completion bash)"}) +
             "\nRun psoctl COMMAND --help for a command's options and examples.");
  // Every refusal is one line on stderr; --help says the rest.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    return "psoctl: " + what + " (see --help)\n";
  });
  GlobalOptions g;
  const char* env_api = std::getenv("PSO_API");
  const char* env_token = std::getenv("PSO_TOKEN");
  const char* env_ca_file = std::getenv("PSO_CA_FILE");
  g.api = env_api != nullptr && *env_api != '\0' ? env_api : "http://127.0.0.1:7460";
  g.token = env_token != nullptr ? env_token : "";
  g.ca_file = env_ca_file != nullptr ? env_ca_file : "";
  std::string token_file;
  app.add_option("--api", g.api, "Controller HTTP API (env PSO_API)")->capture_default_str();
  app.add_option("--token", g.token, "Bearer token for changes (env PSO_TOKEN)");
  app.add_option("--token-file", token_file, "File whose first line is the bearer token");
  app.add_option("--ca-file", g.ca_file,
                 "PEM certificates to trust for an https:// API (env PSO_CA_FILE)");
  app.add_flag("--json", g.json_output, "Print JSON for scripts instead of a table (= -o json)");
  app.add_option("-o,--output", g.output_flag,
                 "json (as --json), wide (tables uncut) or name (one name or id per line)")
      ->check(CLI::IsMember({"json", "wide", "name"}));
  app.add_flag("--no-headers", g.no_headers, "Tables without their header row");
  app.fallthrough();

  // Each subcommand's callback picks the action; it runs after parsing, once the
  // token file (if any) has been read.
  std::function<int()> action;
  app.add_subcommand("status", "Controller status")
      ->footer(examples({"psoctl status", "psoctl --api https://ctl:7460 --ca-file ctl.pem status",
                         "psoctl -o json status"}))
      ->callback([&] { action = [&] { return cmdStatus(g); }; });
  app.add_subcommand("agents", "Connected and known agents")
      ->footer(examples({"psoctl agents", "psoctl -o name agents"}))
      ->callback([&] { action = [&] { return cmdAgents(g); }; });
  std::string system_name;
  auto* systems_cmd = app.add_subcommand("systems", "Managed systems; one in full with NAME");
  systems_cmd->add_option("name", system_name, "Show only this system, every field");
  WatchArgs systems_watch;
  addWatchOptions(systems_cmd, systems_watch);
  systems_cmd->footer(examples({"psoctl systems", "psoctl systems web", "psoctl -o name systems",
                                "psoctl systems --watch --interval 5s",
                                "psoctl -o json systems --watch-count 3 | jq -c .systems"}));
  systems_cmd->callback([&] {
    action = [&] {
      return maybeWatch(g, systems_watch, [&] { return cmdSystems(g, system_name); });
    };
  });

  SamplesArgs samples;
  auto* samples_cmd = app.add_subcommand(
      "samples", "Stored samples of a system's metric (SYSTEM) or an agent's (--agent ID)");
  samples_cmd->add_option("system", samples.system, "System name");
  samples_cmd->add_option("--agent", samples.agent, "Agent id: its host metrics (e.g. cpu.usage)");
  auto* samples_metric =
      samples_cmd->add_option("--metric", samples.metric, "Metric name")->capture_default_str();
  samples_cmd->add_option("--since", samples.since, "From (timestamp, or a duration ago: 10m)");
  samples_cmd->add_option("--until", samples.until, "Up to (timestamp, or a duration ago)");
  samples_cmd->add_option("--limit", samples.limit,
                          "Only the newest N samples of the range (still oldest first)");
  samples_cmd->footer(
      examples({"psoctl samples web --since 10m", "psoctl samples web --metric replicas --limit 3",
                "psoctl samples --agent edge-01 --metric cpu.usage"}));
  samples_cmd->callback([&] {
    if (samples.system.empty() == samples.agent.empty()) {
      throw CLI::ValidationError("samples", "give either a SYSTEM or --agent ID (exactly one)");
    }
    if (!samples.agent.empty() && samples_metric->count() == 0) {
      throw CLI::RequiredError("--metric (with --agent)");
    }
    action = [&] { return cmdSamples(g, samples); };
  });

  int64_t cycles_limit = 10;
  auto* cycles_cmd = app.add_subcommand("cycles", "Recent decision cycles, one row per system");
  cycles_cmd->add_option("--limit", cycles_limit, "Cycles to show")->capture_default_str();
  WatchArgs cycles_watch;
  addWatchOptions(cycles_cmd, cycles_watch);
  cycles_cmd->footer(
      examples({"psoctl cycles", "psoctl -o wide cycles --limit 3", "psoctl cycles --limit 1 -w"}));
  cycles_cmd->callback([&] {
    action = [&] {
      return maybeWatch(g, cycles_watch, [&] { return cmdCycles(g, cycles_limit); });
    };
  });

  std::string alerts_state;
  WatchArgs alerts_watch;
  auto* alerts_cmd =
      app.add_subcommand("alerts", "Alert rules' states per system or agent, firing first");
  alerts_cmd
      ->add_option("--state", alerts_state,
                   "Only alerts in this state (default: every state but inactive)")
      ->type_name("TEXT:{pending,firing,resolved,inactive,all}");
  addWatchOptions(alerts_cmd, alerts_watch);
  alerts_cmd->footer(examples({"psoctl alerts", "psoctl alerts --state firing",
                               "psoctl -o name alerts --state all", "psoctl alerts -w"}));
  alerts_cmd->callback([&] {
    action = [&] {
      return maybeWatch(g, alerts_watch, [&] { return cmdAlerts(g, alerts_state); });
    };
  });

  int64_t notifications_limit = 50;
  auto* notifications_cmd = app.add_subcommand(
      "notifications", "Webhook notifications of the alerts (the outbox), newest first");
  notifications_cmd->add_option("--limit", notifications_limit, "At most")->capture_default_str();
  notifications_cmd->footer(
      examples({"psoctl notifications", "psoctl -o wide notifications --limit 5"}));
  notifications_cmd->callback(
      [&] { action = [&] { return cmdNotifications(g, notifications_limit); }; });

  auto* runbook_cmd = app.add_subcommand("runbook", "Run a runbook: directives, waits, mode");
  runbook_cmd->require_subcommand(1);
  runbook_cmd->footer(examples({"psoctl runbook run evening-peak.yaml --dry-run",
                                "psoctl runbook run evening-peak.yaml --yes"}));
  RunbookArgs runbook_args;
  auto* runbook_run_cmd = runbook_cmd->add_subcommand(
      "run", "Check every step, print the plan, then run the steps in order");
  runbook_run_cmd->add_option("file", runbook_args.file, "Runbook YAML file")->required();
  runbook_run_cmd->add_flag("--dry-run", runbook_args.dry_run,
                            "Check and print what each step would do; change nothing");
  runbook_run_cmd->add_flag("--yes", runbook_args.yes, "Run without asking for confirmation");
  runbook_run_cmd->footer(
      "Steps: scale, wait_for, forecast_only, hold, release, wait (docs/operations.md\n"
      "\"Runbooks\"). Exit codes: 0 done (or dry run), 1 controller unreachable, 2 runbook\n"
      "refused before anything ran, 10+N step N failed (at most 255).\n" +
      examples({"psoctl runbook run evening-peak.yaml --dry-run",
                "psoctl --token-file ops.token runbook run evening-peak.yaml --yes"}));
  runbook_run_cmd->callback([&] { action = [&] { return cmdRunbookRun(g, runbook_args); }; });

  std::string explain_system;
  auto* explain_cmd =
      app.add_subcommand("explain", "Why a system's last decision is what it is, number by number");
  explain_cmd->add_option("system", explain_system, "System name")->required();
  explain_cmd->footer(
      "Shows the demand observed, the forecast at the lead time (interval, model), the\n"
      "recommendation before guardrails, each guardrail that changed it (from -> to, in the\n"
      "order applied), the HPA rule's answer, the desired count and the rationale.\n" +
      examples({"psoctl explain web", "psoctl -o json explain web"}));
  explain_cmd->callback([&] { action = [&] { return cmdExplain(g, explain_system); }; });

  auto* directive_cmd = app.add_subcommand("directive", "Issue a directive");
  directive_cmd->require_subcommand(1);
  directive_cmd->footer(examples({"psoctl directive scale web --replicas 6 --reason 'launch'",
                                  "psoctl directive release web --reason 'launch over'"}));
  ScaleArgs scale;
  auto* scale_cmd = directive_cmd->add_subcommand("scale", "Scale a system to N replicas");
  scale_cmd->add_option("system", scale.system, "System name")->required();
  scale_cmd->add_option("--replicas", scale.replicas, "Replica count")->required();
  scale_cmd->add_option("--reason", scale.reason, "Why (recorded with the directive)")->required();
  scale_cmd->add_option("--hold", scale.hold, "Keep this count against the engine for (e.g. 10m)");
  scale_cmd->footer(
      examples({"psoctl --token-file ops.token directive scale web --replicas 6 --reason 'sale'",
                "psoctl directive scale web --replicas 8 --hold 30m --reason 'load test'"}));
  scale_cmd->callback([&] { action = [&] { return cmdDirectiveScale(g, scale); }; });
  std::string release_system;
  std::string release_reason;
  auto* release_cmd = directive_cmd->add_subcommand(
      "release", "End the operator hold on a system: the next cycle decides as the engine would");
  release_cmd->add_option("system", release_system, "System name")->required();
  release_cmd->add_option("--reason", release_reason, "Why (recorded with the release)");
  release_cmd->footer(examples({"psoctl directive release web --reason 'load test done'"}));
  release_cmd->callback(
      [&] { action = [&] { return cmdDirectiveRelease(g, release_system, release_reason); }; });

  std::string directives_system;
  int64_t directives_limit = 20;
  auto* directives_cmd = app.add_subcommand("directives", "Recent directives and their results");
  directives_cmd->add_option("--system", directives_system, "Only this system");
  directives_cmd->add_option("--limit", directives_limit, "At most")->capture_default_str();
  directives_cmd->footer(
      examples({"psoctl directives --system web", "psoctl -o wide directives --limit 5"}));
  directives_cmd->callback(
      [&] { action = [&] { return cmdDirectives(g, directives_system, directives_limit); }; });

  auto* scenarios_cmd = app.add_subcommand("scenarios", "Education scenarios");
  scenarios_cmd->require_subcommand(1);
  scenarios_cmd->footer(examples({"psoctl scenarios list --event scaling_executed",
                                  "psoctl scenarios export --format gift --out -"}));
  ScenarioQuery list_query;
  auto* list_cmd = scenarios_cmd->add_subcommand("list", "List scenarios");
  addScenarioFilters(list_cmd, list_query);
  list_cmd->footer(examples({"psoctl scenarios list --level foundation --since 1h",
                             "psoctl scenarios list --db /var/lib/pso/controller.db --limit 5"}));
  list_cmd->callback([&] { action = [&] { return cmdScenariosList(g, list_query); }; });
  std::string show_id;
  std::string show_db;
  auto* show_cmd = scenarios_cmd->add_subcommand("show", "Show one scenario");
  show_cmd->add_option("id", show_id, "Scenario id")->required();
  show_cmd->add_option("--db", show_db, "Read a controller database file instead of the API");
  show_cmd->footer(
      examples({"psoctl scenarios show s-c-42", "psoctl -o json scenarios show s-c-42"}));
  show_cmd->callback([&] { action = [&] { return cmdScenariosShow(g, show_id, show_db); }; });
  ScenarioQuery export_query;
  std::string export_format;
  std::string export_out;
  auto* export_cmd = scenarios_cmd->add_subcommand("export", "Export lessons and documents");
  std::string formats;
  for (const auto& name : controller::scenarios::exporterFormats()) {
    formats += (formats.empty() ? "" : " | ") + name;
  }
  export_cmd->add_option("--format", export_format, formats)
      ->required()
      ->check(CLI::IsMember(controller::scenarios::exporterFormats()));
  export_cmd
      ->add_option(
          "--out", export_out,
          "Output file (jsonl, gift, xapi, course-html, course-markdown, cmi5: a zip) "
          "or directory (markdown, html: one lesson per scenario plus an index; exercise-html: one "
          "exercise per notable scenario plus an index); "
          "- for stdout (one document)")
      ->required();
  addScenarioFilters(export_cmd, export_query);
  export_cmd->footer(examples({"psoctl scenarios export --format markdown --out lessons/",
                               "psoctl scenarios export --format jsonl --out - | jq .level"}));
  export_cmd->callback([&] {
    action = [&] { return cmdScenariosExport(g, export_query, export_format, export_out); };
  });

  ExerciseArgs exercise;
  auto* exercise_cmd = scenarios_cmd->add_subcommand(
      "exercise", "A tabletop exercise: the situation step by step, your decision, the debrief");
  exercise_cmd->add_option("id", exercise.id, "Scenario id (a notable one: not a quiet cycle)")
      ->required();
  exercise_cmd->add_option("--db", exercise.db,
                           "Read a controller database file instead of the API");
  exercise_cmd->add_option("--answer", exercise.answer,
                           "Decide this replica count without prompting (scripts)");
  exercise_cmd->footer(examples({"psoctl scenarios exercise s-c-42",
                                 "psoctl scenarios exercise s-sim1-7 --db lessons.db --answer 9",
                                 "psoctl -o json scenarios exercise s-sim1-7 --db lessons.db"}));
  exercise_cmd->callback([&] { action = [&] { return cmdScenariosExercise(g, exercise); }; });

  AssignmentArgs assignments;
  auto* assignments_cmd = scenarios_cmd->add_subcommand(
      "assignments", "Hands-on replay assignments for a learner's weak levels");
  addAssignmentOptions(assignments_cmd, assignments);
  assignments_cmd->footer(examples(
      {"psoctl scenarios assignments --db lessons.db --learner lrn-7 --out-dir handouts/"}));
  assignments_cmd->callback(
      [&] { action = [&] { return runAssignmentsCommand(assignments, g.json_output); }; });
  CheckAssignmentArgs check_assignment;
  auto* check_assignment_cmd = scenarios_cmd->add_subcommand(
      "check-assignment", "Grade a prediction against an assignment's key");
  addCheckAssignmentOptions(check_assignment_cmd, check_assignment);
  check_assignment_cmd->footer(
      examples({"psoctl scenarios check-assignment handouts/lrn-7-foundation.json --answer 14"}));
  check_assignment_cmd->callback(
      [&] { action = [&] { return runCheckAssignmentCommand(check_assignment, g.json_output); }; });

  GradeArgs grade;
  auto* grade_cmd = scenarios_cmd->add_subcommand(
      "grade", "Grade a learner's answers, store the attempts, emit xAPI statements");
  addGradeOptions(grade_cmd, grade);
  grade_cmd->footer(
      examples({"psoctl scenarios grade --db controller.db --learner lrn-7 "
                "--answers answers.json --xapi-out -",
                "psoctl scenarios grade --db controller.db --learner lrn-7 --team ops-emea "
                "--answers answers.json"}));
  grade_cmd->callback([&] { action = [&] { return runGradeCommand(grade, g.json_output); }; });

  ProgressArgs progress;
  auto* progress_cmd = scenarios_cmd->add_subcommand(
      "progress", "Mastery per learning level and its growth day by day, of a learner or a team");
  addProgressOptions(progress_cmd, progress);
  progress_cmd->footer(
      "From the graded attempts in the database: per level the questions attempted, those\n"
      "correct at their latest attempt, the score and whether it reaches --threshold; then the\n"
      "score per level at the end of each day with attempts. A team (grade --team) shows how\n"
      "many of its learners mastered each level and their mean score.\n" +
      examples({"psoctl scenarios progress --db controller.db --learner lrn-7",
                "psoctl -o json scenarios progress --db controller.db --team ops-emea "
                "--threshold 0.8"}));
  progress_cmd->callback(
      [&] { action = [&] { return runProgressCommand(progress, g.json_output); }; });

  BadgeArgs badge;
  auto* badge_cmd = scenarios_cmd->add_subcommand(
      "badge", "Issue a signed Open Badges 3.0 credential to a learner who mastered a level");
  addBadgeOptions(badge_cmd, badge);
  badge_cmd->footer(
      "Refused unless the learner's score at the level reaches --threshold. The badge is a W3C\n"
      "Verifiable Credential (OpenBadgeCredential) with an eddsa-jcs-2022 proof; its issuer is\n"
      "the did:key of --key (docs/trainer-guide.md, \"Badges\").\n" +
      examples({"psoctl badge-keygen --out issuer.pem",
                "psoctl scenarios badge --db controller.db --learner lrn-7 --level foundation "
                "--key issuer.pem --issuer-name 'PSO-PRIME Academy' --out lrn-7-foundation.json"}));
  badge_cmd->callback([&] { action = [&] { return runBadgeCommand(badge, g.json_output); }; });

  VerifyBadgeArgs verify_badge;
  auto* verify_badge_cmd = scenarios_cmd->add_subcommand(
      "verify-badge", "Verify a badge offline: its signature, its issuer and what it states");
  addVerifyBadgeOptions(verify_badge_cmd, verify_badge);
  verify_badge_cmd->footer(
      "Exit 0 and \"badge valid: ...\" when the signature holds over the badge as written and\n"
      "the issuer is the signer (and --issuer, when given); exit 1 and \"badge invalid: ...\"\n"
      "otherwise.\n" +
      examples({"psoctl scenarios verify-badge lrn-7-foundation.json",
                "psoctl scenarios verify-badge lrn-7-foundation.json --issuer did:key:z6Mk..."}));
  verify_badge_cmd->callback(
      [&] { action = [&] { return runVerifyBadgeCommand(verify_badge, g.json_output); }; });

  BusinessCaseArgs business_case;
  auto* business_case_cmd = scenarios_cmd->add_subcommand(
      "business-case", "The business case per day or week: replica-hours and cost against the HPA");
  addBusinessCaseOptions(business_case_cmd, business_case);
  business_case_cmd->footer(
      "From the recorded scenarios: the replica-hours of the engine's decisions against those\n"
      "of the HPA rule recorded beside each, the difference in --currency at\n"
      "--cost-per-replica-hour, and how often each count was short of the demand that came\n"
      "(docs/trainer-guide.md, \"The business case\"). -o json prints the figures.\n" +
      examples({"psoctl scenarios business-case --db controller.db --period week "
                "--cost-per-replica-hour 0.12 --currency EUR",
                "psoctl scenarios business-case --db controller.db --period day --format html "
                "--out case.html"}));
  business_case_cmd->callback(
      [&] { action = [&] { return runBusinessCaseCommand(business_case, g.json_output); }; });

  ForecastArgs forecast;
  OnlineForecastArgs online_forecast;
  auto* forecast_cmd = app.add_subcommand(
      "forecast", "A system's forecast (SYSTEM), or rolling-origin forecasts of a trace (--trace)");
  addForecastOptions(forecast_cmd, forecast);
  addOnlineForecastOptions(forecast_cmd, online_forecast);
  forecast_cmd->footer(
      "SYSTEM --horizon 168h asks the controller; --trace FILE --horizon STEPS --out FILE\n"
      "replays a trace offline (docs/architecture.md section 6).\n" +
      examples({"psoctl forecast web --horizon 30m",
                "psoctl forecast web --horizon 168h --model holt-winters",
                "psoctl forecast --trace web.csv --horizon 12 --out -"}));
  forecast_cmd->callback([&] {
    if (!online_forecast.system.empty()) {
      action = [&] { return cmdForecastOnline(g, online_forecast); };
      return;
    }
    checkOfflineForecast(online_forecast, forecast);
    action = [&] { return runForecastCommand(forecast, g.json_output); };
  });

  std::string keygen_prefix;
  auto* keygen_cmd = app.add_subcommand(
      "keygen", "Make a CurveZMQ key pair: PREFIX.key (secret, 0600) and PREFIX.pub");
  keygen_cmd->add_option("--out", keygen_prefix, "Path prefix of the two files")->required();
  keygen_cmd->footer(
      examples({"psoctl keygen --out edge-01   # then install edge-01.key on the agent's host",
                "                              # (curve.secret_key_file) and edge-01.pub in the",
                "                              # controller's authorized_keys_dir"}));
  keygen_cmd->callback([&] { action = [&] { return cmdKeygen(keygen_prefix, g.json_output); }; });

  std::string badge_keygen_out;
  auto* badge_keygen_cmd = app.add_subcommand(
      "badge-keygen", "Make an Ed25519 key that signs badges (PEM, mode 0600); prints its did:key");
  badge_keygen_cmd->add_option("--out", badge_keygen_out, "The key file")->required();
  badge_keygen_cmd->footer(examples({"psoctl badge-keygen --out issuer.pem"}));
  badge_keygen_cmd->callback(
      [&] { action = [&] { return runBadgeKeygenCommand(badge_keygen_out, g.json_output); }; });

  SimulateArgs simulate;
  auto* simulate_cmd =
      app.add_subcommand("simulate", "Replay a trace, or a database's fleet, through the engine");
  addSimulateOptions(simulate_cmd, simulate);
  simulate_cmd->footer(
      examples({"psoctl simulate --trace web.csv --capacity 40 --out sim.csv",
                "psoctl simulate --trace web.csv --capacity 40 --policy reactive --out - | head",
                "psoctl simulate --db controller.db --since 7d --config controller.yaml",
                "psoctl simulate --db controller.db --since 7d --set "
                "systems.web.target_utilization=0.6 --set engine.risk=0.1"}));
  simulate_cmd->callback(
      [&] { action = [&] { return runSimulateCommand(simulate, g.json_output); }; });

  ImportArgs import_args;
  auto* import_cmd = app.add_subcommand(
      "import", "Load a system's past demand (trace CSV or Prometheus) into a controller database");
  addImportOptions(import_cmd, import_args);
  import_cmd->footer(
      "Loads past demand so forecasts are seasonal from the first cycle: from a trace CSV\n"
      "(--trace FILE [--shift-to-now | --time-scale N]) or from Prometheus (--prometheus URL\n"
      "--query PROMQL --since 14d [--step 1m]). Writes the samples and their minute and hour\n"
      "rollups. Stop the controller first (docs/operations.md, \"Importing history\").\n" +
      examples({"psoctl import --db /var/lib/pso/controller.db --system web --trace web.csv "
                "--shift-to-now",
                "psoctl import --db demo.db --system web --trace web-history.csv --time-scale 300",
                "psoctl import --db controller.db --system web --prometheus http://prom:9090 "
                "--query 'sum(rate(http_requests_total[1m]))' --since 14d"}));
  import_cmd->callback([&] {
    checkImportArgs(import_cmd, import_args);
    import_args.ca_file = g.ca_file;
    action = [&] { return runImportCommand(import_args, g.json_output); };
  });

  app.add_subcommand("version", "This client's version and the controller's (when it answers)")
      ->footer(examples({"psoctl version", "psoctl --api http://ctl:7460 -o json version"}))
      ->callback([&] { action = [&] { return cmdVersion(g); }; });

  std::string completion_shell;
  auto* completion_cmd = app.add_subcommand(
      "completion", "Print a shell completion script for psoctl's commands and options");
  completion_cmd->add_option("shell", completion_shell, "The shell: bash")
      ->required()
      ->check(CLI::IsMember({"bash"}));
  completion_cmd->footer(examples({"source <(psoctl completion bash)",
                                   "psoctl completion bash > /etc/bash_completion.d/psoctl"}));
  completion_cmd->callback([&] {
    action = [&] {
      std::cout << bashCompletion(app);
      return 0;
    };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (!g.output_flag.empty()) {
    if (g.json_output && g.output_flag != "json") {
      return fail("--json and -o " + g.output_flag + " disagree: give one of them");
    }
    g.output = g.output_flag == "json"   ? OutputFormat::kJson
               : g.output_flag == "wide" ? OutputFormat::kWide
                                         : OutputFormat::kName;
  }
  if (g.json_output || g.output == OutputFormat::kJson) {
    g.json_output = true;
    g.output = OutputFormat::kJson;
  }
  // The offline commands print reports and files, not lists of names.
  for (const auto* command :
       {forecast_cmd, simulate_cmd, import_cmd, keygen_cmd, badge_keygen_cmd, grade_cmd,
        progress_cmd, badge_cmd, verify_badge_cmd, business_case_cmd, completion_cmd}) {
    if (command->parsed() && g.output == OutputFormat::kName) {
      return noNames(command->get_name());
    }
  }
  if (!token_file.empty() && g.token.empty()) {
    std::ifstream in(token_file);
    if (!in || !std::getline(in, g.token)) return fail("--token-file: cannot read " + token_file);
  }
  return action ? action() : 2;
}

}  // namespace pso::cli
