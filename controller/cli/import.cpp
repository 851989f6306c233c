#include "controller/cli/import.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/http_transfer.h"
#include "common/trace.h"
#include "controller/cli/prometheus_range.h"
#include "controller/config/controller_config.h"
#include "controller/store/store.h"

namespace pso::cli {
namespace {

using controller::store::Sample;
using nlohmann::json;

// Most points one import reads from Prometheus (a year at a 5 s step).
constexpr int64_t kMaxImportPoints = 6'500'000;
// An import is past demand: a sample may lie after now by as much as the
// ingest takes from an agent by default (controller.ingest.max_sample_ahead).
const int64_t kImportAheadMs = controller::IngestConfig{}.max_sample_ahead.count();

int failImport(const std::string& reason) {
  std::cerr << "psoctl: import: " << reason << '\n';
  return 1;
}

/// What was read from the source, before it is stored.
struct Loaded {
  std::vector<Sample> samples;
  std::size_t non_finite = 0;
  std::size_t requests = 0;  ///< Prometheus requests made
  std::string labels;        ///< the Prometheus series' label set
};

Result<Loaded> loadTrace(const ImportArgs& args, int64_t now_ms) {
  auto trace = common::readTrace(args.trace);
  if (!trace) return trace.error();
  if (trace->points.empty()) return makeError("invalid", args.trace + ": the trace has no samples");
  Loaded loaded;
  loaded.samples.reserve(trace->points.size());
  const int64_t last_ms = trace->points.back().ts_s * 1000;
  if (args.time_scale != 1.0) {
    // Compressed towards its last sample, which lands at now: a replay at
    // time_scale x continues where this history ends.
    const double first_before_last =
        static_cast<double>(last_ms - trace->points.front().ts_s * 1000) / args.time_scale;
    // Beyond this the samples would lie before 1970 anyway (checkImportTimes).
    if (first_before_last > static_cast<double>(now_ms)) {
      return makeError("invalid", args.trace + ": at --time-scale " +
                                      std::to_string(args.time_scale) +
                                      " the trace would start before 1970-01-01");
    }
    for (const auto& point : trace->points) {
      const double before_last = static_cast<double>(last_ms - point.ts_s * 1000);
      loaded.samples.push_back({now_ms - std::llround(before_last / args.time_scale), point.value});
    }
    return loaded;
  }
  // The trace moves as a whole, so its last sample lands at now.
  const int64_t shift_ms = args.shift_to_now ? now_ms - last_ms : 0;
  for (const auto& point : trace->points) {
    loaded.samples.push_back({point.ts_s * 1000 + shift_ms, point.value});
  }
  return loaded;
}

std::string queryUrl(const std::string& base, const std::string& query, const RangeChunk& chunk,
                     int64_t step_ms) {
  std::string url = base;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/api/v1/query_range?query=" + common::escapeQueryValue(query) +
         "&start=" + prometheusTime(chunk.start_ms) + "&end=" + prometheusTime(chunk.end_ms) +
         "&step=" + prometheusTime(step_ms);
}

Result<Loaded> loadPrometheus(const ImportArgs& args, int64_t now_ms) {
  auto since = common::parseDuration(args.since);
  if (!since || since->count() <= 0) {
    return makeError("invalid", "--since '" + args.since + "' is not a positive duration (14d)");
  }
  auto step = common::parseDuration(args.step);
  if (!step || step->count() <= 0) {
    return makeError("invalid", "--step '" + args.step + "' is not a positive duration (1m)");
  }
  const int64_t step_ms = step->count();
  // Whole steps, ending at the last step boundary at or before now.
  const int64_t end_ms = now_ms - (((now_ms % step_ms) + step_ms) % step_ms);
  const int64_t start_ms = end_ms - since->count() / step_ms * step_ms;
  if (const int64_t points = (end_ms - start_ms) / step_ms + 1; points > kMaxImportPoints) {
    return makeError("invalid", "--since " + args.since + " at --step " + args.step + " is " +
                                    std::to_string(points) + " points, more than " +
                                    std::to_string(kMaxImportPoints) + ": use a longer step");
  }
  Loaded loaded;
  std::map<std::string, std::size_t> label_sets;  // every label set seen, and in how many answers
  for (const RangeChunk& chunk : planRangeChunks(start_ms, end_ms, step_ms)) {
    common::HttpTransfer transfer;
    transfer.url = queryUrl(args.prometheus, args.query, chunk, step_ms);
    transfer.headers = {"Accept: application/json"};
    transfer.timeout_ms = args.timeout_ms;
    transfer.ca_file = args.ca_file;
    auto reply = common::performTransfer(transfer);
    ++loaded.requests;
    if (!reply) {
      return makeError(reply.error().code, args.prometheus + ": " + reply.error().message);
    }
    auto series = parseRangeAnswer(reply->body);
    if (reply->status != 200) {
      // Prometheus explains a refused query in an error answer; say it when it does.
      std::string reason = "HTTP " + std::to_string(reply->status);
      if (!series && series.error().code == "prometheus") reason += ": " + series.error().message;
      return makeError("prometheus", args.prometheus + " answered " + reason);
    }
    if (!series) {
      return makeError(series.error().code, args.prometheus + ": " + series.error().message);
    }
    for (auto& one : *series) {
      ++label_sets[one.labels];
      loaded.non_finite += one.non_finite;
      for (std::size_t i = 0; i < one.ts_ms.size(); ++i) {
        loaded.samples.push_back({one.ts_ms[i], one.values[i]});
      }
    }
    if (label_sets.size() > 1) break;
  }
  if (label_sets.size() != 1) {
    std::string sets;
    for (const auto& [labels, count] : label_sets) sets += (sets.empty() ? "" : " ") + labels;
    return makeError("invalid", "the query must answer exactly one series, it answered " +
                                    std::to_string(label_sets.size()) + " series" +
                                    (sets.empty() ? "" : ": " + sets) +
                                    " (narrow it with labels or aggregate it with sum())");
  }
  loaded.labels = label_sets.begin()->first;
  return loaded;
}

/// Refuses samples the store must not take from an import: after now (past
/// demand only; a trace of another time moves with --shift-to-now) or
/// before 1970 (a trace longer than the time since, moved to now).
Status checkImportTimes(const std::vector<Sample>& samples, int64_t now_ms,
                        const std::string& source) {
  for (const Sample& s : samples) {
    if (s.ts_ms > now_ms + kImportAheadMs) {
      return makeError("invalid", source + ": a sample at " + common::formatIso8601(s.ts_ms) +
                                      " is after now (" + common::formatIso8601(now_ms) +
                                      "): import past demand, or move the trace with "
                                      "--shift-to-now");
    }
    if (s.ts_ms < 0) {
      return makeError("invalid", source + ": a sample at " + common::formatIso8601(s.ts_ms) +
                                      " is before 1970-01-01");
    }
  }
  return Status();
}

}  // namespace

void addImportOptions(CLI::App* cmd, ImportArgs& args) {
  cmd->add_option("--db", args.db, "The controller's database file (controller.yaml: db)")
      ->required();
  cmd->add_option("--system", args.system, "System whose history this is")->required();
  cmd->add_option("--metric", args.metric, "Metric to store the samples as")->capture_default_str();
  auto* trace = cmd->add_option("--trace", args.trace, "Trace CSV (timestamp,value) to import");
  cmd->add_flag("--shift-to-now", args.shift_to_now,
                "Move the trace in time so its last sample lands at now");
  cmd->add_option("--time-scale", args.time_scale,
                  "Divide the time between the trace's samples by N, its last sample at now "
                  "(history for a replay at N x; implies --shift-to-now)")
      ->capture_default_str();
  auto* prometheus =
      cmd->add_option("--prometheus", args.prometheus,
                      "Prometheus base URL (http://prometheus:9090) to read the history from");
  cmd->add_option("--query", args.query, "PromQL answering exactly one series (with --prometheus)");
  cmd->add_option("--since", args.since, "How far back to read (with --prometheus), e.g. 14d");
  cmd->add_option("--step", args.step, "Resolution of the samples read (with --prometheus)")
      ->capture_default_str();
  cmd->add_option(
      "--now", args.now,
      "The time taken as now (timestamp; default: the clock), for reproducible imports");
  trace->excludes(prometheus);
}

void checkImportArgs(const CLI::App* cmd, const ImportArgs& args) {
  {
    if (!(args.time_scale > 0.0) || !std::isfinite(args.time_scale)) {
      throw CLI::ValidationError("import", "--time-scale must be a positive number (300)");
    }
    if (args.trace.empty() == args.prometheus.empty()) {
      throw CLI::ValidationError("import", "give either --trace FILE or --prometheus URL");
    }
    if (!args.prometheus.empty()) {
      if (args.query.empty()) throw CLI::RequiredError("--query (with --prometheus)");
      if (args.since.empty()) throw CLI::RequiredError("--since (with --prometheus)");
      if (args.shift_to_now) {
        throw CLI::ValidationError("import", "--shift-to-now applies to --trace only");
      }
      if (cmd->count("--time-scale") > 0) {
        throw CLI::ValidationError("import", "--time-scale applies to --trace only");
      }
    } else if (cmd->count("--query") + cmd->count("--since") > 0) {
      throw CLI::ValidationError("import", "--query and --since apply to --prometheus only");
    }
  }
}

int runImportCommand(const ImportArgs& args, bool json_output) {
  int64_t now_ms = common::wallMs();
  if (!args.now.empty()) {
    auto now = common::parseTimestamp(args.now);
    if (!now) return failImport("--now: " + now.error().message);
    now_ms = *now * 1000;
  }
  auto loaded = args.trace.empty() ? loadPrometheus(args, now_ms) : loadTrace(args, now_ms);
  if (!loaded) return failImport(loaded.error().message);
  if (auto times = checkImportTimes(loaded->samples, now_ms,
                                    args.trace.empty() ? args.prometheus : args.trace);
      !times) {
    return failImport(times.error().message);
  }

  auto store = controller::store::Store::open(args.db);
  if (!store) return failImport(store.error().message);
  auto imported = (*store)->importSamples(args.system, args.metric, loaded->samples);
  if (!imported) return failImport(imported.error().message);
  // The pass rebuilds the rollups of the series importSamples marked.
  auto rolled = (*store)->rollup(now_ms);
  if (!rolled) return failImport("rolling up: " + rolled.error().message);

  const std::size_t non_finite = loaded->non_finite + imported->non_finite;
  if (json_output) {
    json doc{{"system", args.system},
             {"metric", args.metric},
             {"samples", imported->samples},
             {"non_finite_skipped", non_finite},
             {"first_ts_ms", imported->first_ts_ms},
             {"last_ts_ms", imported->last_ts_ms},
             {"minute_rollups", rolled->minute_rows},
             {"hour_rollups", rolled->hour_rows}};
    if (!args.prometheus.empty()) {
      doc["requests"] = loaded->requests;
      doc["series"] = loaded->labels;
    }
    std::cout << doc.dump(2) << '\n';
    return 0;
  }
  std::cout << "imported " << imported->samples << " samples of " << args.system << '/'
            << args.metric;
  if (imported->samples > 0) {
    std::cout << " (" << common::formatTimestamp(imported->first_ts_ms) << " .. "
              << common::formatTimestamp(imported->last_ts_ms) << ")";
  }
  if (!args.prometheus.empty()) {
    std::cout << " from " << loaded->labels << " in " << loaded->requests << " requests";
  }
  std::cout << "; " << non_finite
            << " NaN/Inf values skipped; rollups written: " << rolled->minute_rows << " minute, "
            << rolled->hour_rows << " hour\n";
  return 0;
}

}  // namespace pso::cli
