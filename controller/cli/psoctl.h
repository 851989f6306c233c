#pragma once

namespace pso::cli {

/// psoctl's entry point: parses the command line, runs one command, prints a
/// table (or JSON with --json) on stdout. Returns 0 on success, 1 with a
/// one-line reason on stderr on failure, 2 on a usage error.
int runPsoctl(int argc, char** argv);

}  // namespace pso::cli
