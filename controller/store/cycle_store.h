#pragma once

// The cycle aggregate of the controller's store: the numbered decision cycles
// and the engine state saved between them.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "controller/store/records.h"

namespace pso::controller::store {

/// Decision cycles and the decision engine's saved state. Implementations are
/// thread-safe.
class CycleStore {
 public:
  virtual ~CycleStore() = default;

  /// A new cycle number on every call (persisted, so it keeps increasing across
  /// restarts), above every seq already in the cycles table.
  [[nodiscard]] virtual Result<int64_t> nextCycleSeq() = 0;
  /// An existing id or seq is code "exists".
  [[nodiscard]] virtual Status insertCycle(const CycleRecord& cycle) = 0;
  /// Cycles with ts_ms >= since_ms, newest first; limit <= 0 = no limit.
  [[nodiscard]] virtual Result<std::vector<CycleRecord>> cycles(int64_t limit,
                                                                int64_t since_ms = 0) = 0;
  /// Cycles with since_ms <= ts_ms < until_ms, oldest first (by ts, then
  /// seq); with limit > 0, the oldest `limit` of them (page on with since =
  /// last ts + 1). For reading a long window without holding all of it.
  [[nodiscard]] virtual Result<std::vector<CycleRecord>> cyclesBetween(int64_t since_ms,
                                                                       int64_t until_ms,
                                                                       int64_t limit = 0) = 0;

  /// Deletes the cycles recorded before cutoff_ms (retention); returns how
  /// many. The scenarios and directives of those cycles are not touched.
  [[nodiscard]] virtual Result<int64_t> pruneCycles(int64_t cutoff_ms) = 0;

  /// Rewrites the cycles recorded before before_ms that are not compact yet
  /// into compact blocks (oldest first; at most max_blocks blocks, <= 0 = no
  /// limit), each block in its own transaction so other callers are not held
  /// up. cycles() and cyclesBetween() return exactly what they returned
  /// before, byte for byte. Compaction is storage only: a backend without a
  /// compact form keeps its rows as written and reports nothing done (this
  /// default).
  [[nodiscard]] virtual Result<CompactionReport> compactCycles(int64_t before_ms,
                                                               int64_t max_blocks) {
    (void)before_ms;
    (void)max_blocks;
    return CompactionReport{};
  }

  /// Replaces the engine state blob kept for restarts (the fleet-wide part,
  /// DecisionEngine::saveFleetState; a whole DecisionEngine::saveState in
  /// databases written before states were kept by system), stamped with now_ms.
  [[nodiscard]] virtual Status saveEngineState(const std::string& state, int64_t now_ms) = 0;
  /// The last saved engine state, empty when none was saved.
  [[nodiscard]] virtual Result<std::string> loadEngineState() = 0;

  /// Replaces the saved state of each system in `states` (system name,
  /// DecisionEngine::saveSystemState), all in one transaction, stamped with
  /// now_ms; other systems' states stay as they are.
  [[nodiscard]] virtual Status saveSystemStates(
      const std::vector<std::pair<std::string, std::string>>& states, int64_t now_ms) = 0;
  /// Every saved system state, by system name in byte order.
  [[nodiscard]] virtual Result<std::vector<std::pair<std::string, std::string>>>
  loadSystemStates() = 0;
};

}  // namespace pso::controller::store
