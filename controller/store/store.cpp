#include "controller/store/store.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "common/clock.h"

namespace pso::controller::store {
namespace {

using common::Statement;

// Schema history. Append a new string to change the schema; never edit an
// applied one (databases in the field are at user_version = index reached).
const std::vector<std::string>& migrations() {
  static const std::vector<std::string> kMigrations = {
      R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value
);
CREATE TABLE agents (
  id            TEXT PRIMARY KEY,
  version       TEXT NOT NULL DEFAULT '',
  host_facts    TEXT NOT NULL DEFAULT '{}',
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms  INTEGER NOT NULL,
  last_seq      INTEGER NOT NULL DEFAULT 0,
  connected     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE systems (
  name                 TEXT PRIMARY KEY,
  agent_id             TEXT NOT NULL,
  actuator             TEXT NOT NULL DEFAULT '',
  min_replicas         INTEGER NOT NULL DEFAULT 0,
  max_replicas         INTEGER NOT NULL DEFAULT 0,
  announced_replicas   INTEGER NOT NULL DEFAULT 0,
  capacity_per_replica REAL NOT NULL DEFAULT 1.0,
  target_utilization   REAL NOT NULL DEFAULT 0.7,
  warmup_ms            INTEGER NOT NULL DEFAULT 0,
  priority             INTEGER NOT NULL DEFAULT 0,
  depends_on           TEXT NOT NULL DEFAULT '[]',
  replicas             INTEGER NOT NULL DEFAULT -1,
  updated_ms           INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE series (
  id     INTEGER PRIMARY KEY,
  system TEXT NOT NULL,
  metric TEXT NOT NULL,
  UNIQUE (system, metric)
);
CREATE TABLE samples (
  series_id INTEGER NOT NULL,
  ts_ms     INTEGER NOT NULL,
  value     REAL NOT NULL,
  PRIMARY KEY (series_id, ts_ms)
) WITHOUT ROWID;
CREATE TABLE health (
  system     TEXT NOT NULL,
  check_name TEXT NOT NULL,
  status     TEXT NOT NULL,
  latency_ms REAL NOT NULL DEFAULT 0,
  error      TEXT NOT NULL DEFAULT '',
  ts_ms      INTEGER NOT NULL,
  PRIMARY KEY (system, check_name)
) WITHOUT ROWID;
CREATE TABLE cycles (
  id          TEXT PRIMARY KEY,
  seq         INTEGER NOT NULL UNIQUE,
  ts_ms       INTEGER NOT NULL,
  mode        TEXT NOT NULL,
  duration_ms REAL NOT NULL DEFAULT 0,
  decisions   TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX cycles_by_ts ON cycles (ts_ms);
CREATE TABLE directives (
  id              TEXT PRIMARY KEY,
  cycle_id        TEXT NOT NULL DEFAULT '',
  system          TEXT NOT NULL,
  agent_id        TEXT NOT NULL DEFAULT '',
  action          TEXT NOT NULL DEFAULT 'scale',
  replicas        INTEGER NOT NULL DEFAULT -1,
  reason          TEXT NOT NULL DEFAULT '',
  source          TEXT NOT NULL DEFAULT '',
  status          TEXT NOT NULL DEFAULT 'pending',
  created_ms      INTEGER NOT NULL DEFAULT 0,
  sent_ms         INTEGER NOT NULL DEFAULT 0,
  result_ms       INTEGER NOT NULL DEFAULT 0,
  deadline_ms     INTEGER NOT NULL DEFAULT 0,
  hold_until_ms   INTEGER NOT NULL DEFAULT 0,
  result_message  TEXT NOT NULL DEFAULT '',
  result_replicas INTEGER NOT NULL DEFAULT -1
);
CREATE INDEX directives_by_system ON directives (system, created_ms);
CREATE INDEX directives_by_status ON directives (status, created_ms);
CREATE INDEX directives_by_created ON directives (created_ms);
CREATE TABLE scenarios (
  id             TEXT PRIMARY KEY,
  cycle_id       TEXT NOT NULL DEFAULT '',
  ts_ms          INTEGER NOT NULL,
  level          TEXT NOT NULL DEFAULT '',
  events         TEXT NOT NULL DEFAULT ',',
  systems        TEXT NOT NULL DEFAULT ',',
  outcome_filled INTEGER NOT NULL DEFAULT 0,
  json           TEXT NOT NULL
);
CREATE INDEX scenarios_by_ts ON scenarios (ts_ms);
CREATE INDEX scenarios_by_level ON scenarios (level, ts_ms);
CREATE INDEX scenarios_by_outcome ON scenarios (outcome_filled, ts_ms);
CREATE TABLE scenario_events (
  event       TEXT NOT NULL,
  scenario_id TEXT NOT NULL,
  PRIMARY KEY (event, scenario_id)
) WITHOUT ROWID;
CREATE TABLE scenario_systems (
  system      TEXT NOT NULL,
  scenario_id TEXT NOT NULL,
  PRIMARY KEY (system, scenario_id)
) WITHOUT ROWID;
CREATE TABLE engine_state (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  state      BLOB NOT NULL,
  updated_ms INTEGER NOT NULL
);
)sql",
      // 2: learners and their graded attempts (psoctl scenarios grade).
      R"sql(
CREATE TABLE learners (
  id            TEXT PRIMARY KEY,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms  INTEGER NOT NULL
);
CREATE TABLE attempts (
  id          INTEGER PRIMARY KEY,
  learner_id  TEXT NOT NULL REFERENCES learners (id),
  scenario_id TEXT NOT NULL,
  question_id TEXT NOT NULL,
  level       TEXT NOT NULL DEFAULT '',
  response    TEXT NOT NULL DEFAULT 'null',
  correct     INTEGER NOT NULL,
  score       REAL NOT NULL,
  ts_ms       INTEGER NOT NULL
);
CREATE INDEX attempts_by_learner ON attempts (learner_id, ts_ms);
CREATE INDEX attempts_by_question ON attempts (question_id, ts_ms);
)sql",
      // 3: rollups (1-minute buckets of the samples, 1-hour buckets of the
      // minutes) and the series whose samples arrived after their buckets
      // were rolled up. Progress marks live in meta.
      R"sql(
CREATE TABLE rollups_minute (
  series_id  INTEGER NOT NULL,
  bucket_ms  INTEGER NOT NULL,
  min_value  REAL NOT NULL,
  mean_value REAL NOT NULL,
  max_value  REAL NOT NULL,
  count      INTEGER NOT NULL,
  PRIMARY KEY (series_id, bucket_ms)
) WITHOUT ROWID;
CREATE TABLE rollups_hour (
  series_id  INTEGER NOT NULL,
  bucket_ms  INTEGER NOT NULL,
  min_value  REAL NOT NULL,
  mean_value REAL NOT NULL,
  max_value  REAL NOT NULL,
  count      INTEGER NOT NULL,
  PRIMARY KEY (series_id, bucket_ms)
) WITHOUT ROWID;
CREATE TABLE rollup_late (
  series_id INTEGER PRIMARY KEY,
  from_ms   INTEGER NOT NULL
);
)sql",
  };
  return kMigrations;
}

constexpr const char* kAgentColumns =
    "id, version, host_facts, first_seen_ms, last_seen_ms, last_seq, connected";
constexpr const char* kSystemColumns =
    "name, agent_id, actuator, min_replicas, max_replicas, announced_replicas, "
    "capacity_per_replica, target_utilization, warmup_ms, priority, depends_on, replicas, "
    "updated_ms";
constexpr const char* kDirectiveColumns =
    "id, cycle_id, system, agent_id, action, replicas, reason, source, status, created_ms, "
    "sent_ms, result_ms, deadline_ms, hold_until_ms, result_message, result_replicas";
constexpr const char* kScenarioColumns =
    "id, cycle_id, ts_ms, level, events, systems, outcome_filled, json";

const std::set<std::string>& knownDirectiveStatuses() {
  static const std::set<std::string> kStatuses = {
      "pending", "sent", "applied", "refused", "failed", "dry_run", "expired", "not_dispatched"};
  return kStatuses;
}

bool isTerminalStatus(const std::string& status) {
  return status != "pending" && status != "sent";
}

// Resets a cached statement on entry and exit: bindings never leak from one
// use to the next, and a SELECT stopped early does not keep a read
// transaction open (which would stall WAL checkpoints).
class Use {
 public:
  explicit Use(Statement& statement) : statement_(statement) { statement_.reset(); }
  ~Use() { statement_.reset(); }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  Statement& operator*() { return statement_; }
  Statement* operator->() { return &statement_; }

 private:
  Statement& statement_;
};

// Calls `on_row` for every row; stops at the first step error.
template <typename F>
Status forEachRow(Statement& statement, F&& on_row) {
  while (true) {
    auto row = statement.step();
    if (!row.ok()) return row.error();
    if (!*row) return Status();
    on_row(statement);
  }
}

// Every row of `statement`, each turned into a T by `read`.
template <typename T, typename Read>
Result<std::vector<T>> collectRows(Statement& statement, Read&& read) {
  std::vector<T> out;
  if (auto st = forEachRow(statement, [&](const Statement& row) { out.push_back(read(row)); });
      !st.ok()) {
    return st.error();
  }
  return out;
}

// The first row of `statement` turned into a T by `read`, or nothing.
template <typename T, typename Read>
Result<std::optional<T>> firstRow(Statement& statement, Read&& read) {
  auto row = statement.step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<T>();
  return std::optional<T>(read(statement));
}

// Meta keys of the rollup progress and of what retention removed.
constexpr const char* kRolledUntilKey = "rollup_minute_until";
constexpr const char* kSamplesPrunedKey = "samples_pruned_before";
constexpr const char* kMinutesPrunedKey = "rollup_minute_pruned_before";
// Series per rollup transaction: the store is released between groups.
constexpr std::size_t kRollupSeriesPerTransaction = 256;

int64_t floorTo(int64_t ms, int64_t bucket) {
  const int64_t rem = ms % bucket;
  return rem < 0 ? ms - rem - bucket : ms - rem;
}

int64_t ceilTo(int64_t ms, int64_t bucket) {
  const int64_t floor = floorTo(ms, bucket);
  return floor == ms ? ms : floor + bucket;
}

int64_t sqlLimit(int64_t limit) {
  return limit > 0 ? limit : -1;
}

// Comma-joined with a leading and trailing comma, so `LIKE '%,x,%'` matches
// exactly one item for readers that do not use the index tables.
std::string joinList(const std::vector<std::string>& items) {
  std::string out = ",";
  for (const auto& item : items) {
    out += item;
    out += ',';
  }
  return out;
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) items.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

std::vector<std::string> parseStringArray(const std::string& text) {
  std::vector<std::string> items;
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (!parsed.is_array()) return items;
  for (const auto& item : parsed) {
    if (item.is_string()) items.push_back(item.get<std::string>());
  }
  return items;
}

AgentRecord readAgent(const Statement& s) {
  AgentRecord a;
  a.id = s.columnText(0);
  a.version = s.columnText(1);
  a.host_facts_json = s.columnText(2);
  a.first_seen_ms = s.columnInt64(3);
  a.last_seen_ms = s.columnInt64(4);
  a.last_seq = static_cast<uint64_t>(s.columnInt64(5));
  a.connected = s.columnInt64(6) != 0;
  return a;
}

SystemRecord readSystem(const Statement& s) {
  SystemRecord r;
  r.name = s.columnText(0);
  r.agent_id = s.columnText(1);
  r.info.name = r.name;
  r.info.actuator = s.columnText(2);
  r.info.min_replicas = s.columnInt64(3);
  r.info.max_replicas = s.columnInt64(4);
  r.info.replicas = s.columnInt64(5);
  r.info.capacity_per_replica = s.columnDouble(6);
  r.info.target_utilization = s.columnDouble(7);
  r.info.warmup_ms = s.columnInt64(8);
  r.info.priority = s.columnInt64(9);
  r.info.depends_on = parseStringArray(s.columnText(10));
  r.replicas = s.columnInt64(11);
  r.updated_ms = s.columnInt64(12);
  return r;
}

DirectiveRecord readDirective(const Statement& s) {
  DirectiveRecord d;
  d.id = s.columnText(0);
  d.cycle_id = s.columnText(1);
  d.system = s.columnText(2);
  d.agent_id = s.columnText(3);
  d.action = s.columnText(4);
  d.replicas = s.columnInt64(5);
  d.reason = s.columnText(6);
  d.source = s.columnText(7);
  d.status = s.columnText(8);
  d.created_ms = s.columnInt64(9);
  d.sent_ms = s.columnInt64(10);
  d.result_ms = s.columnInt64(11);
  d.deadline_ms = s.columnInt64(12);
  d.hold_until_ms = s.columnInt64(13);
  d.result_message = s.columnText(14);
  d.result_replicas = s.columnInt64(15);
  return d;
}

ScenarioRecord readScenario(const Statement& s) {
  ScenarioRecord r;
  r.id = s.columnText(0);
  r.cycle_id = s.columnText(1);
  r.ts_ms = s.columnInt64(2);
  r.level = s.columnText(3);
  r.events = splitList(s.columnText(4));
  r.systems = splitList(s.columnText(5));
  r.outcome_filled = s.columnInt64(6) != 0;
  r.json = s.columnText(7);
  return r;
}

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

HealthRecord readHealth(const Statement& s) {
  HealthRecord h;
  h.system = s.columnText(0);
  h.check = s.columnText(1);
  h.status = s.columnText(2);
  h.latency_ms = s.columnDouble(3);
  h.error = s.columnText(4);
  h.ts_ms = s.columnInt64(5);
  return h;
}

// SQLite reports a UNIQUE/PRIMARY KEY violation in the message; callers get a
// stable code for it.
Error asExists(const Error& error, const std::string& what) {
  if (error.message.find("UNIQUE") != std::string::npos ||
      error.message.find("constraint") != std::string::npos) {
    return makeError("exists", what + " already exists");
  }
  return error;
}

}  // namespace

// Every statement used on a hot or frequent path, prepared once at open.
struct Store::Statements {
  Statement upsert_agent;
  Statement upsert_system;
  Statement set_agent_connected;
  Statement select_agents;
  Statement select_agent;
  Statement select_systems;
  Statement select_system;
  Statement select_agent_seq;
  Statement insert_agent_implicit;
  Statement update_agent_seq;
  Statement select_series;
  Statement insert_series;
  Statement insert_sample;
  Statement update_system_replicas;
  Statement upsert_health;
  Statement select_health;
  Statement select_all_health;
  Statement select_samples;
  Statement select_recent_samples;
  Statement select_latest_sample;
  Statement select_metrics;
  Statement select_series_ids;
  Statement prune_series;
  Statement init_cycle_seq;
  Statement bump_cycle_seq;
  Statement select_cycle_seq;
  Statement insert_cycle;
  Statement select_cycles;
  Statement insert_directive;
  Statement mark_directive_sent;
  Statement record_directive_result;
  Statement set_directive_status;
  Statement select_directive;
  Statement select_directives;
  Statement select_directives_for_system;
  Statement select_pending_directives;
  Statement select_active_hold;
  Statement insert_scenario;
  Statement update_scenario;
  Statement delete_scenario_events;
  Statement insert_scenario_event;
  Statement delete_scenario_systems;
  Statement insert_scenario_system;
  Statement select_scenario;
  Statement select_awaiting_outcome;
  Statement upsert_learner;
  Statement insert_attempt;
  Statement select_attempts;
  Statement select_learner;
  Statement save_engine_state;
  Statement load_engine_state;
  Statement select_meta;
  Statement upsert_meta;
  Statement mark_late;
  Statement select_late;
  Statement delete_late;
  Statement select_first_sample;
  Statement roll_minutes;
  Statement roll_hours;
  Statement select_minute_rollups;
  Statement select_hour_rollups;
  Statement prune_minute_rollups;
  Statement prune_hour_rollups;
};

Store::Store(std::unique_ptr<common::Database> db) : db_(std::move(db)) {}
Store::~Store() = default;

int64_t Store::latestSchemaVersion() {
  return static_cast<int64_t>(migrations().size());
}

int64_t Store::schemaVersion() {
  std::lock_guard lock(mutex_);
  return db_->userVersion();
}

const std::string& Store::path() const {
  return db_->path();
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  auto db = common::Database::open(path);
  if (!db.ok()) return db.error();
  if (auto migrated = (*db)->migrate(migrations()); !migrated.ok()) return migrated.error();

  std::unique_ptr<Store> store(new Store(std::move(*db)));
  auto stmts = std::make_unique<Statements>();
  common::Database& database = *store->db_;
  Status status;
  auto prepare = [&](Statement& target, const std::string& sql) {
    if (!status.ok()) return;
    auto prepared = database.prepare(sql);
    if (!prepared.ok()) {
      status = makeError(prepared.error().code,
                         "preparing store statement failed: " + prepared.error().message);
      return;
    }
    target = std::move(*prepared);
  };
  const std::string agent_cols = kAgentColumns;
  const std::string system_cols = kSystemColumns;
  const std::string directive_cols = kDirectiveColumns;
  const std::string scenario_cols = kScenarioColumns;

  prepare(stmts->upsert_agent,
          "INSERT INTO agents (id, version, host_facts, first_seen_ms, last_seen_ms, last_seq, "
          "connected) VALUES (?1, ?2, ?3, ?4, ?4, 0, 1) ON CONFLICT (id) DO UPDATE SET "
          "version = excluded.version, host_facts = excluded.host_facts, "
          "last_seen_ms = excluded.last_seen_ms, connected = 1");
  prepare(stmts->upsert_system,
          "INSERT INTO systems (" + system_cols +
              ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
              "ON CONFLICT (name) DO UPDATE SET agent_id = excluded.agent_id, "
              "actuator = excluded.actuator, min_replicas = excluded.min_replicas, "
              "max_replicas = excluded.max_replicas, "
              "announced_replicas = excluded.announced_replicas, "
              "capacity_per_replica = excluded.capacity_per_replica, "
              "target_utilization = excluded.target_utilization, "
              "warmup_ms = excluded.warmup_ms, priority = excluded.priority, "
              "depends_on = excluded.depends_on, replicas = excluded.replicas, "
              "updated_ms = excluded.updated_ms");
  prepare(stmts->set_agent_connected,
          "UPDATE agents SET connected = ?2, last_seen_ms = MAX(last_seen_ms, ?3) WHERE id = ?1");
  prepare(stmts->select_agents, "SELECT " + agent_cols + " FROM agents ORDER BY id");
  prepare(stmts->select_agent, "SELECT " + agent_cols + " FROM agents WHERE id = ?1");
  prepare(stmts->select_systems, "SELECT " + system_cols + " FROM systems ORDER BY name");
  prepare(stmts->select_system, "SELECT " + system_cols + " FROM systems WHERE name = ?1");
  prepare(stmts->select_agent_seq, "SELECT last_seq FROM agents WHERE id = ?1");
  prepare(stmts->insert_agent_implicit,
          "INSERT INTO agents (id, first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?2)");
  prepare(stmts->update_agent_seq, "UPDATE agents SET last_seq = ?2 WHERE id = ?1");
  prepare(stmts->select_series, "SELECT id FROM series WHERE system = ?1 AND metric = ?2");
  prepare(stmts->insert_series, "INSERT INTO series (system, metric) VALUES (?1, ?2)");
  prepare(stmts->insert_sample,
          "INSERT OR REPLACE INTO samples (series_id, ts_ms, value) VALUES (?1, ?2, ?3)");
  // Only newer information moves the count: a replayed old batch must not undo
  // a fresher hello or directive result.
  prepare(stmts->update_system_replicas,
          "UPDATE systems SET replicas = ?2, updated_ms = ?3 WHERE name = ?1 AND updated_ms <= ?3");
  prepare(stmts->upsert_health,
          "INSERT OR REPLACE INTO health (system, check_name, status, latency_ms, error, ts_ms) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  prepare(stmts->select_health,
          "SELECT system, check_name, status, latency_ms, error, ts_ms FROM health "
          "WHERE system = ?1 ORDER BY check_name");
  prepare(stmts->select_all_health,
          "SELECT system, check_name, status, latency_ms, error, ts_ms FROM health "
          "ORDER BY system, check_name");
  prepare(stmts->select_samples,
          "SELECT ts_ms, value FROM samples WHERE series_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 "
          "ORDER BY ts_ms LIMIT ?4");
  prepare(stmts->select_recent_samples,
          "SELECT ts_ms, value FROM samples WHERE series_id = ?1 AND ts_ms < ?2 "
          "ORDER BY ts_ms DESC LIMIT ?3");
  prepare(stmts->select_latest_sample,
          "SELECT ts_ms, value FROM samples WHERE series_id = ?1 ORDER BY ts_ms DESC LIMIT 1");
  prepare(stmts->select_metrics, "SELECT metric FROM series WHERE system = ?1 ORDER BY metric");
  prepare(stmts->select_series_ids, "SELECT id FROM series ORDER BY id");
  prepare(stmts->prune_series, "DELETE FROM samples WHERE series_id = ?1 AND ts_ms < ?2");
  prepare(stmts->init_cycle_seq,
          "INSERT INTO meta (key, value) VALUES ('cycle_seq', 0) ON CONFLICT (key) DO NOTHING");
  prepare(stmts->bump_cycle_seq,
          "UPDATE meta SET value = MAX(CAST(value AS INTEGER), "
          "(SELECT COALESCE(MAX(seq), 0) FROM cycles)) + 1 WHERE key = 'cycle_seq'");
  prepare(stmts->select_cycle_seq,
          "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'cycle_seq'");
  prepare(stmts->insert_cycle,
          "INSERT INTO cycles (id, seq, ts_ms, mode, duration_ms, decisions) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  prepare(stmts->select_cycles,
          "SELECT id, seq, ts_ms, mode, duration_ms, decisions FROM cycles WHERE ts_ms >= ?1 "
          "ORDER BY seq DESC LIMIT ?2");
  prepare(stmts->insert_directive,
          "INSERT INTO directives (" + directive_cols +
              ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
  prepare(stmts->mark_directive_sent,
          "UPDATE directives SET sent_ms = ?2, "
          "status = CASE WHEN status = 'pending' THEN 'sent' ELSE status END WHERE id = ?1");
  prepare(stmts->record_directive_result,
          "UPDATE directives SET status = ?2, result_replicas = ?3, result_message = ?4, "
          "result_ms = ?5 WHERE id = ?1");
  prepare(stmts->set_directive_status,
          "UPDATE directives SET status = ?2, "
          "result_message = CASE WHEN ?3 = '' THEN result_message ELSE ?3 END, "
          "result_ms = CASE WHEN ?5 THEN ?4 ELSE result_ms END WHERE id = ?1");
  prepare(stmts->select_directive, "SELECT " + directive_cols + " FROM directives WHERE id = ?1");
  prepare(stmts->select_directives, "SELECT " + directive_cols +
                                        " FROM directives ORDER BY created_ms DESC, rowid DESC "
                                        "LIMIT ?1");
  prepare(stmts->select_directives_for_system,
          "SELECT " + directive_cols +
              " FROM directives WHERE system = ?2 ORDER BY created_ms DESC, rowid DESC LIMIT ?1");
  prepare(stmts->select_pending_directives,
          "SELECT " + directive_cols +
              " FROM directives WHERE status = 'pending' ORDER BY created_ms, rowid");
  // A refused, failed or expired directive never took effect, so it holds nothing.
  prepare(stmts->select_active_hold,
          "SELECT " + directive_cols +
              " FROM directives WHERE system = ?1 AND source = 'operator' AND hold_until_ms > ?2 "
              "AND status NOT IN ('refused', 'failed', 'expired') "
              "ORDER BY created_ms DESC, rowid DESC LIMIT 1");
  prepare(stmts->insert_scenario,
          "INSERT INTO scenarios (" + scenario_cols + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  prepare(stmts->update_scenario,
          "UPDATE scenarios SET cycle_id = ?2, ts_ms = ?3, level = ?4, events = ?5, systems = ?6, "
          "outcome_filled = ?7, json = ?8 WHERE id = ?1");
  prepare(stmts->delete_scenario_events, "DELETE FROM scenario_events WHERE scenario_id = ?1");
  prepare(stmts->insert_scenario_event,
          "INSERT OR IGNORE INTO scenario_events (event, scenario_id) VALUES (?1, ?2)");
  prepare(stmts->delete_scenario_systems, "DELETE FROM scenario_systems WHERE scenario_id = ?1");
  prepare(stmts->insert_scenario_system,
          "INSERT OR IGNORE INTO scenario_systems (system, scenario_id) VALUES (?1, ?2)");
  prepare(stmts->select_scenario, "SELECT " + scenario_cols + " FROM scenarios WHERE id = ?1");
  prepare(stmts->upsert_learner,
          "INSERT INTO learners (id, first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?2) "
          "ON CONFLICT (id) DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)");
  prepare(stmts->insert_attempt,
          "INSERT INTO attempts (learner_id, scenario_id, question_id, level, response, correct, "
          "score, ts_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  prepare(stmts->select_attempts,
          "SELECT id, learner_id, scenario_id, question_id, level, response, correct, score, "
          "ts_ms FROM attempts WHERE learner_id = ?1 ORDER BY ts_ms, id");
  prepare(stmts->select_learner,
          "SELECT id, first_seen_ms, last_seen_ms FROM learners WHERE id = ?1");
  prepare(stmts->select_awaiting_outcome,
          "SELECT " + scenario_cols +
              " FROM scenarios WHERE outcome_filled = 0 AND ts_ms < ?1 ORDER BY ts_ms LIMIT ?2");
  prepare(
      stmts->save_engine_state,
      "INSERT INTO engine_state (id, state, updated_ms) VALUES (1, ?1, ?2) "
      "ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms");
  prepare(stmts->load_engine_state, "SELECT state FROM engine_state WHERE id = 1");
  prepare(stmts->select_meta, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1");
  prepare(stmts->upsert_meta,
          "INSERT INTO meta (key, value) VALUES (?1, ?2) "
          "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  prepare(stmts->mark_late,
          "INSERT INTO rollup_late (series_id, from_ms) VALUES (?1, ?2) "
          "ON CONFLICT (series_id) DO UPDATE SET from_ms = MIN(from_ms, excluded.from_ms)");
  prepare(stmts->select_late,
          "SELECT series_id, from_ms FROM rollup_late WHERE series_id > ?1 ORDER BY series_id "
          "LIMIT ?2");
  prepare(stmts->delete_late, "DELETE FROM rollup_late WHERE series_id = ?1");
  prepare(stmts->select_first_sample,
          "SELECT ts_ms FROM samples WHERE series_id = ?1 ORDER BY ts_ms LIMIT 1");
  // A bucket's row is recomputed from what it aggregates and replaces the old
  // one, so running a range twice never counts a sample twice.
  prepare(stmts->roll_minutes,
          "INSERT OR REPLACE INTO rollups_minute "
          "(series_id, bucket_ms, min_value, mean_value, max_value, count) "
          "SELECT ?1, ts_ms - (ts_ms % 60000) AS bucket, MIN(value), AVG(value), MAX(value), "
          "COUNT(*) FROM samples WHERE series_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 "
          "GROUP BY bucket");
  prepare(stmts->roll_hours,
          "INSERT OR REPLACE INTO rollups_hour "
          "(series_id, bucket_ms, min_value, mean_value, max_value, count) "
          "SELECT ?1, bucket_ms - (bucket_ms % 3600000) AS bucket, MIN(min_value), "
          "SUM(mean_value * count) / SUM(count), MAX(max_value), SUM(count) "
          "FROM rollups_minute WHERE series_id = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3 "
          "GROUP BY bucket");
  for (const char* table : {"rollups_minute", "rollups_hour"}) {
    const std::string name = table;
    const bool minute = name == "rollups_minute";
    prepare(minute ? stmts->select_minute_rollups : stmts->select_hour_rollups,
            "SELECT bucket_ms, min_value, mean_value, max_value, count FROM " + name +
                " WHERE series_id = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3 ORDER BY bucket_ms "
                "LIMIT ?4");
    prepare(minute ? stmts->prune_minute_rollups : stmts->prune_hour_rollups,
            "DELETE FROM " + name + " WHERE series_id = ?1 AND bucket_ms < ?2");
  }
  if (!status.ok()) return status.error();

  store->stmts_ = std::move(stmts);
  auto rolled = store->metaIntLocked(kRolledUntilKey, 0);
  if (!rolled.ok()) return rolled.error();
  store->rolled_until_ms_ = *rolled;
  store->rollup_claimed_ms_ = *rolled;
  return store;
}

// ---------------------------------------------------------------------------
// Agents and systems.

Status Store::upsertAgent(const protocol::Hello& hello, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  common::Transaction tx(*db_);
  if (!tx.beginStatus().ok()) return tx.beginStatus();

  nlohmann::json facts = nlohmann::json::object();
  for (const auto& [key, value] : hello.host_facts) facts[key] = value;
  {
    Use s(stmts_->upsert_agent);
    s->bind(1, hello.agent_id)
        .bind(2, hello.version)
        .bind(3, facts.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
        .bind(4, now_ms);
    if (auto st = s->run(); !st.ok()) return st;
  }
  for (const auto& info : hello.systems) {
    nlohmann::json depends = nlohmann::json::array();
    for (const auto& dep : info.depends_on) depends.push_back(dep);
    Use s(stmts_->upsert_system);
    s->bind(1, info.name)
        .bind(2, hello.agent_id)
        .bind(3, info.actuator)
        .bind(4, info.min_replicas)
        .bind(5, info.max_replicas)
        .bind(6, info.replicas)
        .bind(7, info.capacity_per_replica)
        .bind(8, info.target_utilization)
        .bind(9, info.warmup_ms)
        .bind(10, info.priority)
        .bind(11, depends.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
        .bind(12, info.replicas)
        .bind(13, now_ms);
    if (auto st = s->run(); !st.ok()) return st;
  }
  return tx.commit();
}

Status Store::setAgentConnected(const std::string& agent_id, bool connected, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  Use s(stmts_->set_agent_connected);
  s->bind(1, agent_id).bind(2, static_cast<int64_t>(connected ? 1 : 0)).bind(3, now_ms);
  if (auto st = s->run(); !st.ok()) return st;
  if (db_->changes() == 0) return makeError("not_found", "unknown agent '" + agent_id + "'");
  return Status();
}

Result<std::vector<AgentRecord>> Store::agents() {
  std::lock_guard lock(mutex_);
  Use s(stmts_->select_agents);
  return collectRows<AgentRecord>(*s, readAgent);
}

Result<std::optional<AgentRecord>> Store::agent(const std::string& agent_id) {
  std::lock_guard lock(mutex_);
  Use s(stmts_->select_agent);
  s->bind(1, agent_id);
  return firstRow<AgentRecord>(*s, readAgent);
}

Result<std::vector<SystemRecord>> Store::systems() {
  std::lock_guard lock(mutex_);
  Use s(stmts_->select_systems);
  return collectRows<SystemRecord>(*s, readSystem);
}

Result<std::optional<SystemRecord>> Store::system(const std::string& name) {
  std::lock_guard lock(mutex_);
  Use s(stmts_->select_system);
  s->bind(1, name);
  return firstRow<SystemRecord>(*s, readSystem);
}

// ---------------------------------------------------------------------------
// Telemetry.

Result<std::optional<int64_t>> Store::seriesIdLocked(const protocol::SeriesKey& key, bool create,
                                                     std::vector<protocol::SeriesKey>* created) {
  if (auto it = series_ids_.find(key); it != series_ids_.end()) {
    return std::optional<int64_t>(it->second);
  }
  {
    Use s(stmts_->select_series);
    s->bind(1, key.system).bind(2, key.metric);
    auto row = s->step();
    if (!row.ok()) return row.error();
    if (*row) {
      int64_t id = s->columnInt64(0);
      series_ids_.emplace(key, id);
      return std::optional<int64_t>(id);
    }
  }
  if (!create) return std::optional<int64_t>();
  Use s(stmts_->insert_series);
  s->bind(1, key.system).bind(2, key.metric);
  if (auto st = s->run(); !st.ok()) return st.error();
  int64_t id = db_->lastInsertRowid();
  series_ids_.emplace(key, id);
  if (created != nullptr) created->push_back(key);
  return std::optional<int64_t>(id);
}

Result<IngestOutcome> Store::ingestTelemetry(const protocol::TelemetryBatch& batch) {
  std::lock_guard lock(mutex_);
  auto outcomes = ingestLocked({&batch});
  if (!outcomes.ok()) return outcomes.error();
  return outcomes->front();
}

Result<std::vector<IngestOutcome>> Store::ingestTelemetry(
    const std::vector<protocol::TelemetryBatch>& batches) {
  std::lock_guard lock(mutex_);
  std::vector<const protocol::TelemetryBatch*> pointers;
  pointers.reserve(batches.size());
  for (const auto& batch : batches) pointers.push_back(&batch);
  return ingestLocked(pointers);
}

Result<std::vector<IngestOutcome>> Store::ingestLocked(
    const std::vector<const protocol::TelemetryBatch*>& batches) {
  // Refuse malformed input before touching the database, so one bad batch
  // cannot leave half a transaction behind.
  for (const auto* batch : batches) {
    const std::string where = "telemetry batch seq " + std::to_string(batch->seq) +
                              " from agent '" + batch->agent_id + "'";
    if (batch->agent_id.empty()) {
      return makeError("invalid", "telemetry batch seq " + std::to_string(batch->seq) +
                                      " has an empty agent id");
    }
    if (batch->seq == 0) return makeError("invalid", where + ": seq must start at 1");
    if (batch->values.size() != batch->series.size()) {
      return makeError("invalid", where + ": " + std::to_string(batch->values.size()) +
                                      " value rows for " + std::to_string(batch->series.size()) +
                                      " series");
    }
    for (std::size_t i = 0; i < batch->values.size(); ++i) {
      if (batch->values[i].size() != batch->timestamps_ms.size()) {
        return makeError("invalid", where + ": series '" + batch->series[i].system + "/" +
                                        batch->series[i].metric + "' has " +
                                        std::to_string(batch->values[i].size()) + " values for " +
                                        std::to_string(batch->timestamps_ms.size()) +
                                        " timestamps");
      }
    }
  }

  std::vector<protocol::SeriesKey> created_series;
  auto forget_created = [&] {
    for (const auto& key : created_series) series_ids_.erase(key);
  };

  common::Transaction tx(*db_);
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();

  std::map<std::string, uint64_t> last_seq;  // per agent, as of this transaction
  std::set<std::string> advanced;
  std::vector<IngestOutcome> outcomes;
  outcomes.reserve(batches.size());

  auto load_seq = [&](const std::string& agent_id) -> Result<uint64_t> {
    if (auto it = last_seq.find(agent_id); it != last_seq.end()) return it->second;
    uint64_t seq = 0;
    bool found = false;
    {
      Use s(stmts_->select_agent_seq);
      s->bind(1, agent_id);
      auto row = s->step();
      if (!row.ok()) return row.error();
      if (*row) {
        seq = static_cast<uint64_t>(s->columnInt64(0));
        found = true;
      }
    }
    if (!found) {
      // Telemetry before any hello (e.g. a fresh database while the agent
      // drains its spool): register the agent rather than lose the data.
      Use s(stmts_->insert_agent_implicit);
      s->bind(1, agent_id).bind(2, common::wallMs());
      if (auto st = s->run(); !st.ok()) return st.error();
    }
    last_seq[agent_id] = seq;
    return seq;
  };

  for (const auto* batch : batches) {
    auto loaded = load_seq(batch->agent_id);
    if (!loaded.ok()) {
      forget_created();
      return loaded.error();
    }
    const uint64_t last = *loaded;
    const uint64_t floor = batch->oldest_seq > 0 ? batch->oldest_seq - 1 : 0;
    const uint64_t expected = std::max(last, floor) + 1;

    IngestOutcome outcome;
    if (batch->seq <= last) {
      outcome.kind = IngestOutcome::Kind::kDuplicate;
      outcome.last_seq = last;
      outcomes.push_back(outcome);
      continue;
    }
    if (batch->seq != expected) {
      outcome.kind = IngestOutcome::Kind::kOutOfOrder;
      outcome.last_seq = last;
      outcomes.push_back(outcome);
      continue;
    }

    for (std::size_t i = 0; i < batch->series.size(); ++i) {
      const auto& key = batch->series[i];
      auto id = seriesIdLocked(key, true, &created_series);
      if (!id.ok()) {
        forget_created();
        return id.error();
      }
      const int64_t series_id = **id;
      const auto& row = batch->values[i];
      std::optional<std::pair<int64_t, double>> newest;
      int64_t oldest_ts = std::numeric_limits<int64_t>::max();
      for (std::size_t j = 0; j < row.size(); ++j) {
        const double value = row[j];
        if (!std::isfinite(value)) continue;
        const int64_t ts = batch->timestamps_ms[j];
        oldest_ts = std::min(oldest_ts, ts);
        Use s(stmts_->insert_sample);
        s->bind(1, series_id).bind(2, ts).bind(3, value);
        if (auto st = s->run(); !st.ok()) {
          forget_created();
          return st.error();
        }
        ++outcome.samples;
        if (!newest || ts >= newest->first) newest = std::make_pair(ts, value);
      }
      // A sample for a bucket that is already rolled up: the next rollup pass
      // recomputes this series from there.
      if (oldest_ts < rollup_claimed_ms_) {
        Use s(stmts_->mark_late);
        s->bind(1, series_id).bind(2, oldest_ts);
        if (auto st = s->run(); !st.ok()) {
          forget_created();
          return st.error();
        }
      }
      if (key.metric == "replicas" && !key.system.empty() && newest) {
        Use s(stmts_->update_system_replicas);
        s->bind(1, key.system)
            .bind(2, static_cast<int64_t>(std::llround(newest->second)))
            .bind(3, newest->first);
        if (auto st = s->run(); !st.ok()) {
          forget_created();
          return st.error();
        }
      }
    }
    last_seq[batch->agent_id] = batch->seq;
    advanced.insert(batch->agent_id);
    outcome.kind = IngestOutcome::Kind::kStored;
    outcome.last_seq = batch->seq;
    outcomes.push_back(outcome);
  }

  for (const auto& agent_id : advanced) {
    Use s(stmts_->update_agent_seq);
    s->bind(1, agent_id).bind(2, static_cast<int64_t>(last_seq[agent_id]));
    if (auto st = s->run(); !st.ok()) {
      forget_created();
      return st.error();
    }
  }
  if (auto st = tx.commit(); !st.ok()) {
    forget_created();
    return st.error();
  }
  return outcomes;
}

Status Store::recordHealth(const protocol::Health& health) {
  std::lock_guard lock(mutex_);
  common::Transaction tx(*db_);
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  for (const auto& check : health.checks) {
    Use s(stmts_->upsert_health);
    s->bind(1, check.system)
        .bind(2, check.check)
        .bind(3, check.status)
        .bind(4, std::isfinite(check.latency_ms) ? check.latency_ms : 0.0)
        .bind(5, check.error)
        .bind(6, check.ts_ms);
    if (auto st = s->run(); !st.ok()) return st;
  }
  return tx.commit();
}

Result<std::vector<HealthRecord>> Store::health(const std::string& system) {
  std::lock_guard lock(mutex_);
  Use s(stmts_->select_health);
  s->bind(1, system);
  return collectRows<HealthRecord>(*s, readHealth);
}

Result<std::vector<HealthRecord>> Store::allHealth() {
  std::lock_guard lock(mutex_);
  Use s(stmts_->select_all_health);
  return collectRows<HealthRecord>(*s, readHealth);
}

Result<std::vector<Sample>> Store::samples(const std::string& system, const std::string& metric,
                                           int64_t since_ms, int64_t until_ms, int64_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<Sample> out;
  auto id = seriesIdLocked({system, metric}, false, nullptr);
  if (!id.ok()) return id.error();
  if (!*id) return out;
  Use s(stmts_->select_samples);
  s->bind(1, **id).bind(2, since_ms).bind(3, until_ms).bind(4, sqlLimit(limit));
  if (auto st = forEachRow(*s,
                           [&](const Statement& row) {
                             out.push_back(Sample{row.columnInt64(0), row.columnDouble(1)});
                           });
      !st.ok()) {
    return st.error();
  }
  return out;
}

Result<std::vector<Sample>> Store::recentSamples(const std::string& system,
                                                 const std::string& metric, int64_t until_ms,
                                                 int64_t count) {
  std::lock_guard lock(mutex_);
  std::vector<Sample> out;
  if (count <= 0) return out;
  auto id = seriesIdLocked({system, metric}, false, nullptr);
  if (!id.ok()) return id.error();
  if (!*id) return out;
  Use s(stmts_->select_recent_samples);
  s->bind(1, **id).bind(2, until_ms).bind(3, count);
  if (auto st = forEachRow(*s,
                           [&](const Statement& row) {
                             out.push_back(Sample{row.columnInt64(0), row.columnDouble(1)});
                           });
      !st.ok()) {
    return st.error();
  }
  std::reverse(out.begin(), out.end());
  return out;
}

Result<std::optional<Sample>> Store::latestSample(const std::string& system,
                                                  const std::string& metric) {
  std::lock_guard lock(mutex_);
  auto id = seriesIdLocked({system, metric}, false, nullptr);
  if (!id.ok()) return id.error();
  if (!*id) return std::optional<Sample>();
  Use s(stmts_->select_latest_sample);
  s->bind(1, **id);
  auto row = s->step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<Sample>();
  return std::optional<Sample>(Sample{s->columnInt64(0), s->columnDouble(1)});
}

Result<std::vector<std::string>> Store::metrics(const std::string& system) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  Use s(stmts_->select_metrics);
  s->bind(1, system);
  if (auto st = forEachRow(*s, [&](const Statement& row) { out.push_back(row.columnText(0)); });
      !st.ok()) {
    return st.error();
  }
  return out;
}

Result<int64_t> Store::pruneSamples(int64_t cutoff_ms) {
  std::lock_guard lock(mutex_);
  std::vector<int64_t> ids;
  {
    Use s(stmts_->select_series_ids);
    if (auto st = forEachRow(*s, [&](const Statement& row) { ids.push_back(row.columnInt64(0)); });
        !st.ok()) {
      return st.error();
    }
  }
  // Per-series range deletes follow the (series_id, ts_ms) key; one
  // "ts_ms < cutoff" delete would scan the whole table.
  common::Transaction tx(*db_);
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  int64_t removed = 0;
  for (int64_t id : ids) {
    Use s(stmts_->prune_series);
    s->bind(1, id).bind(2, cutoff_ms);
    if (auto st = s->run(); !st.ok()) return st.error();
    removed += db_->changes();
  }
  // Rollup recomputations must not start in a bucket whose samples are gone.
  auto pruned_before = metaIntLocked(kSamplesPrunedKey, 0);
  if (!pruned_before.ok()) return pruned_before.error();
  if (cutoff_ms > *pruned_before) {
    if (auto st = setMetaIntLocked(kSamplesPrunedKey, cutoff_ms); !st.ok()) return st.error();
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return removed;
}

// ---------------------------------------------------------------------------
// Rollups.

Result<int64_t> Store::metaIntLocked(const std::string& key, int64_t fallback) {
  Use s(stmts_->select_meta);
  s->bind(1, key);
  auto row = s->step();
  if (!row.ok()) return row.error();
  return *row ? s->columnInt64(0) : fallback;
}

Status Store::setMetaIntLocked(const std::string& key, int64_t value) {
  Use s(stmts_->upsert_meta);
  s->bind(1, key).bind(2, value);
  return s->run();
}

Status Store::rollSeriesLocked(int64_t series_id, int64_t minute_from, int64_t minute_to,
                               int64_t hour_from, int64_t hour_to, RollupReport& report) {
  if (minute_from < minute_to) {
    Use s(stmts_->roll_minutes);
    s->bind(1, series_id).bind(2, minute_from).bind(3, minute_to);
    if (auto st = s->run(); !st.ok()) return st;
    report.minute_rows += db_->changes();
  }
  if (hour_from < hour_to) {
    Use s(stmts_->roll_hours);
    s->bind(1, series_id).bind(2, hour_from).bind(3, hour_to);
    if (auto st = s->run(); !st.ok()) return st;
    report.hour_rows += db_->changes();
  }
  return Status();
}

Result<RollupReport> Store::rollup(int64_t closed_before_ms) {
  std::lock_guard pass(rollup_mutex_);
  RollupReport report;
  const int64_t target = floorTo(closed_before_ms, kMinuteMs);
  int64_t previous = 0;
  std::vector<int64_t> ids;
  {
    std::lock_guard lock(mutex_);
    previous = rolled_until_ms_;
    report.rolled_until_ms = std::max(previous, target);
    // From here on, ingest marks samples older than the new mark as late, so a
    // sample written between two groups of this pass is not missed.
    rollup_claimed_ms_ = report.rolled_until_ms;
    if (target > previous) {
      Use s(stmts_->select_series_ids);
      if (auto st =
              forEachRow(*s, [&](const Statement& row) { ids.push_back(row.columnInt64(0)); });
          !st.ok()) {
        return st.error();
      }
    }
  }

  // The regular pass: buckets between the previous mark and the new one.
  for (std::size_t begin = 0; begin < ids.size(); begin += kRollupSeriesPerTransaction) {
    std::lock_guard lock(mutex_);
    common::Transaction tx(*db_);
    if (!tx.beginStatus().ok()) return tx.beginStatus().error();
    const std::size_t end = std::min(ids.size(), begin + kRollupSeriesPerTransaction);
    for (std::size_t i = begin; i < end; ++i) {
      int64_t from = previous;
      if (previous == 0) {
        // The first pass starts at each series' first sample.
        Use s(stmts_->select_first_sample);
        s->bind(1, ids[i]);
        auto row = s->step();
        if (!row.ok()) return row.error();
        if (!*row) continue;
        from = floorTo(s->columnInt64(0), kMinuteMs);
      }
      if (auto st = rollSeriesLocked(ids[i], from, target, floorTo(from, kHourMs),
                                     floorTo(target, kHourMs), report);
          !st.ok()) {
        return st.error();
      }
      ++report.series;
    }
    if (auto st = tx.commit(); !st.ok()) return st.error();
  }

  // Late samples: recompute their series from the earliest late sample, but
  // only over buckets whose inputs retention has not removed.
  const int64_t minute_to = report.rolled_until_ms;
  const int64_t hour_to = floorTo(minute_to, kHourMs);
  int64_t after_id = 0;
  while (true) {
    std::lock_guard lock(mutex_);
    auto samples_pruned = metaIntLocked(kSamplesPrunedKey, 0);
    if (!samples_pruned.ok()) return samples_pruned.error();
    auto minutes_pruned = metaIntLocked(kMinutesPrunedKey, 0);
    if (!minutes_pruned.ok()) return minutes_pruned.error();
    std::vector<std::pair<int64_t, int64_t>> late;
    {
      Use s(stmts_->select_late);
      s->bind(1, after_id).bind(2, static_cast<int64_t>(kRollupSeriesPerTransaction));
      if (auto st = forEachRow(*s,
                               [&](const Statement& row) {
                                 late.emplace_back(row.columnInt64(0), row.columnInt64(1));
                               });
          !st.ok()) {
        return st.error();
      }
    }
    if (late.empty()) break;
    common::Transaction tx(*db_);
    if (!tx.beginStatus().ok()) return tx.beginStatus().error();
    for (const auto& [series_id, from_ms] : late) {
      const int64_t minute_from =
          std::max(floorTo(from_ms, kMinuteMs), ceilTo(*samples_pruned, kMinuteMs));
      const int64_t hour_from =
          std::max(floorTo(from_ms, kHourMs), ceilTo(*minutes_pruned, kHourMs));
      if (auto st = rollSeriesLocked(series_id, minute_from, minute_to, hour_from, hour_to, report);
          !st.ok()) {
        return st.error();
      }
      Use s(stmts_->delete_late);
      s->bind(1, series_id);
      if (auto st = s->run(); !st.ok()) return st.error();
      ++report.late_series;
      after_id = series_id;
    }
    if (auto st = tx.commit(); !st.ok()) return st.error();
  }

  if (report.rolled_until_ms > previous) {
    std::lock_guard lock(mutex_);
    if (auto st = setMetaIntLocked(kRolledUntilKey, report.rolled_until_ms); !st.ok()) {
      return st.error();
    }
    rolled_until_ms_ = report.rolled_until_ms;
  }
  return report;
}

Result<std::vector<RollupBucket>> Store::rollups(const std::string& system,
                                                 const std::string& metric,
                                                 RollupResolution resolution, int64_t since_ms,
                                                 int64_t until_ms, int64_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<RollupBucket> out;
  auto id = seriesIdLocked({system, metric}, false, nullptr);
  if (!id.ok()) return id.error();
  if (!*id) return out;
  Use s(resolution == RollupResolution::kMinute ? stmts_->select_minute_rollups
                                                : stmts_->select_hour_rollups);
  s->bind(1, **id).bind(2, since_ms).bind(3, until_ms).bind(4, sqlLimit(limit));
  return collectRows<RollupBucket>(*s, [](const Statement& row) {
    return RollupBucket{row.columnInt64(0), row.columnDouble(1), row.columnDouble(2),
                        row.columnDouble(3), row.columnInt64(4)};
  });
}

int64_t Store::rolledUntil(RollupResolution resolution) {
  std::lock_guard lock(mutex_);
  return floorTo(rolled_until_ms_, rollupBucketMs(resolution));
}

Result<int64_t> Store::pruneRollups(RollupResolution resolution, int64_t cutoff_ms) {
  std::lock_guard lock(mutex_);
  std::vector<int64_t> ids;
  {
    Use s(stmts_->select_series_ids);
    if (auto st = forEachRow(*s, [&](const Statement& row) { ids.push_back(row.columnInt64(0)); });
        !st.ok()) {
      return st.error();
    }
  }
  const bool minute = resolution == RollupResolution::kMinute;
  common::Transaction tx(*db_);
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  int64_t removed = 0;
  for (int64_t id : ids) {
    Use s(minute ? stmts_->prune_minute_rollups : stmts_->prune_hour_rollups);
    s->bind(1, id).bind(2, cutoff_ms);
    if (auto st = s->run(); !st.ok()) return st.error();
    removed += db_->changes();
  }
  if (minute) {
    // Hours are never recomputed from minutes that are gone.
    auto pruned_before = metaIntLocked(kMinutesPrunedKey, 0);
    if (!pruned_before.ok()) return pruned_before.error();
    if (cutoff_ms > *pruned_before) {
      if (auto st = setMetaIntLocked(kMinutesPrunedKey, cutoff_ms); !st.ok()) return st.error();
    }
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return removed;
}

// ---------------------------------------------------------------------------
// Cycles.

Result<int64_t> Store::nextCycleSeq() {
  std::lock_guard lock(mutex_);
  common::Transaction tx(*db_);
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  {
    Use s(stmts_->init_cycle_seq);
    if (auto st = s->run(); !st.ok()) return st.error();
  }
  {
    Use s(stmts_->bump_cycle_seq);
    if (auto st = s->run(); !st.ok()) return st.error();
  }
  int64_t seq = 0;
  {
    Use s(stmts_->select_cycle_seq);
    auto row = s->step();
    if (!row.ok()) return row.error();
    if (!*row) return makeError("io", "cycle counter missing from meta table");
    seq = s->columnInt64(0);
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return seq;
}

Status Store::insertCycle(const CycleRecord& cycle) {
  std::lock_guard lock(mutex_);
  Use s(stmts_->insert_cycle);
  s->bind(1, cycle.id)
      .bind(2, cycle.seq)
      .bind(3, cycle.ts_ms)
      .bind(4, cycle.mode)
      .bind(5, cycle.duration_ms)
      .bind(6, cycle.decisions_json.empty() ? std::string("[]") : cycle.decisions_json);
  if (auto st = s->run(); !st.ok()) return asExists(st.error(), "cycle '" + cycle.id + "'");
  return Status();
}

Result<std::vector<CycleRecord>> Store::cycles(int64_t limit, int64_t since_ms) {
  std::lock_guard lock(mutex_);
  Use s(stmts_->select_cycles);
  s->bind(1, since_ms).bind(2, sqlLimit(limit));
  return collectRows<CycleRecord>(*s, readCycle);
}

// ---------------------------------------------------------------------------
// Directives.

Status Store::insertDirective(const DirectiveRecord& d) {
  std::lock_guard lock(mutex_);
  if (!knownDirectiveStatuses().count(d.status)) {
    return makeError("invalid", "directive '" + d.id + "': unknown status '" + d.status + "'");
  }
  Use s(stmts_->insert_directive);
  s->bind(1, d.id)
      .bind(2, d.cycle_id)
      .bind(3, d.system)
      .bind(4, d.agent_id)
      .bind(5, d.action)
      .bind(6, d.replicas)
      .bind(7, d.reason)
      .bind(8, d.source)
      .bind(9, d.status)
      .bind(10, d.created_ms)
      .bind(11, d.sent_ms)
      .bind(12, d.result_ms)
      .bind(13, d.deadline_ms)
      .bind(14, d.hold_until_ms)
      .bind(15, d.result_message)
      .bind(16, d.result_replicas);
  if (auto st = s->run(); !st.ok()) return asExists(st.error(), "directive '" + d.id + "'");
  return Status();
}

Status Store::markDirectiveSent(const std::string& id, int64_t sent_ms) {
  std::lock_guard lock(mutex_);
  Use s(stmts_->mark_directive_sent);
  s->bind(1, id).bind(2, sent_ms);
  if (auto st = s->run(); !st.ok()) return st;
  if (db_->changes() == 0) return makeError("not_found", "unknown directive '" + id + "'");
  return Status();
}

Status Store::recordDirectiveResult(const protocol::DirectiveResult& result) {
  std::lock_guard lock(mutex_);
  if (!knownDirectiveStatuses().count(result.status) || !isTerminalStatus(result.status)) {
    return makeError("invalid", "result for directive '" + result.directive_id +
                                    "': unknown status '" + result.status + "'");
  }
  std::optional<DirectiveRecord> existing;
  {
    Use s(stmts_->select_directive);
    s->bind(1, result.directive_id);
    auto row = s->step();
    if (!row.ok()) return row.error();
    if (*row) existing = readDirective(*s);
  }
  if (!existing) {
    return makeError("not_found", "result for unknown directive '" + result.directive_id + "'");
  }
  if (!existing->agent_id.empty() && existing->agent_id != result.agent_id) {
    return makeError("forbidden", "agent '" + result.agent_id +
                                      "' reported a result for directive '" + result.directive_id +
                                      "' sent to agent '" + existing->agent_id + "'");
  }

  common::Transaction tx(*db_);
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  {
    Use s(stmts_->record_directive_result);
    s->bind(1, result.directive_id)
        .bind(2, result.status)
        .bind(3, result.replicas)
        .bind(4, result.message)
        .bind(5, result.ts_ms);
    if (auto st = s->run(); !st.ok()) return st;
  }
  if (result.status == "applied" && result.replicas >= 0) {
    Use s(stmts_->update_system_replicas);
    s->bind(1, existing->system).bind(2, result.replicas).bind(3, result.ts_ms);
    if (auto st = s->run(); !st.ok()) return st;
  }
  return tx.commit();
}

Status Store::setDirectiveStatus(const std::string& id, const std::string& status,
                                 const std::string& message, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (!knownDirectiveStatuses().count(status)) {
    return makeError("invalid", "directive '" + id + "': unknown status '" + status + "'");
  }
  Use s(stmts_->set_directive_status);
  s->bind(1, id)
      .bind(2, status)
      .bind(3, message)
      .bind(4, now_ms)
      .bind(5, static_cast<int64_t>(isTerminalStatus(status) ? 1 : 0));
  if (auto st = s->run(); !st.ok()) return st;
  if (db_->changes() == 0) return makeError("not_found", "unknown directive '" + id + "'");
  return Status();
}

Result<std::vector<DirectiveRecord>> Store::readDirectives(Statement& statement) {
  std::vector<DirectiveRecord> out;
  if (auto st =
          forEachRow(statement, [&](const Statement& row) { out.push_back(readDirective(row)); });
      !st.ok()) {
    return st.error();
  }
  return out;
}

Result<std::optional<DirectiveRecord>> Store::directive(const std::string& id) {
  std::lock_guard lock(mutex_);
  Use s(stmts_->select_directive);
  s->bind(1, id);
  return firstRow<DirectiveRecord>(*s, readDirective);
}

Result<std::vector<DirectiveRecord>> Store::directives(int64_t limit, const std::string& system) {
  std::lock_guard lock(mutex_);
  if (system.empty()) {
    Use s(stmts_->select_directives);
    s->bind(1, sqlLimit(limit));
    return readDirectives(*s);
  }
  Use s(stmts_->select_directives_for_system);
  s->bind(1, sqlLimit(limit)).bind(2, system);
  return readDirectives(*s);
}

Result<std::vector<DirectiveRecord>> Store::pendingDirectives() {
  std::lock_guard lock(mutex_);
  Use s(stmts_->select_pending_directives);
  return readDirectives(*s);
}

Result<std::optional<DirectiveRecord>> Store::activeHold(const std::string& system,
                                                         int64_t now_ms) {
  std::lock_guard lock(mutex_);
  Use s(stmts_->select_active_hold);
  s->bind(1, system).bind(2, now_ms);
  return firstRow<DirectiveRecord>(*s, readDirective);
}

// ---------------------------------------------------------------------------
// Scenarios.

Status Store::writeScenarioIndexes(const ScenarioRecord& scenario) {
  {
    Use s(stmts_->delete_scenario_events);
    s->bind(1, scenario.id);
    if (auto st = s->run(); !st.ok()) return st;
  }
  {
    Use s(stmts_->delete_scenario_systems);
    s->bind(1, scenario.id);
    if (auto st = s->run(); !st.ok()) return st;
  }
  for (const auto& event : scenario.events) {
    Use s(stmts_->insert_scenario_event);
    s->bind(1, event).bind(2, scenario.id);
    if (auto st = s->run(); !st.ok()) return st;
  }
  for (const auto& system : scenario.systems) {
    Use s(stmts_->insert_scenario_system);
    s->bind(1, system).bind(2, scenario.id);
    if (auto st = s->run(); !st.ok()) return st;
  }
  return Status();
}

Status Store::insertScenario(const ScenarioRecord& scenario) {
  std::lock_guard lock(mutex_);
  common::Transaction tx(*db_);
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  if (auto st = insertScenarioLocked(scenario); !st.ok()) return st;
  return tx.commit();
}

Status Store::insertScenarios(const std::vector<ScenarioRecord>& scenarios) {
  std::lock_guard lock(mutex_);
  common::Transaction tx(*db_);
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  for (const auto& scenario : scenarios) {
    if (auto st = insertScenarioLocked(scenario); !st.ok()) return st;
  }
  return tx.commit();
}

Status Store::insertScenarioLocked(const ScenarioRecord& scenario) {
  {
    Use s(stmts_->insert_scenario);
    s->bind(1, scenario.id)
        .bind(2, scenario.cycle_id)
        .bind(3, scenario.ts_ms)
        .bind(4, scenario.level)
        .bind(5, joinList(scenario.events))
        .bind(6, joinList(scenario.systems))
        .bind(7, static_cast<int64_t>(scenario.outcome_filled ? 1 : 0))
        .bind(8, scenario.json);
    if (auto st = s->run(); !st.ok()) return asExists(st.error(), "scenario '" + scenario.id + "'");
  }
  return writeScenarioIndexes(scenario);
}

Status Store::updateScenario(const ScenarioRecord& scenario) {
  std::lock_guard lock(mutex_);
  common::Transaction tx(*db_);
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  {
    Use s(stmts_->update_scenario);
    s->bind(1, scenario.id)
        .bind(2, scenario.cycle_id)
        .bind(3, scenario.ts_ms)
        .bind(4, scenario.level)
        .bind(5, joinList(scenario.events))
        .bind(6, joinList(scenario.systems))
        .bind(7, static_cast<int64_t>(scenario.outcome_filled ? 1 : 0))
        .bind(8, scenario.json);
    if (auto st = s->run(); !st.ok()) return st;
    if (db_->changes() == 0) {
      return makeError("not_found", "unknown scenario '" + scenario.id + "'");
    }
  }
  if (auto st = writeScenarioIndexes(scenario); !st.ok()) return st;
  return tx.commit();
}

Result<std::optional<ScenarioRecord>> Store::scenario(const std::string& id) {
  std::lock_guard lock(mutex_);
  Use s(stmts_->select_scenario);
  s->bind(1, id);
  return firstRow<ScenarioRecord>(*s, readScenario);
}

Result<std::vector<ScenarioRecord>> Store::scenarios(const ScenarioFilter& filter) {
  std::lock_guard lock(mutex_);
  // Filters vary per call, so this statement is built and prepared each time;
  // listing scenarios is an operator action, not a hot path.
  std::string sql = std::string("SELECT ") + kScenarioColumns + " FROM scenarios WHERE 1";
  int index = 0;
  std::vector<std::pair<int, std::string>> texts;
  std::vector<std::pair<int, int64_t>> numbers;
  if (filter.event) {
    sql += " AND id IN (SELECT scenario_id FROM scenario_events WHERE event = ?" +
           std::to_string(++index) + ")";
    texts.emplace_back(index, *filter.event);
  }
  if (filter.system) {
    sql += " AND id IN (SELECT scenario_id FROM scenario_systems WHERE system = ?" +
           std::to_string(++index) + ")";
    texts.emplace_back(index, *filter.system);
  }
  if (filter.level) {
    sql += " AND level = ?" + std::to_string(++index);
    texts.emplace_back(index, *filter.level);
  }
  if (filter.since_ms) {
    sql += " AND ts_ms >= ?" + std::to_string(++index);
    numbers.emplace_back(index, *filter.since_ms);
  }
  if (filter.until_ms) {
    sql += " AND ts_ms < ?" + std::to_string(++index);
    numbers.emplace_back(index, *filter.until_ms);
  }
  sql += filter.newest_first ? " ORDER BY ts_ms DESC, id DESC" : " ORDER BY ts_ms, id";
  sql += " LIMIT ?" + std::to_string(++index);
  numbers.emplace_back(index, sqlLimit(filter.limit));

  auto statement = db_->prepare(sql);
  if (!statement.ok()) return statement.error();
  for (const auto& [i, text] : texts) statement->bind(i, text);
  for (const auto& [i, number] : numbers) statement->bind(i, number);
  std::vector<ScenarioRecord> out;
  if (auto st =
          forEachRow(*statement, [&](const Statement& row) { out.push_back(readScenario(row)); });
      !st.ok()) {
    return st.error();
  }
  return out;
}

Result<std::vector<ScenarioRecord>> Store::scenariosAwaitingOutcome(int64_t cutoff_ms,
                                                                    int64_t limit) {
  std::lock_guard lock(mutex_);
  Use s(stmts_->select_awaiting_outcome);
  s->bind(1, cutoff_ms).bind(2, sqlLimit(limit));
  return collectRows<ScenarioRecord>(*s, readScenario);
}

// ---------------------------------------------------------------------------
// Learners and attempts.

Result<std::vector<AttemptRecord>> Store::recordAttempts(const std::string& learner_id,
                                                         const std::vector<AttemptRecord>& attempts,
                                                         int64_t now_ms) {
  if (learner_id.empty()) return makeError("invalid", "a learner id must not be empty");
  for (const auto& a : attempts) {
    if (a.learner_id != learner_id) {
      return makeError("invalid", "attempt for question '" + a.question_id +
                                      "' belongs to learner '" + a.learner_id + "', not '" +
                                      learner_id + "'");
    }
  }
  std::lock_guard lock(mutex_);
  common::Transaction tx(*db_);
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  {
    Use s(stmts_->upsert_learner);
    s->bind(1, learner_id).bind(2, now_ms);
    if (auto st = s->run(); !st.ok()) return st.error();
  }
  std::vector<AttemptRecord> stored = attempts;
  for (auto& a : stored) {
    Use s(stmts_->insert_attempt);
    s->bind(1, a.learner_id)
        .bind(2, a.scenario_id)
        .bind(3, a.question_id)
        .bind(4, a.level)
        .bind(5, a.response)
        .bind(6, static_cast<int64_t>(a.correct ? 1 : 0))
        .bind(7, a.score)
        .bind(8, a.ts_ms);
    if (auto st = s->run(); !st.ok()) return st.error();
    a.id = db_->lastInsertRowid();
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return stored;
}

Result<std::vector<AttemptRecord>> Store::attempts(const std::string& learner_id) {
  std::lock_guard lock(mutex_);
  std::vector<AttemptRecord> out;
  Use s(stmts_->select_attempts);
  s->bind(1, learner_id);
  if (auto st = forEachRow(*s,
                           [&](const Statement& row) {
                             AttemptRecord a;
                             a.id = row.columnInt64(0);
                             a.learner_id = row.columnText(1);
                             a.scenario_id = row.columnText(2);
                             a.question_id = row.columnText(3);
                             a.level = row.columnText(4);
                             a.response = row.columnText(5);
                             a.correct = row.columnInt64(6) != 0;
                             a.score = row.columnDouble(7);
                             a.ts_ms = row.columnInt64(8);
                             out.push_back(std::move(a));
                           });
      !st.ok()) {
    return st.error();
  }
  return out;
}

Result<std::optional<LearnerRecord>> Store::learner(const std::string& learner_id) {
  std::lock_guard lock(mutex_);
  Use s(stmts_->select_learner);
  s->bind(1, learner_id);
  auto row = s->step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<LearnerRecord>();
  return std::optional<LearnerRecord>(
      LearnerRecord{s->columnText(0), s->columnInt64(1), s->columnInt64(2)});
}

// ---------------------------------------------------------------------------
// Engine state and maintenance.

Status Store::saveEngineState(const std::string& state) {
  std::lock_guard lock(mutex_);
  Use s(stmts_->save_engine_state);
  s->bindBlob(1, state.data(), state.size()).bind(2, common::wallMs());
  return s->run();
}

Result<std::string> Store::loadEngineState() {
  std::lock_guard lock(mutex_);
  Use s(stmts_->load_engine_state);
  auto row = s->step();
  if (!row.ok()) return row.error();
  if (!*row) return std::string();
  return s->columnBlob(0);
}

Result<bool> Store::integrityCheck() {
  std::lock_guard lock(mutex_);
  return db_->integrityCheck();
}

}  // namespace pso::controller::store
