#include "controller/store/sqlite/schema.h"

namespace pso::controller::store {

// Schema history. Append a new string to change the schema; never edit an
// applied one (databases in the field are at user_version = index reached).
const std::vector<std::string>& sqliteMigrations() {
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
      // 4: system ownership and host series per agent.
      // - agents.conflicts: the systems of the agent's last hello that another
      //   agent owns, as a JSON array of {"system", "owner"}.
      // - Host metrics (series with an empty system) were stored as one
      //   series per metric, every agent's samples interleaved in it; they
      //   cannot be attributed to an agent, so they are deleted here with
      //   their rollups and late marks. From now on each agent's host series
      //   are stored under the system "@host:<agent>" (hostSeriesSystem).
      R"sql(
ALTER TABLE agents ADD COLUMN conflicts TEXT NOT NULL DEFAULT '[]';
DELETE FROM samples WHERE series_id IN (SELECT id FROM series WHERE system = '');
DELETE FROM rollups_minute WHERE series_id IN (SELECT id FROM series WHERE system = '');
DELETE FROM rollups_hour WHERE series_id IN (SELECT id FROM series WHERE system = '');
DELETE FROM rollup_late WHERE series_id IN (SELECT id FROM series WHERE system = '');
DELETE FROM series WHERE system = '';
)sql",
      // 5: alert rules' states per subject, and the webhook outbox.
      R"sql(
CREATE TABLE alerts (
  rule        TEXT NOT NULL,
  subject     TEXT NOT NULL,
  condition   TEXT NOT NULL,
  system      TEXT NOT NULL DEFAULT '',
  agent       TEXT NOT NULL DEFAULT '',
  state       TEXT NOT NULL,
  value       REAL,
  since_ms    INTEGER NOT NULL,
  fired_ms    INTEGER NOT NULL DEFAULT 0,
  resolved_ms INTEGER NOT NULL DEFAULT 0,
  updated_ms  INTEGER NOT NULL,
  PRIMARY KEY (rule, subject)
) WITHOUT ROWID;
CREATE TABLE notifications (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  rule            TEXT NOT NULL,
  subject         TEXT NOT NULL,
  event           TEXT NOT NULL,
  url             TEXT NOT NULL,
  body            TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending',
  created_ms      INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  delivered_ms    INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notifications_pending ON notifications (status, next_attempt_ms, id);
)sql",
      // 6: a learner's team (psoctl scenarios grade --team), for team progress;
      // '' for a learner in no team.
      R"sql(
ALTER TABLE learners ADD COLUMN team TEXT NOT NULL DEFAULT '';
CREATE INDEX learners_by_team ON learners (team, id);
)sql",
      // 7: a scenario's event and system rows found by scenario: replacing
      // them on every outcome backfill, and deleting them with the scenario
      // (retention), read only that scenario's rows instead of the table.
      // IF NOT EXISTS: a database taken back to an earlier version by hand
      // keeps its indexes.
      R"sql(
CREATE INDEX IF NOT EXISTS scenario_events_by_scenario ON scenario_events (scenario_id);
CREATE INDEX IF NOT EXISTS scenario_systems_by_scenario ON scenario_systems (scenario_id);
)sql",
      // 8: samples in compressed chunks (sample_chunk.h), one row per series
      // and block of time, and the log of samples not in a chunk yet
      // (sample_log.h; AUTOINCREMENT: an id is never reused once the log is
      // emptied, so flushed_log_id stays meaningful). series.flushed_log_id:
      // every logged sample of the series up to that log row is in its
      // chunks. Rows left in the old samples table are moved into chunks
      // when the store opens (SqliteTelemetryStore::prepareSamples); the
      // empty table stays, as migrations 1-7 refer to it.
      R"sql(
CREATE TABLE sample_chunks (
  id        INTEGER PRIMARY KEY,
  series_id INTEGER NOT NULL,
  start_ms  INTEGER NOT NULL,
  end_ms    INTEGER NOT NULL,
  count     INTEGER NOT NULL,
  data      BLOB NOT NULL
);
CREATE INDEX sample_chunks_by_series ON sample_chunks (series_id, end_ms, start_ms);
CREATE TABLE sample_log (
  id   INTEGER PRIMARY KEY AUTOINCREMENT,
  data BLOB NOT NULL
);
ALTER TABLE series ADD COLUMN flushed_log_id INTEGER NOT NULL DEFAULT 0;
)sql",
      // 9: compaction (record_block.h): old cycles' decisions and old scenario
      // documents move into compressed blocks; a compacted row keeps its
      // indexed columns, an empty text and where its text is (block, position).
      // The partial indexes find the rows not compacted yet and the rows of a
      // block.
      R"sql(
CREATE TABLE cycle_blocks (
  id      INTEGER PRIMARY KEY,
  records INTEGER NOT NULL,
  body    BLOB NOT NULL
);
ALTER TABLE cycles ADD COLUMN block_id INTEGER;
ALTER TABLE cycles ADD COLUMN block_pos INTEGER NOT NULL DEFAULT 0;
CREATE INDEX cycles_by_block ON cycles (block_id) WHERE block_id IS NOT NULL;
CREATE INDEX cycles_loose_by_ts ON cycles (ts_ms, seq) WHERE block_id IS NULL;
CREATE TABLE scenario_blocks (
  id      INTEGER PRIMARY KEY,
  records INTEGER NOT NULL,
  body    BLOB NOT NULL
);
ALTER TABLE scenarios ADD COLUMN block_id INTEGER;
ALTER TABLE scenarios ADD COLUMN block_pos INTEGER NOT NULL DEFAULT 0;
CREATE INDEX scenarios_by_block ON scenarios (block_id) WHERE block_id IS NOT NULL;
CREATE INDEX scenarios_loose_by_ts ON scenarios (ts_ms, id) WHERE block_id IS NULL;
)sql",
      // 10: the engine's state by system (DecisionEngine::saveSystemState), so
      // a cycle saves a few systems' parts instead of the whole fleet's at once;
      // engine_state keeps the fleet-wide part. Operators' holds by their end,
      // so the cycle finds the fleet's in one statement.
      R"sql(
CREATE TABLE engine_system_states (
  system     TEXT PRIMARY KEY,
  state      BLOB NOT NULL,
  updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX directives_operator_holds ON directives (hold_until_ms) WHERE source = 'operator';
)sql",
  };
  return kMigrations;
}

}  // namespace pso::controller::store
