#include "tests/bench/bench_series.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <system_error>

#include "common/trace.h"

namespace pso::bench {

std::optional<BenchSeries> loadTraceSeries(const std::filesystem::path& path) {
  auto trace = common::readTrace(path.string());
  if (!trace || trace->points.size() < 2 || trace->step_s <= 0) return std::nullopt;
  BenchSeries series;
  series.name = path.stem().string();
  series.step_s = trace->step_s;
  const int64_t t0 = trace->points.front().ts_s;
  series.t0_s = t0;
  const auto slots = static_cast<std::size_t>((trace->points.back().ts_s - t0) / series.step_s) + 1;
  series.values.assign(slots, std::nan(""));
  for (const auto& p : trace->points) {
    const auto slot = static_cast<std::size_t>(
        std::llround(static_cast<double>(p.ts_s - t0) / static_cast<double>(series.step_s)));
    if (slot < slots) series.values[slot] = p.value;
  }
  return series;
}

std::vector<std::filesystem::path> traceFiles(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".csv") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

namespace {

constexpr int kDay = 288;
constexpr int kSyntheticLength = 14 * kDay;

double dailyWave(int t) {
  return std::sin(2.0 * M_PI * (t % kDay) / kDay - M_PI / 2.0);
}

/// Two levels (a service switching between a light and a heavy mode) held
/// for geometric spans of about 40 steps, noise 5% of the level, and rare
/// isolated spikes of 20-200 times the low level.
BenchSeries levelAlternation() {
  std::mt19937 rng(101);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> noise(0.0, 1.0);
  BenchSeries s{"syn_level_alternation", 300, {}};
  bool high = false;
  for (int t = 0; t < kSyntheticLength; ++t) {
    if (u(rng) < 1.0 / 40.0) high = !high;
    const double level = high ? 160.0 : 40.0;
    double v = level * (1.0 + 0.05 * noise(rng));
    if (u(rng) < 0.004) v = 40.0 * (20.0 + 180.0 * u(rng));
    s.values.push_back(std::max(0.0, v));
  }
  return s;
}

/// A CPU percentage that steps between about 33 and 99 and back at random
/// moments (hours apart), with sampling noise, clipped to 0-100.
BenchSeries stepChanges() {
  std::mt19937 rng(102);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> noise(0.0, 1.5);
  BenchSeries s{"syn_step_changes", 300, {}};
  double level = 33.0;
  for (int t = 0; t < kSyntheticLength; ++t) {
    if (u(rng) < 1.0 / 150.0) level = level < 60.0 ? 92.0 + 7.0 * u(rng) : 28.0 + 10.0 * u(rng);
    s.values.push_back(std::clamp(level + noise(rng), 0.0, 100.0));
  }
  return s;
}

/// A daily season with noise and isolated one-step spikes (1% of the steps)
/// of 3-15 times the season's amplitude.
BenchSeries isolatedSpikes() {
  std::mt19937 rng(103);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> noise(0.0, 4.0);
  BenchSeries s{"syn_isolated_spikes", 300, {}};
  for (int t = 0; t < kSyntheticLength; ++t) {
    double v = 100.0 + 30.0 * dailyWave(t) + noise(rng);
    if (u(rng) < 0.01) v += 30.0 * (3.0 + 12.0 * u(rng));
    s.values.push_back(v);
  }
  return s;
}

/// Poisson request counts around 14 per step with a mild daily swing and a
/// slow drift: most of each value is noise.
BenchSeries noisyCounts() {
  std::mt19937 rng(104);
  BenchSeries s{"syn_noisy_counts", 300, {}};
  for (int t = 0; t < kSyntheticLength; ++t) {
    const double rate =
        14.0 * (1.0 + 0.25 * dailyWave(t)) * (1.0 + 0.2 * std::sin(2.0 * M_PI * t / 3000.0));
    std::poisson_distribution<int> count(rate);
    s.values.push_back(static_cast<double>(count(rng)));
  }
  return s;
}

/// A daily load with a nightly batch job: at 02:00 (give or take a step) a
/// spike of 150 (+-25%) for four steps on top of the season.
BenchSeries nightlySpikes() {
  std::mt19937 rng(105);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> noise(0.0, 3.0);
  BenchSeries s{"syn_nightly_spikes", 300, {}};
  const int at = 2 * 12;  // 02:00 at 12 steps an hour
  int day_start = at;
  double height = 150.0;
  for (int t = 0; t < kSyntheticLength; ++t) {
    if (t % kDay == 0) {
      day_start = at + static_cast<int>(std::floor(3.0 * u(rng))) - 1;
      height = 150.0 * (0.75 + 0.5 * u(rng));
    }
    double v = 50.0 + 20.0 * dailyWave(t) + noise(rng);
    const int in_day = t % kDay;
    if (in_day >= day_start && in_day < day_start + 4) v += height;
    s.values.push_back(std::max(0.0, v));
  }
  return s;
}

}  // namespace

std::vector<BenchSeries> syntheticHardCases() {
  std::vector<BenchSeries> cases{levelAlternation(), stepChanges(), isolatedSpikes(), noisyCounts(),
                                 nightlySpikes()};
  // A midnight (2026-01-05 00:00 UTC): the cases' days start at their first value.
  for (auto& c : cases) c.t0_s = 1'767'571'200;
  return cases;
}

BenchSeries resample(const BenchSeries& series, int64_t step_s, common::Resampling how) {
  const int64_t factor = step_s > 0 ? std::max<int64_t>(1, series.step_s / step_s) : 1;
  BenchSeries out;
  out.step_s = series.step_s / factor;
  out.name = series.name + "@" + std::to_string(out.step_s) + "s";
  out.t0_s = series.t0_s;
  out.values = common::resample(series.values, factor, how);
  return out;
}

}  // namespace pso::bench
