#pragma once

// The checks behind the agent's fuzz harnesses, shared by the libFuzzer
// executables (built with PSO_FUZZ) and by agent_corpus_test, which runs every
// seed through them in each build. Each returns true when the parser kept its
// contract on `input`: no crash (the sanitizers watch that), a refusal with a
// code and a message naming where, and nothing emitted that the protocol
// would refuse.

#include <string_view>

namespace pso::agent::fuzz {

/// selectMetric() over a Prometheus text exposition. The first line of
/// `input` is the selector ("name" then optional "label=value" words); the
/// rest is the exposition.
bool checkPrometheusText(std::string_view input);

/// The /proc and cgroup text helpers: LineCursor, nextToken, the number
/// parsers and parsePressure(), over `input` as a file's contents.
bool checkProcText(std::string_view input);

/// CgroupSampler and HostSampler over a fixture tree written from `input`:
/// NUL-separated chunks become, in order, the cgroup files cpu.stat, cpu.max,
/// memory.current, memory.max, memory.events, io.stat, cpu.pressure,
/// memory.pressure, io.pressure, then the /proc files stat, meminfo, loadavg,
/// net/dev, diskstats, pressure/cpu, pressure/memory, pressure/io; files past
/// the last chunk are absent. Each sampler samples twice.
bool checkSamplerFiles(std::string_view input);

}  // namespace pso::agent::fuzz
