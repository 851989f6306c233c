// The sample-chunk codec (controller/store/sample_chunk.h) on agent-like
// series and, when given, the development traces: bytes per sample and
// encode/decode throughput at chunk sizes 120 and 720, printed as a table
// (not a timed test).
//
// Synthetic series, 1 s step with 0-4 ms of scheduling jitter, fixed seeds:
//  - cpu_pct_2dp: a CPU percentage random walk rounded to 2 decimals;
//  - cpu_ratio_raw: 1 - idle/total over jiffies, as host_sampler computes it;
//  - cpu_ratio_4dp: the same rounded to 4 decimals (what rounding at the agent buys);
//  - mem_bytes: a resident size in bytes, whole pages, drifting and jumping;
//  - req_rate: requests per second over the measured interval (arbitrary doubles);
//  - constant: a replica count that does not change;
//  - counter: a bytes-sent counter growing by a steady rate with noise.
// Trace series are the CSVs of --traces DIR at their own step (their values
// as parsed from the file), split into chunks the same way.
//
// Throughput is samples per second of thread CPU time, each measurement
// repeated until it took at least 0.2 s; decoding appends into a reused
// vector, as a reader of many chunks would.
//
// Run: tests/bench/run_all.sh BUILD  or  BUILD/tests/bench/chunk_codec_bench [--traces DIR]

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "common/trace.h"
#include "controller/store/sample_chunk.h"
#include "tests/bench/bench_series.h"

namespace {

using pso::controller::store::ChunkValueEncoding;
using pso::controller::store::Sample;
namespace store = pso::controller::store;

constexpr int64_t kStartMs = 1767225600000;
constexpr std::size_t kSyntheticSamples = 720 * 60;  // 12 h at 1 s

struct Series {
  std::string name;
  std::vector<Sample> samples;
};

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Timestamps at 1 s with the 0-4 ms of lateness of an agent's sampling loop.
std::vector<int64_t> agentTimestamps(std::mt19937& rng) {
  std::uniform_int_distribution<int> late(0, 4);
  std::vector<int64_t> ts;
  for (std::size_t i = 0; i < kSyntheticSamples; ++i) {
    ts.push_back(kStartMs + static_cast<int64_t>(i) * 1000 + late(rng));
  }
  return ts;
}

std::vector<Series> syntheticSeries() {
  std::vector<Series> out;
  std::mt19937 rng(2026);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const auto ts = agentTimestamps(rng);
  const auto make = [&](const std::string& name, auto value) {
    Series s{name, {}};
    for (std::size_t i = 0; i < ts.size(); ++i) s.samples.push_back({ts[i], value(i)});
    out.push_back(std::move(s));
  };

  double level = 35.0;
  make("cpu_pct_2dp", [&](std::size_t) {
    level = std::clamp(level + 1.5 * normal(rng), 0.0, 100.0);
    return std::round(level * 100.0) / 100.0;
  });

  // Four CPUs at 100 jiffies a second; busy share drifting around 40%.
  double busy_share = 0.4;
  make("cpu_ratio_raw", [&](std::size_t) {
    busy_share = std::clamp(busy_share + 0.02 * normal(rng), 0.02, 0.98);
    const double total = 400.0 + std::round(2.0 * normal(rng));
    const double idle = std::round(total * (1.0 - busy_share));
    return std::clamp(1.0 - idle / total, 0.0, 1.0);
  });
  // The same ratio rounded to 4 decimals at the source (0.01 % of a CPU).
  const auto raw = out.back().samples;
  make("cpu_ratio_4dp", [&](std::size_t i) { return std::round(raw[i].value * 1e4) / 1e4; });

  double pages = 120000.0;
  make("mem_bytes", [&](std::size_t) {
    pages = std::max(1000.0, pages + std::round(20.0 * normal(rng)));
    if (u(rng) < 0.002) pages += std::round(50000.0 * (u(rng) - 0.4));
    return pages * 4096.0;
  });

  make("req_rate", [&](std::size_t i) {
    std::poisson_distribution<int> requests(250.0 +
                                            100.0 * std::sin(static_cast<double>(i) / 900.0));
    const double seconds = i == 0 ? 1.0 : static_cast<double>(ts[i] - ts[i - 1]) / 1000.0;
    return static_cast<double>(requests(rng)) / seconds;
  });

  make("constant", [](std::size_t) { return 4.0; });

  double sent = 0.0;
  make("counter", [&](std::size_t) {
    sent += std::round(125000.0 * (1.0 + 0.1 * normal(rng)));
    return sent;
  });
  return out;
}

std::vector<Series> traceSeries(const std::filesystem::path& dir) {
  std::vector<Series> out;
  for (const auto& file : pso::bench::traceFiles(dir)) {
    auto trace = pso::common::readTrace(file.string());
    if (!trace) {
      std::fprintf(stderr, "chunk_codec_bench: skipping %s: %s\n", file.c_str(),
                   trace.error().message.c_str());
      continue;
    }
    Series s{file.stem().string(), {}};
    for (const auto& p : trace->points) {
      const int64_t ts = p.ts_s * 1000;
      if (!std::isfinite(p.value)) continue;
      if (!s.samples.empty() && ts <= s.samples.back().ts_ms) continue;
      s.samples.push_back({ts, p.value});
    }
    out.push_back(std::move(s));
  }
  return out;
}

struct Figures {
  double bytes_per_sample = 0;
  double encode_msps = 0;  ///< million samples per second
  double decode_msps = 0;
  std::string encoding;  ///< the most common encoding of the chunks; "+" when some differ
};

/// "delta k=2", "dod k=0", "xor"; " r" when residuals correct the decimals.
std::string encodingName(const store::ChunkHeader& header) {
  const std::string residuals = header.residuals ? " r" : "";
  switch (header.encoding) {
    case ChunkValueEncoding::kDecimalDelta:
      return "delta k=" + std::to_string(header.scale) + residuals;
    case ChunkValueEncoding::kDecimalDeltaOfDelta:
      return "dod k=" + std::to_string(header.scale) + residuals;
    case ChunkValueEncoding::kXor:
      return "xor";
  }
  return "?";
}

/// Runs `work` (which handles `samples_per_run` samples) until 0.2 s of
/// thread CPU time; million samples per second.
template <typename Work>
double throughput(std::size_t samples_per_run, Work work) {
  const double start = threadCpuSeconds();
  std::size_t runs = 0;
  double elapsed = 0;
  do {
    work();
    ++runs;
    elapsed = threadCpuSeconds() - start;
  } while (elapsed < 0.2 || runs < 3);
  return static_cast<double>(samples_per_run * runs) / elapsed / 1e6;
}

Figures measure(const Series& series, std::size_t chunk_size) {
  std::vector<std::span<const Sample>> chunks;
  for (std::size_t at = 0; at < series.samples.size(); at += chunk_size) {
    const std::size_t n = std::min(chunk_size, series.samples.size() - at);
    chunks.emplace_back(series.samples.data() + at, n);
  }
  std::vector<std::string> blobs;
  std::size_t bytes = 0;
  std::map<std::string, int> encodings;
  for (const auto& chunk : chunks) {
    auto blob = store::encodeChunk(chunk);
    if (!blob) {
      std::fprintf(stderr, "chunk_codec_bench: %s: %s\n", series.name.c_str(),
                   blob.error().message.c_str());
      std::exit(1);
    }
    bytes += blob->size();
    ++encodings[encodingName(*store::readChunkHeader(*blob))];
    blobs.push_back(std::move(*blob));
  }

  // Every chunk must come back bit for bit before its speed means anything.
  std::vector<Sample> decoded;
  for (const auto& blob : blobs) {
    if (!store::decodeChunkInto(blob, decoded)) {
      std::fprintf(stderr, "chunk_codec_bench: %s: a chunk does not decode\n", series.name.c_str());
      std::exit(1);
    }
  }
  for (std::size_t i = 0; i < decoded.size(); ++i) {
    if (decoded[i].ts_ms != series.samples[i].ts_ms ||
        std::memcmp(&decoded[i].value, &series.samples[i].value, sizeof(double)) != 0) {
      std::fprintf(stderr, "chunk_codec_bench: %s: sample %zu differs\n", series.name.c_str(), i);
      std::exit(1);
    }
  }

  Figures f;
  const std::size_t n = series.samples.size();
  f.bytes_per_sample = static_cast<double>(bytes) / static_cast<double>(n);
  std::size_t sink = 0;
  f.encode_msps = throughput(n, [&] {
    for (const auto& chunk : chunks) sink += store::encodeChunk(chunk)->size();
  });
  f.decode_msps = throughput(n, [&] {
    for (const auto& blob : blobs) {
      decoded.clear();
      if (store::decodeChunkInto(blob, decoded)) sink += decoded.size();
    }
  });
  if (sink == 0) std::fprintf(stderr, "(nothing encoded)\n");
  const auto common =
      std::max_element(encodings.begin(), encodings.end(),
                       [](const auto& a, const auto& b) { return a.second < b.second; });
  f.encoding = common->first + (encodings.size() > 1 ? " +" : "");
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::string traces;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--traces" && i + 1 < argc) {
      traces = argv[++i];
    } else {
      std::fprintf(stderr, "usage: chunk_codec_bench [--traces DIR]\n");
      return 2;
    }
  }
  std::vector<Series> all = syntheticSeries();
  if (traces.empty()) {
    std::printf("(no --traces DIR: synthetic series only)\n");
  } else {
    auto loaded = traceSeries(traces);
    if (loaded.empty()) std::printf("(no trace CSV in %s)\n", traces.c_str());
    for (auto& s : loaded) all.push_back(std::move(s));
  }

  std::printf("Sample chunks: bytes per sample (raw: 16) and million samples/s of one core\n");
  std::printf("%-40s %8s | %-14s %6s %7s %7s | %-14s %6s %7s %7s\n", "series", "samples",
              "mode@120", "B/smp", "enc M/s", "dec M/s", "mode@720", "B/smp", "enc M/s", "dec M/s");
  for (const auto& s : all) {
    const Figures small = measure(s, 120);
    const Figures large = measure(s, 720);
    std::printf("%-40s %8zu | %-14s %6.3f %7.1f %7.1f | %-14s %6.3f %7.1f %7.1f\n", s.name.c_str(),
                s.samples.size(), small.encoding.c_str(), small.bytes_per_sample, small.encode_msps,
                small.decode_msps, large.encoding.c_str(), large.bytes_per_sample,
                large.encode_msps, large.decode_msps);
  }
  return 0;
}
