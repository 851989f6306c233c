#pragma once

// How a psoctl command that cannot do its work ends: one line on stderr.

#include <string>

namespace pso::cli {

/// Prints "psoctl: <reason>" on stderr and returns 1, the exit code of a
/// command that failed (2 is CLI11's, for a usage error).
int fail(const std::string& reason);

}  // namespace pso::cli
