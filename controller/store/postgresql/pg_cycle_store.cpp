#include "controller/store/postgresql/pg_cycle_store.h"

namespace pso::controller::store {
namespace {

CycleRecord pgCycleAt(const PgRows& rows, int i) {
  CycleRecord c;
  c.id = rows.text(i, 0);
  c.seq = rows.int64(i, 1);
  c.ts_ms = rows.int64(i, 2);
  c.mode = rows.text(i, 3);
  c.duration_ms = rows.real(i, 4);
  c.decisions_json = rows.text(i, 5);
  return c;
}

}  // namespace

Status PgCycleStore::prepare() {
  std::lock_guard lock(context_.mutex());
  return context_.prepareAll({
      // One statement: the counter also moves past any seq already stored
      // (e.g. a replay), and is created on first use.
      {"cycle_next_seq",
       "INSERT INTO meta (key, value) VALUES ('cycle_seq', "
       "(SELECT COALESCE(MAX(seq), 0) FROM cycles) + 1) ON CONFLICT (key) DO UPDATE SET "
       "value = GREATEST(meta.value, (SELECT COALESCE(MAX(seq), 0) FROM cycles)) + 1 "
       "RETURNING value"},
      {"cycle_insert",
       "INSERT INTO cycles (id, seq, ts_ms, mode, duration_ms, decisions) "
       "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"},
      {"cycle_select",
       "SELECT id, seq, ts_ms, mode, duration_ms, decisions FROM cycles WHERE ts_ms >= $1 "
       "ORDER BY seq DESC LIMIT $2"},
      {"cycle_prune",
       "DELETE FROM cycles WHERE id IN (SELECT id FROM cycles WHERE ts_ms < $1 LIMIT $2)"},
      {"cycle_between",
       "SELECT id, seq, ts_ms, mode, duration_ms, decisions FROM cycles "
       "WHERE ts_ms >= $1 AND ts_ms < $2 ORDER BY ts_ms, seq LIMIT $3"},
      {"cycle_save_state",
       "INSERT INTO engine_state (id, state, updated_ms) VALUES (1, $1, $2) "
       "ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_ms = EXCLUDED.updated_ms"},
      {"cycle_load_state", "SELECT state FROM engine_state WHERE id = 1"},
      {"cycle_save_system_state",
       "INSERT INTO engine_system_states (system, state, updated_ms) VALUES ($1, $2, $3) "
       "ON CONFLICT (system) DO UPDATE SET state = EXCLUDED.state, updated_ms = "
       "EXCLUDED.updated_ms"},
      {"cycle_load_system_states",
       "SELECT system, state FROM engine_system_states ORDER BY system"},
  });
}

Result<int64_t> PgCycleStore::nextCycleSeq() {
  std::lock_guard lock(context_.mutex());
  auto seq = context_.runLocked("cycle_next_seq");
  if (!seq.ok()) return seq.error();
  if (seq->empty()) return makeError("io", "cycle counter missing from meta table");
  return seq->int64(0, 0);
}

Status PgCycleStore::insertCycle(const CycleRecord& cycle) {
  std::lock_guard lock(context_.mutex());
  auto inserted = context_.runLocked(
      "cycle_insert",
      PgParams()
          .add(cycle.id)
          .add(cycle.seq)
          .add(cycle.ts_ms)
          .add(cycle.mode)
          .add(cycle.duration_ms)
          .add(cycle.decisions_json.empty() ? std::string("[]") : cycle.decisions_json));
  if (!inserted.ok()) return inserted.error();
  // ON CONFLICT DO NOTHING covers the id and the seq.
  if (inserted->affected() == 0)
    return makeError("exists", "cycle '" + cycle.id + "' already exists");
  return Status();
}

Result<int64_t> PgCycleStore::pruneCycles(int64_t cutoff_ms) {
  return context_.deleteInBatches("cycle_prune",
                                  PgParams().add(cutoff_ms).add(PgContext::kPruneBatchRows));
}

Result<std::vector<CycleRecord>> PgCycleStore::cycles(int64_t limit, int64_t since_ms) {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<CycleRecord>(
      context_.runLocked("cycle_select", PgParams().add(since_ms).addLimit(limit)), pgCycleAt);
}

Result<std::vector<CycleRecord>> PgCycleStore::cyclesBetween(int64_t since_ms, int64_t until_ms,
                                                             int64_t limit) {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<CycleRecord>(
      context_.runLocked("cycle_between", PgParams().add(since_ms).add(until_ms).addLimit(limit)),
      pgCycleAt);
}

Status PgCycleStore::saveEngineState(const std::string& state, int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  return pgDone(context_.runLocked("cycle_save_state", PgParams().addBytes(state).add(now_ms)));
}

Result<std::string> PgCycleStore::loadEngineState() {
  std::lock_guard lock(context_.mutex());
  auto state = pgFirstRow<std::string>(context_.runLocked("cycle_load_state"),
                                       [](const PgRows& rows, int i) { return rows.bytes(i, 0); });
  if (!state.ok()) return state.error();
  return state->value_or(std::string());
}

Status PgCycleStore::saveSystemStates(
    const std::vector<std::pair<std::string, std::string>>& states, int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  PgTransaction tx(context_);
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  for (const auto& [system, state] : states) {
    auto saved = context_.runLocked("cycle_save_system_state",
                                    PgParams().add(system).addBytes(state).add(now_ms));
    if (Status st = pgDone(std::move(saved)); !st.ok()) return st;
  }
  return tx.commit();
}

Result<std::vector<std::pair<std::string, std::string>>> PgCycleStore::loadSystemStates() {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<std::pair<std::string, std::string>>(
      context_.runLocked("cycle_load_system_states"),
      [](const PgRows& rows, int i) { return std::make_pair(rows.text(i, 0), rows.bytes(i, 1)); });
}

}  // namespace pso::controller::store
