#pragma once

// `psoctl import`: past demand of a system into the controller's store, so
// forecasts are seasonal from the first cycle. From a trace CSV (the reader
// of common/trace.h) or from a Prometheus range query; the samples go
// through TelemetryStore::importSamples and the rollups covering them are
// written before the command returns (docs/operations.md, "Importing history").

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace pso::cli {

struct ImportArgs {
  std::string db;
  std::string system;
  std::string metric = "demand";
  std::string trace;
  bool shift_to_now = false;
  /// With --trace: divides the time between samples by this, the last sample
  /// at now (so history replayed N times as fast lines up with the past it
  /// compresses); 1 leaves the spacing as it is.
  double time_scale = 1.0;
  std::string prometheus;  ///< base URL of a Prometheus server
  std::string query;       ///< PromQL, answering exactly one series
  std::string since;       ///< how far back (a duration: 14d)
  std::string step = "1m";
  std::string now;          ///< the time taken as now (timestamp); empty: the clock
  long timeout_ms = 30000;  ///< per Prometheus request
  std::string ca_file;      ///< certificates to trust for an https:// Prometheus (global --ca-file)
};

void addImportOptions(CLI::App* cmd, ImportArgs& args);
/// The checks across options (one source, the options of that source);
/// throws the CLI11 error to report.
void checkImportArgs(const CLI::App* cmd, const ImportArgs& args);

/// Runs `psoctl import`; returns the process exit code (0, or 1 with a
/// one-line reason on stderr).
int runImportCommand(const ImportArgs& args, bool json_output);

}  // namespace pso::cli
