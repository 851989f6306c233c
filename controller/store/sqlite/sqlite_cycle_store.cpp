#include "controller/store/sqlite/sqlite_cycle_store.h"

namespace pso::controller::store {
namespace {

using common::ScopedStatement;
using common::Statement;

CycleRecord readCycle(const Statement& s) {
  CycleRecord c;
  c.id = s.columnText(0);
  c.seq = s.columnInt64(1);
  c.ts_ms = s.columnInt64(2);
  c.mode = s.columnText(3);
  c.duration_ms = s.columnDouble(4);
  c.decisions_json = s.columnText(5);
  return c;
}

}  // namespace

Status SqliteCycleStore::prepare() {
  return context_.db().prepareAll({
      {&init_cycle_seq_,
       "INSERT INTO meta (key, value) VALUES ('cycle_seq', 0) ON CONFLICT (key) DO NOTHING"},
      // The counter also moves past any seq already stored (e.g. a replay).
      {&bump_cycle_seq_,
       "UPDATE meta SET value = MAX(CAST(value AS INTEGER), "
       "(SELECT COALESCE(MAX(seq), 0) FROM cycles)) + 1 WHERE key = 'cycle_seq'"},
      {&select_cycle_seq_, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'cycle_seq'"},
      {&insert_cycle_,
       "INSERT INTO cycles (id, seq, ts_ms, mode, duration_ms, decisions) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      {&select_cycles_,
       "SELECT id, seq, ts_ms, mode, duration_ms, decisions FROM cycles WHERE ts_ms >= ?1 "
       "ORDER BY seq DESC LIMIT ?2"},
      {&prune_cycles_,
       "DELETE FROM cycles WHERE rowid IN (SELECT rowid FROM cycles WHERE ts_ms < ?1 LIMIT ?2)"},
      {&select_cycles_between_,
       "SELECT id, seq, ts_ms, mode, duration_ms, decisions FROM cycles "
       "WHERE ts_ms >= ?1 AND ts_ms < ?2 ORDER BY ts_ms, seq LIMIT ?3"},
      {&save_engine_state_,
       "INSERT INTO engine_state (id, state, updated_ms) VALUES (1, ?1, ?2) "
       "ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms"},
      {&load_engine_state_, "SELECT state FROM engine_state WHERE id = 1"},
  });
}

Result<int64_t> SqliteCycleStore::nextCycleSeq() {
  std::lock_guard lock(context_.mutex());
  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  for (Statement* step : {&init_cycle_seq_, &bump_cycle_seq_}) {
    ScopedStatement s(*step);
    if (auto st = s->run(); !st.ok()) return st.error();
  }
  auto seq = [&] {
    ScopedStatement s(select_cycle_seq_);
    return common::firstRow<int64_t>(*s, common::firstColumnInt64);
  }();
  if (!seq.ok()) return seq.error();
  if (!seq->has_value()) return makeError("io", "cycle counter missing from meta table");
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return **seq;
}

Status SqliteCycleStore::insertCycle(const CycleRecord& cycle) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(insert_cycle_);
  s->bind(1, cycle.id)
      .bind(2, cycle.seq)
      .bind(3, cycle.ts_ms)
      .bind(4, cycle.mode)
      .bind(5, cycle.duration_ms)
      .bind(6, cycle.decisions_json.empty() ? std::string("[]") : cycle.decisions_json);
  if (auto st = s->run(); !st.ok()) return asExists(st.error(), "cycle '" + cycle.id + "'");
  return Status();
}

Result<int64_t> SqliteCycleStore::pruneCycles(int64_t cutoff_ms) {
  return context_.deleteInBatches({&prune_cycles_}, [&](Statement& s) {
    s.bind(1, cutoff_ms).bind(2, SqliteContext::kPruneBatchRows);
  });
}

Result<std::vector<CycleRecord>> SqliteCycleStore::cycles(int64_t limit, int64_t since_ms) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_cycles_);
  s->bind(1, since_ms).bind(2, common::sqlLimit(limit));
  return common::collectRows<CycleRecord>(*s, readCycle);
}

Result<std::vector<CycleRecord>> SqliteCycleStore::cyclesBetween(int64_t since_ms, int64_t until_ms,
                                                                 int64_t limit) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_cycles_between_);
  s->bind(1, since_ms).bind(2, until_ms).bind(3, common::sqlLimit(limit));
  return common::collectRows<CycleRecord>(*s, readCycle);
}

Status SqliteCycleStore::saveEngineState(const std::string& state, int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(save_engine_state_);
  s->bindBlob(1, state.data(), state.size()).bind(2, now_ms);
  return s->run();
}

Result<std::string> SqliteCycleStore::loadEngineState() {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(load_engine_state_);
  auto state =
      common::firstRow<std::string>(*s, [](const Statement& row) { return row.columnBlob(0); });
  if (!state.ok()) return state.error();
  return state->value_or(std::string());
}

}  // namespace pso::controller::store
