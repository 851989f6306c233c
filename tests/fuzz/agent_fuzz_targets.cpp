#include "tests/fuzz/agent_fuzz_targets.h"

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "agent/cgroup_sampler.h"
#include "agent/host_sampler.h"
#include "agent/proc_text.h"
#include "agent/prometheus_text.h"

namespace pso::agent::fuzz {
namespace {

namespace fs = std::filesystem;

constexpr const char* kOrigin = "fuzz-origin";

bool isBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool allFinite(const std::vector<SamplePoint>& points) {
  for (const SamplePoint& point : points) {
    if (!std::isfinite(point.value)) return false;
  }
  return true;
}

// A refusal must say what and where; a sampler's Status may join several.
bool goodRefusal(const Error& error) {
  return !error.code.empty() && !error.message.empty();
}

// One fixture tree per process, rewritten for every input and removed at exit.
class FixtureTree {
 public:
  FixtureTree()
      : root_(fs::temp_directory_path() / ("pso-agent-fuzz-" + std::to_string(::getpid()))) {
    fs::create_directories(root_ / "cgroup");
    fs::create_directories(root_ / "proc" / "net");
    fs::create_directories(root_ / "proc" / "pressure");
  }
  ~FixtureTree() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

const fs::path& fixtureRoot() {
  static const FixtureTree tree;
  return tree.root();
}

}  // namespace

bool checkPrometheusText(std::string_view input) {
  const std::size_t newline = input.find('\n');
  std::string_view selector = input.substr(0, newline);
  const std::string_view text =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  const std::string name(nextToken(selector));
  std::map<std::string, std::string> labels;
  for (std::string_view word = nextToken(selector); !word.empty(); word = nextToken(selector)) {
    const std::size_t eq = word.find('=');
    if (eq == std::string_view::npos) continue;
    labels[std::string(word.substr(0, eq))] = std::string(word.substr(eq + 1));
  }

  Result<MetricSelection> selection = selectMetric(text, name, labels, kOrigin);
  if (!selection) {
    const Error& error = selection.error();
    return error.code == "malformed" && error.message.rfind(kOrigin, 0) == 0 &&
           error.message.size() < 512;
  }
  // At most one sample per line.
  std::size_t lines = 0;
  LineCursor cursor(text);
  for (std::string_view line; cursor.next(line);) ++lines;
  if (selection->matched > lines) return false;
  if (!name.empty() && selection->matched > 0 && text.find(name) == std::string_view::npos) {
    return false;
  }
  // Turning the sum into a rate must not trip over any value it can hold.
  CounterRate rate;
  (void)rate.update(selection->sum, 1'000, kOrigin);
  (void)rate.update(selection->sum * 2, 2'000, kOrigin);
  (void)useRate("auto", selection->type, name);
  return true;
}

bool checkProcText(std::string_view input) {
  LineCursor lines(input);
  std::size_t consumed = 0;
  std::string_view line;
  while (lines.next(line)) {
    consumed += line.size() + 1;
    if (line.find('\n') != std::string_view::npos) return false;
    std::string_view rest = line;
    std::size_t tokens = 0;
    for (std::string_view token = nextToken(rest); !token.empty(); token = nextToken(rest)) {
      if (++tokens > line.size()) return false;  // no progress: would never end
      for (char c : token) {
        if (isBlank(c)) return false;
      }
      uint64_t u = 0;
      int64_t i = 0;
      double d = 0.0;
      (void)parseU64(token, u);
      (void)parseI64(token, i);
      if (parseDouble(token, d) && !std::isfinite(d)) return false;
    }
    const Error error = lineError("fuzz/file", lines.number(), "anything", line);
    if (error.code != "malformed" || error.message.size() > 200) return false;
  }
  if (consumed < input.size()) return false;  // every byte belongs to a line

  Result<Pressure> pressure = parsePressure("fuzz/pressure", input);
  if (!pressure) {
    return pressure.error().code == "malformed" &&
           pressure.error().message.rfind("fuzz/pressure", 0) == 0;
  }
  if (!std::isfinite(pressure->some_avg10) || pressure->some_avg10 < 0) return false;
  if (pressure->full_avg10 &&
      (!std::isfinite(*pressure->full_avg10) || *pressure->full_avg10 < 0)) {
    return false;
  }
  return true;
}

bool checkSamplerFiles(std::string_view input) {
  static const char* const kFiles[] = {
      "cgroup/cpu.stat",      "cgroup/cpu.max", "cgroup/memory.current", "cgroup/memory.max",
      "cgroup/memory.events", "cgroup/io.stat", "cgroup/cpu.pressure",   "cgroup/memory.pressure",
      "cgroup/io.pressure",   "proc/stat",      "proc/meminfo",          "proc/loadavg",
      "proc/net/dev",         "proc/diskstats", "proc/pressure/cpu",     "proc/pressure/memory",
      "proc/pressure/io"};
  const fs::path& root = fixtureRoot();
  std::size_t pos = 0;
  for (const char* file : kFiles) {
    const fs::path path = root / file;
    std::error_code ec;
    if (pos > input.size()) {
      fs::remove(path, ec);
      continue;
    }
    std::size_t end = input.find('\0', pos);
    if (end == std::string_view::npos) end = input.size();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(input.data() + pos, static_cast<std::streamsize>(end - pos));
    pos = end + 1;
  }

  CgroupSampler cgroup("web", (root / "cgroup").string());
  HostSampler host((root / "proc").string());
  std::vector<SamplePoint> points;
  for (int64_t now_ms : {1'000, 2'000}) {
    points.clear();
    if (Status status = cgroup.sample(now_ms, points); !status && !goodRefusal(status.error())) {
      return false;
    }
    if (!allFinite(points)) return false;
    points.clear();
    if (Status status = host.sample(now_ms, points); !status && !goodRefusal(status.error())) {
      return false;
    }
    if (!allFinite(points)) return false;
  }
  return true;
}

}  // namespace pso::agent::fuzz
