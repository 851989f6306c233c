#pragma once

// The cycle aggregate on SQLite. Tables: cycles, cycle_blocks (the decisions
// of compacted cycles, record_block.h), engine_state, engine_system_states; the meta key cycle_seq.

#include <cstdint>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "controller/store/cycle_store.h"
#include "controller/store/sqlite/sqlite_context.h"

namespace pso::controller::store {

/// CycleStore over the shared SQLite connection.
class SqliteCycleStore : public virtual CycleStore {
 public:
  explicit SqliteCycleStore(SqliteContext& context) : context_(context) {}

  /// Prepares the statements; called once before any other method.
  [[nodiscard]] Status prepare();

  Result<int64_t> nextCycleSeq() override;
  Status insertCycle(const CycleRecord& cycle) override;
  Result<std::vector<CycleRecord>> cycles(int64_t limit, int64_t since_ms) override;
  Result<int64_t> pruneCycles(int64_t cutoff_ms) override;
  Result<CompactionReport> compactCycles(int64_t before_ms, int64_t max_blocks) override;
  Result<std::vector<CycleRecord>> cyclesBetween(int64_t since_ms, int64_t until_ms,
                                                 int64_t limit) override;
  Status saveEngineState(const std::string& state, int64_t now_ms) override;
  Result<std::string> loadEngineState() override;
  Status saveSystemStates(const std::vector<std::pair<std::string, std::string>>& states,
                          int64_t now_ms) override;
  Result<std::vector<std::pair<std::string, std::string>>> loadSystemStates() override;

 private:
  // The rows of `select` (kCycleColumns), with compacted decisions read back
  // from their blocks.
  Result<std::vector<CycleRecord>> readCyclesLocked(common::Statement& select);

  SqliteContext& context_;
  common::Statement init_cycle_seq_;
  common::Statement bump_cycle_seq_;
  common::Statement select_cycle_seq_;
  common::Statement insert_cycle_;
  common::Statement select_cycles_;
  common::Statement prune_cycles_;
  common::Statement select_cycles_between_;
  common::Statement prune_cycle_blocks_;
  common::Statement select_loose_cycles_;
  common::Statement insert_cycle_block_;
  common::Statement mark_cycle_compact_;
  common::Statement select_cycle_block_;
  common::Statement save_engine_state_;
  common::Statement load_engine_state_;
  common::Statement save_system_state_;
  common::Statement load_system_states_;
};

}  // namespace pso::controller::store
