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

/// parseRunbook() (controller/cli/runbook_parser.h) over `input` as a runbook
/// file. Holds when nothing throws, a refusal is one line with code "invalid"
/// that names the file first, and a success has steps numbered 1..n, each
/// with what its kind needs (a system, a positive wait or timeout, a count of
/// at least 0, a reason for a scale or hold).
bool checkRunbook(std::string_view input);

/// parseAssignmentKey() and parsePrediction() (controller/cli/assignment_file.h)
/// over `input` as an assignment file and as a typed answer. Holds when nothing
/// throws, a refusal is one line with code "invalid" that names the file
/// first, a success's question is null or an object, and a prediction read
/// back prints as the input's digits.
bool checkAssignmentFile(std::string_view input);
/// verifyBadge() (controller/scenarios/badge.h) over `input` as a badge file,
/// as psoctl scenarios verify-badge reads it. Holds when nothing throws, a
/// refusal is one line with code "invalid", and a badge that verifies names a
/// learner, a level and a validFrom without control characters, issued by a
/// did:key that verifies its own signature again.
bool checkBadge(std::string_view input);

}  // namespace pso::cli::fuzz
