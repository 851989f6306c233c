#pragma once

// The cycle aggregate on PostgreSQL. Tables: cycles, engine_state, engine_system_states; the meta
// key "cycle_seq".

#include <cstdint>
#include <string>
#include <vector>

#include "controller/store/cycle_store.h"
#include "controller/store/postgresql/pg_context.h"

namespace pso::controller::store {

/// CycleStore over the shared PostgreSQL connection.
class PgCycleStore : public virtual CycleStore {
 public:
  explicit PgCycleStore(PgContext& context) : context_(context) {}

  /// Prepares the statements; called once before any other method.
  [[nodiscard]] Status prepare();

  Result<int64_t> nextCycleSeq() override;
  Status insertCycle(const CycleRecord& cycle) override;
  Result<std::vector<CycleRecord>> cycles(int64_t limit, int64_t since_ms) override;
  Result<int64_t> pruneCycles(int64_t cutoff_ms) override;
  Result<std::vector<CycleRecord>> cyclesBetween(int64_t since_ms, int64_t until_ms,
                                                 int64_t limit) override;
  Status saveEngineState(const std::string& state, int64_t now_ms) override;
  Result<std::string> loadEngineState() override;
  Status saveSystemStates(const std::vector<std::pair<std::string, std::string>>& states,
                          int64_t now_ms) override;
  Result<std::vector<std::pair<std::string, std::string>>> loadSystemStates() override;

 private:
  PgContext& context_;
};

}  // namespace pso::controller::store
