#include "controller/store/sqlite/sqlite_cycle_store.h"

namespace pso::controller::store {
namespace {

using common::ScopedStatement;
using common::Statement;

// A cycle row and where its decisions are when it is compact (block 0: in the row).
struct StoredCycle {
  CycleRecord record;
  int64_t block_id = 0;
  int64_t block_pos = 0;
};

const char* const kCycleColumns =
    "id, seq, ts_ms, mode, duration_ms, decisions, COALESCE(block_id, 0), block_pos";

StoredCycle readStoredCycle(const Statement& s) {
  StoredCycle stored;
  CycleRecord& c = stored.record;
  c.id = s.columnText(0);
  c.seq = s.columnInt64(1);
  c.ts_ms = s.columnInt64(2);
  c.mode = s.columnText(3);
  c.duration_ms = s.columnDouble(4);
  c.decisions_json = s.columnText(5);
  stored.block_id = s.columnInt64(6);
  stored.block_pos = s.columnInt64(7);
  return stored;
}

// Blocks of an hour of cycles at the default 15 s, and at most 64 MiB of
// decisions (eight cycles of a 10,000-system fleet): measured in
// docs/design-notes.md "Compact cycle records and scenarios".
constexpr std::size_t kCycleBlockRecords = 240;
constexpr std::size_t kCycleBlockBytes = 64u << 20;

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
      {&select_cycles_, std::string("SELECT ") + kCycleColumns +
                            " FROM cycles WHERE ts_ms >= ?1 ORDER BY seq DESC LIMIT ?2"},
      {&prune_cycles_,
       "DELETE FROM cycles WHERE rowid IN (SELECT rowid FROM cycles WHERE ts_ms < ?1 LIMIT ?2)"},
      // A block goes when retention has removed every cycle in it.
      {&prune_cycle_blocks_,
       "DELETE FROM cycle_blocks WHERE id IN (SELECT b.id FROM cycle_blocks b WHERE NOT EXISTS "
       "(SELECT 1 FROM cycles c WHERE c.block_id = b.id) LIMIT ?1)"},
      {&select_cycles_between_,
       std::string("SELECT ") + kCycleColumns +
           " FROM cycles WHERE ts_ms >= ?1 AND ts_ms < ?2 ORDER BY ts_ms, seq LIMIT ?3"},
      {&select_loose_cycles_,
       "SELECT id, decisions FROM cycles WHERE block_id IS NULL AND ts_ms < ?1 "
       "ORDER BY ts_ms, seq LIMIT ?2"},
      {&insert_cycle_block_, "INSERT INTO cycle_blocks (records, body) VALUES (?1, ?2)"},
      {&mark_cycle_compact_,
       "UPDATE cycles SET decisions = '', block_id = ?2, block_pos = ?3 "
       "WHERE id = ?1 AND block_id IS NULL AND decisions = ?4"},
      {&select_cycle_block_, "SELECT body FROM cycle_blocks WHERE id = ?1"},
      {&save_engine_state_,
       "INSERT INTO engine_state (id, state, updated_ms) VALUES (1, ?1, ?2) "
       "ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms"},
      {&load_engine_state_, "SELECT state FROM engine_state WHERE id = 1"},
      {&save_system_state_,
       "INSERT INTO engine_system_states (system, state, updated_ms) VALUES (?1, ?2, ?3) "
       "ON CONFLICT (system) DO UPDATE SET state = excluded.state, updated_ms = "
       "excluded.updated_ms"},
      {&load_system_states_, "SELECT system, state FROM engine_system_states ORDER BY system"},
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
  auto pruned = context_.deleteInBatches({&prune_cycles_}, [&](Statement& s) {
    s.bind(1, cutoff_ms).bind(2, SqliteContext::kPruneBatchRows);
  });
  if (!pruned.ok()) return pruned;
  auto blocks = context_.deleteInBatches(
      {&prune_cycle_blocks_}, [&](Statement& s) { s.bind(1, SqliteContext::kPruneBatchRows); });
  if (!blocks.ok()) return blocks.error();
  return pruned;
}

Result<CompactionReport> SqliteCycleStore::compactCycles(int64_t before_ms, int64_t max_blocks) {
  SqliteContext::BlockCompaction how;
  how.select_loose = &select_loose_cycles_;
  how.insert_block = &insert_cycle_block_;
  how.mark_row = &mark_cycle_compact_;
  how.layout = RecordBlockLayout::kDecisionColumns;
  how.max_records = kCycleBlockRecords;
  how.max_bytes = kCycleBlockBytes;
  return context_.compactInBlocks(how, before_ms, max_blocks);
}

Result<std::vector<CycleRecord>> SqliteCycleStore::readCyclesLocked(Statement& select) {
  auto rows = common::collectRows<StoredCycle>(select, readStoredCycle);
  if (!rows.ok()) return rows.error();
  SqliteContext::BlockCache blocks;
  std::vector<CycleRecord> out;
  out.reserve(rows->size());
  for (auto& row : *rows) {
    if (row.block_id != 0) {
      auto text =
          context_.takeBlockTextLocked(select_cycle_block_, row.block_id, row.block_pos, blocks);
      if (!text.ok()) {
        return makeError("corrupt", "cycle '" + row.record.id + "': " + text.error().message);
      }
      row.record.decisions_json = std::move(*text);
    }
    out.push_back(std::move(row.record));
  }
  return out;
}

Result<std::vector<CycleRecord>> SqliteCycleStore::cycles(int64_t limit, int64_t since_ms) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_cycles_);
  s->bind(1, since_ms).bind(2, common::sqlLimit(limit));
  return readCyclesLocked(*s);
}

Result<std::vector<CycleRecord>> SqliteCycleStore::cyclesBetween(int64_t since_ms, int64_t until_ms,
                                                                 int64_t limit) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_cycles_between_);
  s->bind(1, since_ms).bind(2, until_ms).bind(3, common::sqlLimit(limit));
  return readCyclesLocked(*s);
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

Status SqliteCycleStore::saveSystemStates(
    const std::vector<std::pair<std::string, std::string>>& states, int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  for (const auto& [system, state] : states) {
    ScopedStatement s(save_system_state_);
    s->bind(1, system).bindBlob(2, state.data(), state.size()).bind(3, now_ms);
    if (Status st = s->run(); !st.ok()) return st;
  }
  return tx.commit();
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteCycleStore::loadSystemStates() {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(load_system_states_);
  std::vector<std::pair<std::string, std::string>> states;
  Status st = common::forEachRow(
      *s, [&](const Statement& row) { states.emplace_back(row.columnText(0), row.columnBlob(1)); });
  if (!st.ok()) return st.error();
  return states;
}

}  // namespace pso::controller::store
