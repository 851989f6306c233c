#pragma once

// The checks behind the fuzz harnesses of psoctl's parsers of outside input,
// shared by the libFuzzer executables (built with PSO_FUZZ) and by
// cli_fuzz_corpus_test, which runs every seed through them in each build.

#include <string_view>

namespace pso::cli::fuzz {

/// parseRangeAnswer() (controller/cli/prometheus_range.h) over `input` as the
/// body of a Prometheus query_range answer. Holds when nothing throws, a
/// refusal is one line with code "malformed" or "prometheus", and every
/// series of a success has a label set, one time per value and only finite
/// values.
bool checkPrometheusRangeAnswer(std::string_view input);

}  // namespace pso::cli::fuzz
