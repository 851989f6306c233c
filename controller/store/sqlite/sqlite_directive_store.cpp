#include "controller/store/sqlite/sqlite_directive_store.h"

#include <set>
#include <string_view>

#include "controller/store/record_rules.h"

namespace pso::controller::store {

namespace {

using common::ScopedStatement;
using common::Statement;

const std::string kDirectiveColumns =
    "id, cycle_id, system, agent_id, action, replicas, reason, source, status, created_ms, "
    "sent_ms, result_ms, deadline_ms, hold_until_ms, result_message, result_replicas";

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

// Runs an UPDATE of one directive by id; no row changed is "not_found".
Status updateOne(Statement& update, const std::string& id) {
  auto changed = update.runCountingChanges();
  if (!changed.ok()) return changed.error();
  if (*changed == 0) return makeError("not_found", "unknown directive '" + id + "'");
  return Status();
}

}  // namespace

Status SqliteDirectiveStore::prepare() {
  const std::string select = "SELECT " + kDirectiveColumns + " FROM directives";
  return context_.db().prepareAll({
      {&prune_,
       "DELETE FROM directives WHERE rowid IN (SELECT rowid FROM directives WHERE created_ms < ?1 "
       "AND status NOT IN ('pending', 'sent') AND hold_until_ms <= ?2 LIMIT ?3)"},
      {&insert_, "INSERT INTO directives (" + kDirectiveColumns +
                     ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                     "?16)"},
      {&mark_sent_,
       "UPDATE directives SET sent_ms = ?2, "
       "status = CASE WHEN status = 'pending' THEN 'sent' ELSE status END WHERE id = ?1"},
      {&record_result_,
       "UPDATE directives SET status = ?2, result_replicas = ?3, result_message = ?4, "
       "result_ms = ?5 WHERE id = ?1"},
      {&set_status_,
       "UPDATE directives SET status = ?2, "
       "result_message = CASE WHEN ?3 = '' THEN result_message ELSE ?3 END, "
       "result_ms = CASE WHEN ?5 THEN ?4 ELSE result_ms END WHERE id = ?1"},
      {&select_one_, select + " WHERE id = ?1"},
      {&select_all_, select + " ORDER BY created_ms DESC, rowid DESC LIMIT ?1"},
      {&select_for_system_,
       select + " WHERE system = ?2 ORDER BY created_ms DESC, rowid DESC LIMIT ?1"},
      {&select_pending_, select + " WHERE status = 'pending' ORDER BY created_ms, rowid"},
      {&select_awaiting_,
       select + " WHERE status IN ('pending', 'sent') ORDER BY created_ms, rowid"},
      {&select_active_hold_,
       select +
           " AS d WHERE d.system = ?1 AND d.source = 'operator' AND d.hold_until_ms > ?2 AND " +
           activeHoldCondition("?2", "rowid") +
           " ORDER BY d.created_ms DESC, d.rowid DESC LIMIT 1"},
      // Every system's, for the cycle: one statement instead of one a system
      // (65 ms at 10,000 systems), through the partial index of operator
      // directives by hold_until_ms (migration 10).
      {&select_active_holds_,
       select + " AS d WHERE d.source = 'operator' AND d.hold_until_ms > ?1 AND " +
           activeHoldCondition("?1", "rowid") +
           " ORDER BY d.system, d.created_ms DESC, d.rowid DESC"},
  });
}

Status SqliteDirectiveStore::insertDirective(const DirectiveRecord& d) {
  std::lock_guard lock(context_.mutex());
  return insertLocked(d);
}

Result<std::vector<Status>> SqliteDirectiveStore::insertDirectives(
    const std::vector<DirectiveRecord>& directives) {
  std::lock_guard lock(context_.mutex());
  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  std::vector<Status> statuses;
  statuses.reserve(directives.size());
  for (const auto& d : directives) {
    Status st = insertLocked(d);
    // A refused directive (a known id, an unknown status) is undone by itself
    // and the transaction goes on; any other failure (a full disk) may have
    // ended the transaction, so nothing is kept.
    if (!st.ok() && st.error().code != "exists" && st.error().code != "invalid") return st.error();
    statuses.push_back(std::move(st));
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return statuses;
}

Status SqliteDirectiveStore::insertLocked(const DirectiveRecord& d) {
  if (!isKnownDirectiveStatus(d.status)) {
    return makeError("invalid", "directive '" + d.id + "': unknown status '" + d.status + "'");
  }
  ScopedStatement s(insert_);
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

Status SqliteDirectiveStore::markDirectiveSent(const std::string& id, int64_t sent_ms) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(mark_sent_);
  s->bind(1, id).bind(2, sent_ms);
  return updateOne(*s, id);
}

Status SqliteDirectiveStore::recordDirectiveResult(const protocol::DirectiveResult& result) {
  std::lock_guard lock(context_.mutex());
  if (!isKnownDirectiveStatus(result.status) || !isTerminalDirectiveStatus(result.status)) {
    return makeError("invalid", "result for directive '" + result.directive_id +
                                    "': unknown status '" + result.status + "'");
  }
  auto existing = [&] {
    ScopedStatement s(select_one_);
    s->bind(1, result.directive_id);
    return common::firstRow<DirectiveRecord>(*s, readDirective);
  }();
  if (!existing.ok()) return existing.error();
  if (!existing->has_value()) {
    return makeError("not_found", "result for unknown directive '" + result.directive_id + "'");
  }
  const DirectiveRecord& sent = **existing;
  if (!sent.agent_id.empty() && sent.agent_id != result.agent_id) {
    return makeError("forbidden", "agent '" + result.agent_id +
                                      "' reported a result for directive '" + result.directive_id +
                                      "' sent to agent '" + sent.agent_id + "'");
  }

  common::Transaction tx(context_.db());
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  {
    ScopedStatement s(record_result_);
    s->bind(1, result.directive_id)
        .bind(2, result.status)
        .bind(3, result.replicas)
        .bind(4, result.message)
        .bind(5, result.ts_ms);
    if (auto st = s->run(); !st.ok()) return st;
  }
  if (result.status == "applied" && result.replicas >= 0) {
    if (auto st = fleet_.updateReplicasLocked(sent.system, result.replicas, result.ts_ms);
        !st.ok()) {
      return st;
    }
  }
  return tx.commit();
}

Status SqliteDirectiveStore::setDirectiveStatus(const std::string& id, const std::string& status,
                                                const std::string& message, int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  if (!isKnownDirectiveStatus(status)) {
    return makeError("invalid", "directive '" + id + "': unknown status '" + status + "'");
  }
  ScopedStatement s(set_status_);
  s->bind(1, id)
      .bind(2, status)
      .bind(3, message)
      .bind(4, now_ms)
      .bind(5, isTerminalDirectiveStatus(status));
  return updateOne(*s, id);
}

Result<std::optional<DirectiveRecord>> SqliteDirectiveStore::directive(const std::string& id) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_one_);
  s->bind(1, id);
  return common::firstRow<DirectiveRecord>(*s, readDirective);
}

Result<std::vector<DirectiveRecord>> SqliteDirectiveStore::directives(int64_t limit,
                                                                      const std::string& system) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(system.empty() ? select_all_ : select_for_system_);
  s->bind(1, common::sqlLimit(limit));
  if (!system.empty()) s->bind(2, system);
  return common::collectRows<DirectiveRecord>(*s, readDirective);
}

Result<std::vector<DirectiveRecord>> SqliteDirectiveStore::pendingDirectives() {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_pending_);
  return common::collectRows<DirectiveRecord>(*s, readDirective);
}

Result<std::vector<DirectiveRecord>> SqliteDirectiveStore::awaitingResult() {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_awaiting_);
  return common::collectRows<DirectiveRecord>(*s, readDirective);
}

Result<std::optional<DirectiveRecord>> SqliteDirectiveStore::activeHold(const std::string& system,
                                                                        int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  ScopedStatement s(select_active_hold_);
  s->bind(1, system).bind(2, now_ms);
  return common::firstRow<DirectiveRecord>(*s, readDirective);
}

Result<std::map<std::string, DirectiveRecord>> SqliteDirectiveStore::activeHolds(
    const std::vector<std::string>& systems, int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  const std::set<std::string_view> wanted(systems.begin(), systems.end());
  std::map<std::string, DirectiveRecord> holds;
  ScopedStatement s(select_active_holds_);
  s->bind(1, now_ms);
  // Newest first within each system: the first row of a system is its hold.
  Status st = common::forEachRow(*s, [&](const Statement& row) {
    DirectiveRecord hold = readDirective(row);
    if (wanted.count(hold.system) == 0 || holds.count(hold.system) > 0) return;
    std::string system = hold.system;
    holds.emplace(std::move(system), std::move(hold));
  });
  if (!st.ok()) return st.error();
  return holds;
}

Result<int64_t> SqliteDirectiveStore::pruneDirectives(int64_t cutoff_ms, int64_t now_ms) {
  return context_.deleteInBatches({&prune_}, [&](Statement& s) {
    s.bind(1, cutoff_ms).bind(2, now_ms).bind(3, SqliteContext::kPruneBatchRows);
  });
}

}  // namespace pso::controller::store
