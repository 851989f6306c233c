#pragma once

#include <cstdint>

namespace pso::common {

/// The resident memory of this process, in bytes (/proc/self/statm); -1 when
/// it cannot be read.
int64_t residentBytes();

}  // namespace pso::common
