// psoctl import, run as the real binary: a trace or a Prometheus range query
// (a real HTTP server on loopback) into a controller database, read back
// through the store. Every run pins --now, so nothing depends on the clock.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controller/cli/prometheus_range.h"
#include "controller/store/store.h"
#include "tests/support/loopback_prometheus.h"
#include "tests/support/process.h"

namespace pso::testing {
namespace {

using controller::store::RollupBucket;
using controller::store::RollupResolution;
using controller::store::Sample;
using controller::store::Store;

constexpr int64_t kHourS = 3600;
// An hour boundary: the trace starts here.
constexpr int64_t kT0 = 1'699'999'200;
static_assert(kT0 % kHourS == 0);
constexpr int64_t kAll = std::numeric_limits<int64_t>::max();

CommandOutput psoctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{PSOCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv);
}

/// Three hours, one sample a minute; value = 100 * hour + minute.
std::vector<std::pair<int64_t, double>> writeTrace(const std::string& path) {
  std::vector<std::pair<int64_t, double>> points;
  std::ofstream out(path);
  out << "timestamp,value\n";
  for (int i = 0; i < 180; ++i) {
    const double value = 100.0 * (i / 60) + (i % 60);
    points.emplace_back(kT0 + 60 * i, value);
    out << kT0 + 60 * i << ',' << value << '\n';
  }
  return points;
}

std::unique_ptr<Store> openStore(const std::string& path) {
  auto store = Store::open(path);
  EXPECT_TRUE(store.ok()) << store.error().message;
  return store.ok() ? std::move(*store) : nullptr;
}

std::vector<Sample> storedSamples(Store& store, const std::string& system = "web",
                                  const std::string& metric = "demand") {
  auto samples = store.samples(system, metric, std::numeric_limits<int64_t>::min(), kAll);
  EXPECT_TRUE(samples.ok());
  return samples.ok() ? *samples : std::vector<Sample>{};
}

std::vector<RollupBucket> storedRollups(Store& store, RollupResolution resolution) {
  auto rows = store.rollups("web", "demand", resolution, 0, kAll);
  EXPECT_TRUE(rows.ok());
  return rows.ok() ? *rows : std::vector<RollupBucket>{};
}

TEST(PsoctlImport, TraceBecomesTheSeriesWithMinuteAndHourRollups) {
  TempDir dir;
  const auto points = writeTrace(dir.file("web.csv"));
  const std::string now = std::to_string(kT0 + 4 * kHourS);
  auto r = psoctl({"--json", "import", "--db", dir.file("controller.db"), "--system", "web",
                   "--trace", dir.file("web.csv"), "--now", now});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["samples"], 180);
  EXPECT_EQ(report["first_ts_ms"], kT0 * 1000);

  auto store = openStore(dir.file("controller.db"));
  ASSERT_NE(store, nullptr);
  const auto samples = storedSamples(*store);
  ASSERT_EQ(samples.size(), points.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(samples[i].ts_ms, points[i].first * 1000) << i;
    EXPECT_DOUBLE_EQ(samples[i].value, points[i].second) << i;
  }
  const auto minutes = storedRollups(*store, RollupResolution::kMinute);
  ASSERT_EQ(minutes.size(), 180u);
  EXPECT_DOUBLE_EQ(minutes[61].mean, 101.0);
  const auto hours = storedRollups(*store, RollupResolution::kHour);
  ASSERT_EQ(hours.size(), 3u);
  for (int h = 0; h < 3; ++h) {
    EXPECT_EQ(hours[h].start_ms, (kT0 + h * kHourS) * 1000);
    EXPECT_EQ(hours[h].count, 60);
    EXPECT_NEAR(hours[h].mean, 100.0 * h + 29.5, 1e-9);
  }
}

TEST(PsoctlImport, ShiftToNowMovesTheLastSampleToNowAndKeepsTheSpacing) {
  TempDir dir;
  const auto points = writeTrace(dir.file("web.csv"));
  const int64_t now_s = 1'764'720'000;  // an hour boundary, far after the trace
  auto r = psoctl({"import", "--db", dir.file("controller.db"), "--system", "web", "--metric",
                   "requests", "--trace", dir.file("web.csv"), "--shift-to-now", "--now",
                   std::to_string(now_s)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("imported 180 samples of web/requests"), std::string::npos) << r.out;

  auto store = openStore(dir.file("controller.db"));
  ASSERT_NE(store, nullptr);
  const auto samples = storedSamples(*store, "web", "requests");
  ASSERT_EQ(samples.size(), points.size());
  const int64_t shift_ms = now_s * 1000 - points.back().first * 1000;
  EXPECT_EQ(samples.back().ts_ms, now_s * 1000);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(samples[i].ts_ms, points[i].first * 1000 + shift_ms) << i;
    EXPECT_DOUBLE_EQ(samples[i].value, points[i].second) << i;
  }
  // Every minute before now is rolled up; the one holding now is still open.
  auto minutes = store->rollups("web", "requests", RollupResolution::kMinute, 0, kAll);
  ASSERT_TRUE(minutes.ok());
  EXPECT_EQ(minutes->size(), 179u);
}

TEST(PsoctlImport, TimeScaleCompressesTheSpacingTowardsTheLastSampleAtNow) {
  TempDir dir;
  const auto points = writeTrace(dir.file("web.csv"));  // a sample a minute
  const int64_t now_s = 1'764'720'000;
  auto r =
      psoctl({"--json", "import", "--db", dir.file("controller.db"), "--system", "web", "--trace",
              dir.file("web.csv"), "--time-scale", "300", "--now", std::to_string(now_s)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["samples"], 180);
  EXPECT_EQ(report["last_ts_ms"], now_s * 1000);
  // Three hours of trace replayed at 300x are 36 s: 60 s / 300 = 200 ms apart.
  EXPECT_EQ(report["first_ts_ms"], now_s * 1000 - 179 * 200);

  auto store = openStore(dir.file("controller.db"));
  ASSERT_NE(store, nullptr);
  const auto samples = storedSamples(*store);
  ASSERT_EQ(samples.size(), points.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(samples[i].ts_ms, now_s * 1000 - static_cast<int64_t>(179 - i) * 200) << i;
    EXPECT_DOUBLE_EQ(samples[i].value, points[i].second) << i;
  }

  // A positive number, and for a trace only.
  for (const char* bad : {"0", "-2", "abc"}) {
    auto refused =
        psoctl({"import", "--db", dir.file("controller.db"), "--system", "web", "--trace",
                dir.file("web.csv"), "--time-scale", bad, "--now", std::to_string(now_s)});
    EXPECT_EQ(refused.exit_code, 2) << bad << ": " << refused.err;
  }
  auto prometheus =
      psoctl({"import", "--db", dir.file("controller.db"), "--system", "web", "--prometheus",
              "http://127.0.0.1:9", "--query", "up", "--since", "1h", "--time-scale", "300"});
  EXPECT_EQ(prometheus.exit_code, 2);
  EXPECT_NE(prometheus.err.find("--time-scale applies to --trace only"), std::string::npos)
      << prometheus.err;
}

TEST(PsoctlImport, RefusesABadTraceAndABadName) {
  TempDir dir;
  {
    std::ofstream out(dir.file("bad.csv"));
    out << "timestamp,value\n1700000000,1\n1700000060,abc\n";
  }
  writeTrace(dir.file("web.csv"));
  auto bad = psoctl({"import", "--db", dir.file("controller.db"), "--system", "web", "--trace",
                     dir.file("bad.csv"), "--now", "1700000000"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("bad.csv:3"), std::string::npos) << bad.err;
  auto name = psoctl({"import", "--db", dir.file("controller.db"), "--system", "web site",
                      "--trace", dir.file("web.csv"), "--now", std::to_string(kT0 + 4 * kHourS)});
  EXPECT_EQ(name.exit_code, 1);
  EXPECT_NE(name.err.find("system name 'web site'"), std::string::npos) << name.err;
  auto both = psoctl({"import", "--db", dir.file("controller.db"), "--system", "web"});
  EXPECT_EQ(both.exit_code, 2);
}

// An import is past demand within the times a store holds: an absurd
// timestamp, a sample after now or before 1970 is refused in one line and
// nothing is stored; a trace of another time moves with --shift-to-now.
TEST(PsoctlImport, RefusesTimesOutsidePastDemand) {
  TempDir dir;
  auto write = [&](const std::string& name, const std::string& rows) {
    std::ofstream(dir.file(name)) << "timestamp,value\n" << rows;
    return dir.file(name);
  };
  const std::string db = dir.file("controller.db");
  auto import = [&](const std::string& trace, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"import",  "--db", db,      "--system",  "web",
                                  "--trace", trace,  "--now", "1700000000"};
    args.insert(args.end(), extra.begin(), extra.end());
    return psoctl(args);
  };
  const auto absurd = import(write("absurd.csv", "99999999999999999,5\n"));
  EXPECT_EQ(absurd.exit_code, 1);
  EXPECT_NE(absurd.err.find("absurd.csv:2: timestamp '99999999999999999' is outside "
                            "0000-01-01 .. 9999-12-31"),
            std::string::npos)
      << absurd.err;
  const auto future = import(write("future.csv", "4102444800,5\n4102448400,6\n"));
  EXPECT_EQ(future.exit_code, 1);
  EXPECT_NE(future.err.find("a sample at 2100-01-01T00:00:00"), std::string::npos) << future.err;
  EXPECT_NE(future.err.find("--shift-to-now"), std::string::npos) << future.err;
  const auto old = import(write("old.csv", "-3600,5\n0,6\n"));
  EXPECT_EQ(old.exit_code, 1);
  EXPECT_NE(old.err.find("before 1970-01-01"), std::string::npos) << old.err;
  const auto stretched = import(write("long.csv", "0,5\n1600000000,6\n"), {"--time-scale", "0.5"});
  EXPECT_EQ(stretched.exit_code, 1);
  EXPECT_NE(stretched.err.find("would start before 1970-01-01"), std::string::npos)
      << stretched.err;
  for (const auto* refused : {&absurd, &future, &old, &stretched}) {
    EXPECT_EQ(std::count(refused->err.begin(), refused->err.end(), '\n'), 1) << refused->err;
  }
  // The future trace, moved so its last sample is now, is imported, and
  // only its two samples are stored.
  const auto moved = import(dir.file("future.csv"), {"--shift-to-now"});
  EXPECT_EQ(moved.exit_code, 0) << moved.err;
  auto store = openStore(db);
  ASSERT_NE(store, nullptr);
  const auto samples = storedSamples(*store);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples.back().ts_ms, 1700000000LL * 1000);
}

// --- Prometheus -------------------------------------------------------------

/// A value per timestamp: the hour of the day, so every hour's mean is known.
std::string hourOfDay(int64_t ts_s) {
  return std::to_string((ts_s / kHourS) % 24);
}

/// Answers every query_range with one series over the requested range,
/// value hourOfDay(t), NaN at every t divisible by 86400.
LoopbackPrometheus::Answer oneSeries(const LoopbackPrometheus::Request& request) {
  const int64_t start = std::stoll(request.query.at("start"));
  const int64_t end = std::stoll(request.query.at("end"));
  const int64_t step = std::stoll(request.query.at("step"));
  std::vector<std::pair<double, std::string>> values;
  for (int64_t t = start; t <= end; t += step) {
    values.emplace_back(static_cast<double>(t), t % 86400 == 0 ? "NaN" : hourOfDay(t));
  }
  return {200, prometheusMatrix({{R"({"__name__":"http_requests","job":"web"})", values}})};
}

TEST(PsoctlImport, PrometheusRangeIsFetchedInChunksAndImported) {
  TempDir dir;
  LoopbackPrometheus prometheus(oneSeries);
  const int64_t now_s = 1'764'720'030;  // 30 s past a day boundary
  const std::string query = R"(sum(rate(http_requests_total{job="web"}[5m])))";
  auto r = psoctl({"--json", "import", "--db", dir.file("controller.db"), "--system", "web",
                   "--prometheus", prometheus.url() + "/", "--query", query, "--since", "14d",
                   "--step", "1m", "--now", std::to_string(now_s)});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // 14 days of 1-minute steps are 20,161 points: two requests of at most
  // 11,000, the second starting one step after the first ends.
  const int64_t end = now_s - 30;
  const int64_t start = end - 14 * 86400;
  const auto requests = prometheus.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& request : requests) {
    EXPECT_EQ(request.route, "/api/v1/query_range");
    EXPECT_EQ(request.query.at("query"), query);
    EXPECT_EQ(request.query.at("step"), "60");
  }
  EXPECT_EQ(requests[0].query.at("start"), std::to_string(start));
  EXPECT_EQ(requests[0].query.at("end"), std::to_string(start + 10999 * 60));
  EXPECT_EQ(requests[1].query.at("start"), std::to_string(start + 11000 * 60));
  EXPECT_EQ(requests[1].query.at("end"), std::to_string(end));

  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["requests"], 2);
  EXPECT_EQ(report["series"], R"({__name__="http_requests",job="web"})");
  EXPECT_EQ(report["non_finite_skipped"], 15);  // one NaN per day boundary, both ends included
  EXPECT_EQ(report["samples"], 20161 - 15);

  auto store = openStore(dir.file("controller.db"));
  ASSERT_NE(store, nullptr);
  const auto samples = storedSamples(*store);
  ASSERT_EQ(samples.size(), 20161u - 15);
  EXPECT_EQ(samples.front().ts_ms, (start + 60) * 1000);  // the first point was a NaN
  EXPECT_EQ(samples.back().ts_ms, (end - 60) * 1000);     // and so was the last
  const auto hours = storedRollups(*store, RollupResolution::kHour);
  ASSERT_EQ(hours.size(), 14u * 24);
  for (const auto& hour : hours) {
    EXPECT_DOUBLE_EQ(hour.mean, static_cast<double>((hour.start_ms / 1000 / kHourS) % 24));
  }
}

TEST(PsoctlImport, PrometheusAnswerWithTwoSeriesIsRefusedNamingThem) {
  TempDir dir;
  LoopbackPrometheus prometheus([](const LoopbackPrometheus::Request&) {
    return LoopbackPrometheus::Answer{
        200, prometheusMatrix({{R"({"instance":"a:9100"})", {{1764720000, "1"}}},
                               {R"({"instance":"b:9100"})", {{1764720000, "2"}}}})};
  });
  auto r = psoctl({"import", "--db", dir.file("controller.db"), "--system", "web", "--prometheus",
                   prometheus.url(), "--query", "up", "--since", "1h", "--now", "1764720000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("exactly one series, it answered 2 series: {instance=\"a:9100\"} "
                       "{instance=\"b:9100\"}"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);

  auto store = openStore(dir.file("controller.db"));
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(storedSamples(*store).empty());
}

TEST(PsoctlImport, PrometheusWithNoSeriesIsRefused) {
  TempDir dir;
  LoopbackPrometheus prometheus([](const LoopbackPrometheus::Request&) {
    return LoopbackPrometheus::Answer{200, prometheusMatrix({})};
  });
  auto r = psoctl({"import", "--db", dir.file("controller.db"), "--system", "web", "--prometheus",
                   prometheus.url(), "--query", "nothing", "--since", "1h", "--now", "1764720000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("it answered 0 series"), std::string::npos) << r.err;
}

TEST(PsoctlImport, PrometheusErrorAnswersAndMalformedJsonGetOneLine) {
  TempDir dir;
  LoopbackPrometheus::Answer answer;
  LoopbackPrometheus prometheus([&answer](const LoopbackPrometheus::Request&) { return answer; });
  auto run = [&] {
    return psoctl({"import", "--db", dir.file("controller.db"), "--system", "web", "--prometheus",
                   prometheus.url(), "--query", "rate(x[5m]", "--since", "1h", "--now",
                   "1764720000"});
  };

  answer = {
      400,
      R"({"status":"error","errorType":"bad_data","error":"1:11: parse error: unclosed left parenthesis"})"};
  auto bad_query = run();
  EXPECT_EQ(bad_query.exit_code, 1);
  EXPECT_NE(bad_query.err.find(
                "answered HTTP 400: bad_data: 1:11: parse error: unclosed left parenthesis"),
            std::string::npos)
      << bad_query.err;

  answer = {200, R"({"status":"error","errorType":"timeout","error":"query timed out"})"};
  auto timeout = run();
  EXPECT_EQ(timeout.exit_code, 1);
  EXPECT_NE(timeout.err.find("timeout: query timed out"), std::string::npos) << timeout.err;

  answer = {503, "Service Unavailable"};
  auto unavailable = run();
  EXPECT_EQ(unavailable.exit_code, 1);
  EXPECT_NE(unavailable.err.find("answered HTTP 503"), std::string::npos) << unavailable.err;

  answer = {200, R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},)"};
  auto truncated = run();
  EXPECT_EQ(truncated.exit_code, 1);
  EXPECT_NE(truncated.err.find("is not valid JSON"), std::string::npos) << truncated.err;

  answer = {200, R"({"status":"success","data":{"resultType":"vector","result":[]}})"};
  auto vector = run();
  EXPECT_EQ(vector.exit_code, 1);
  EXPECT_NE(vector.err.find("resultType \"vector\""), std::string::npos) << vector.err;

  for (const auto* r : {&bad_query, &timeout, &unavailable, &truncated, &vector}) {
    EXPECT_EQ(std::count(r->err.begin(), r->err.end(), '\n'), 1) << r->err;
  }
  auto store = openStore(dir.file("controller.db"));
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(storedSamples(*store).empty());
}

TEST(PsoctlImport, PrometheusRangeTooLongForItsStepIsRefusedBeforeAnyRequest) {
  TempDir dir;
  LoopbackPrometheus prometheus(oneSeries);
  auto r = psoctl({"import", "--db", dir.file("controller.db"), "--system", "web", "--prometheus",
                   prometheus.url(), "--query", "up", "--since", "400d", "--step", "1s", "--now",
                   "1764720000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is 34560001 points, more than 6500000: use a longer step"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(prometheus.requests().empty());
}

// --- The parser and the plan, directly ---------------------------------------

TEST(PrometheusRange, ChunksNeverExceedTheLimitAndCoverTheRange) {
  using cli::planRangeChunks;
  EXPECT_TRUE(planRangeChunks(0, 10, 0).empty());
  EXPECT_TRUE(planRangeChunks(10, 0, 1).empty());
  auto one = planRangeChunks(0, 0, 60'000);
  ASSERT_EQ(one.size(), 1u);
  auto exact = planRangeChunks(0, 10999 * 60'000LL, 60'000);
  ASSERT_EQ(exact.size(), 1u);
  auto split = planRangeChunks(0, 11000 * 60'000LL, 60'000);
  ASSERT_EQ(split.size(), 2u);
  EXPECT_EQ(split[1].start_ms, 11000 * 60'000LL);
  EXPECT_EQ(split[1].end_ms, 11000 * 60'000LL);
  auto small = planRangeChunks(0, 99, 10, 3);  // 0..20, 30..50, 60..80, 90..99
  ASSERT_EQ(small.size(), 4u);
  EXPECT_EQ(small[3].start_ms, 90);
  EXPECT_EQ(small[3].end_ms, 99);
  EXPECT_EQ(cli::prometheusTime(1'700'000'000'250LL), "1700000000.25");
  EXPECT_EQ(cli::prometheusTime(60'000), "60");
}

TEST(PrometheusRange, ValuesParseAndNonFiniteOnesAreCounted) {
  auto parsed = cli::parseRangeAnswer(
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"web"},)"
      R"("values":[[1700000000.5,"1.5"],[1700000060,"NaN"],[1700000120,"+Inf"],)"
      R"([1700000180,"-Inf"],[1700000240,"2e3"]]}]}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 1u);
  const auto& series = parsed->front();
  EXPECT_EQ(series.labels, R"({job="web"})");
  EXPECT_EQ(series.non_finite, 3u);
  ASSERT_EQ(series.ts_ms.size(), 2u);
  EXPECT_EQ(series.ts_ms[0], 1'700'000'000'500LL);
  EXPECT_DOUBLE_EQ(series.values[1], 2000.0);

  for (
      const char* bad :
      {R"([])", R"({"status":"success"})", R"({"status":"success","data":{"resultType":"matrix"}})",
       R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,2]]}]}})",
       R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[["1","2"]]}]}})",
       R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"x"]]}]}})",
       R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[[1e300,"1"]]}]}})"}) {
    auto refused = cli::parseRangeAnswer(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, "malformed") << bad;
  }
}

}  // namespace
}  // namespace pso::testing
