#include "controller/store/postgresql/pg_directive_store.h"

#include <set>
#include <string_view>

#include "controller/store/record_rules.h"

namespace pso::controller::store {
namespace {

const std::string kPgDirectiveColumns =
    "id, cycle_id, system, agent_id, action, replicas, reason, source, status, created_ms, "
    "sent_ms, result_ms, deadline_ms, hold_until_ms, result_message, result_replicas";

DirectiveRecord pgDirectiveAt(const PgRows& rows, int i) {
  DirectiveRecord d;
  d.id = rows.text(i, 0);
  d.cycle_id = rows.text(i, 1);
  d.system = rows.text(i, 2);
  d.agent_id = rows.text(i, 3);
  d.action = rows.text(i, 4);
  d.replicas = rows.int64(i, 5);
  d.reason = rows.text(i, 6);
  d.source = rows.text(i, 7);
  d.status = rows.text(i, 8);
  d.created_ms = rows.int64(i, 9);
  d.sent_ms = rows.int64(i, 10);
  d.result_ms = rows.int64(i, 11);
  d.deadline_ms = rows.int64(i, 12);
  d.hold_until_ms = rows.int64(i, 13);
  d.result_message = rows.text(i, 14);
  d.result_replicas = rows.int64(i, 15);
  return d;
}

}  // namespace

Status PgDirectiveStore::prepare() {
  const std::string select = "SELECT " + kPgDirectiveColumns + " FROM directives";
  std::lock_guard lock(context_.mutex());
  return context_.prepareAll({
      {"dir_prune",
       "DELETE FROM directives WHERE row_id IN (SELECT row_id FROM directives "
       "WHERE created_ms < $1 AND status NOT IN ('pending', 'sent') AND hold_until_ms <= $2 "
       "LIMIT $3)"},
      {"dir_insert", "INSERT INTO directives (" + kPgDirectiveColumns +
                         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
                         "$15, $16) ON CONFLICT (id) DO NOTHING"},
      {"dir_mark_sent",
       "UPDATE directives SET sent_ms = $2, "
       "status = CASE WHEN status = 'pending' THEN 'sent' ELSE status END WHERE id = $1"},
      {"dir_record_result",
       "UPDATE directives SET status = $2, result_replicas = $3, result_message = $4, "
       "result_ms = $5 WHERE id = $1"},
      {"dir_set_status",
       "UPDATE directives SET status = $2, "
       "result_message = CASE WHEN $3::text = '' THEN result_message ELSE $3::text END, "
       "result_ms = CASE WHEN $5::boolean THEN $4::bigint ELSE result_ms END WHERE id = $1"},
      {"dir_one", select + " WHERE id = $1"},
      {"dir_all", select + " ORDER BY created_ms DESC, row_id DESC LIMIT $1"},
      {"dir_for_system",
       select + " WHERE system = $2 ORDER BY created_ms DESC, row_id DESC LIMIT $1"},
      {"dir_pending", select + " WHERE status = 'pending' ORDER BY created_ms, row_id"},
      {"dir_awaiting", select + " WHERE status IN ('pending', 'sent') ORDER BY created_ms, row_id"},
      {"dir_active_hold", select +
                              " AS d WHERE d.system = $1 AND d.source = 'operator' "
                              "AND d.hold_until_ms > $2 AND " +
                              activeHoldCondition("$2", "row_id") +
                              " ORDER BY d.created_ms DESC, d.row_id DESC LIMIT 1"},
      // Every system's, for the cycle: one statement instead of one a system,
      // through the partial index of operator directives (migration 4).
      {"dir_active_holds", select +
                               " AS d WHERE d.source = 'operator' AND d.hold_until_ms > $1 AND " +
                               activeHoldCondition("$1", "row_id") +
                               " ORDER BY d.system, d.created_ms DESC, d.row_id DESC"},
  });
}

Status PgDirectiveStore::insertDirective(const DirectiveRecord& d) {
  std::lock_guard lock(context_.mutex());
  return insertLocked(d);
}

Result<std::vector<Status>> PgDirectiveStore::insertDirectives(
    const std::vector<DirectiveRecord>& directives) {
  std::lock_guard lock(context_.mutex());
  PgTransaction tx(context_);
  if (!tx.beginStatus().ok()) return tx.beginStatus().error();
  std::vector<Status> statuses;
  statuses.reserve(directives.size());
  for (const auto& d : directives) {
    Status st = insertLocked(d);
    // A refused directive (a known id, an unknown status) wrote nothing and
    // the transaction goes on; any other failure ended it.
    if (!st.ok() && st.error().code != "exists" && st.error().code != "invalid") return st.error();
    statuses.push_back(std::move(st));
  }
  if (auto st = tx.commit(); !st.ok()) return st.error();
  return statuses;
}

Status PgDirectiveStore::insertLocked(const DirectiveRecord& d) {
  if (!isKnownDirectiveStatus(d.status)) {
    return makeError("invalid", "directive '" + d.id + "': unknown status '" + d.status + "'");
  }
  auto inserted = context_.runLocked("dir_insert", PgParams()
                                                       .add(d.id)
                                                       .add(d.cycle_id)
                                                       .add(d.system)
                                                       .add(d.agent_id)
                                                       .add(d.action)
                                                       .add(d.replicas)
                                                       .add(d.reason)
                                                       .add(d.source)
                                                       .add(d.status)
                                                       .add(d.created_ms)
                                                       .add(d.sent_ms)
                                                       .add(d.result_ms)
                                                       .add(d.deadline_ms)
                                                       .add(d.hold_until_ms)
                                                       .add(d.result_message)
                                                       .add(d.result_replicas));
  if (!inserted.ok()) return inserted.error();
  if (inserted->affected() == 0) {
    return makeError("exists", "directive '" + d.id + "' already exists");
  }
  return Status();
}

Status PgDirectiveStore::markDirectiveSent(const std::string& id, int64_t sent_ms) {
  std::lock_guard lock(context_.mutex());
  return pgChangedOne(context_.runLocked("dir_mark_sent", PgParams().add(id).add(sent_ms)),
                      "unknown directive '" + id + "'");
}

Status PgDirectiveStore::recordDirectiveResult(const protocol::DirectiveResult& result) {
  std::lock_guard lock(context_.mutex());
  if (!isKnownDirectiveStatus(result.status) || !isTerminalDirectiveStatus(result.status)) {
    return makeError("invalid", "result for directive '" + result.directive_id +
                                    "': unknown status '" + result.status + "'");
  }
  auto existing = pgFirstRow<DirectiveRecord>(
      context_.runLocked("dir_one", PgParams().add(result.directive_id)), pgDirectiveAt);
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

  PgTransaction tx(context_);
  if (!tx.beginStatus().ok()) return tx.beginStatus();
  if (auto st = pgDone(context_.runLocked("dir_record_result", PgParams()
                                                                   .add(result.directive_id)
                                                                   .add(result.status)
                                                                   .add(result.replicas)
                                                                   .add(result.message)
                                                                   .add(result.ts_ms)));
      !st.ok()) {
    return st;
  }
  if (result.status == "applied" && result.replicas >= 0) {
    if (auto st = fleet_.updateReplicasLocked(sent.system, result.replicas, result.ts_ms);
        !st.ok()) {
      return st;
    }
  }
  return tx.commit();
}

Status PgDirectiveStore::setDirectiveStatus(const std::string& id, const std::string& status,
                                            const std::string& message, int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  if (!isKnownDirectiveStatus(status)) {
    return makeError("invalid", "directive '" + id + "': unknown status '" + status + "'");
  }
  return pgChangedOne(
      context_.runLocked("dir_set_status",
                         PgParams().add(id).add(status).add(message).add(now_ms).add(
                             isTerminalDirectiveStatus(status))),
      "unknown directive '" + id + "'");
}

Result<std::optional<DirectiveRecord>> PgDirectiveStore::directive(const std::string& id) {
  std::lock_guard lock(context_.mutex());
  return pgFirstRow<DirectiveRecord>(context_.runLocked("dir_one", PgParams().add(id)),
                                     pgDirectiveAt);
}

Result<std::vector<DirectiveRecord>> PgDirectiveStore::directives(int64_t limit,
                                                                  const std::string& system) {
  std::lock_guard lock(context_.mutex());
  PgParams params;
  params.addLimit(limit);
  if (!system.empty()) params.add(system);
  return pgAllRows<DirectiveRecord>(
      context_.runLocked(system.empty() ? "dir_all" : "dir_for_system", params), pgDirectiveAt);
}

Result<std::vector<DirectiveRecord>> PgDirectiveStore::pendingDirectives() {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<DirectiveRecord>(context_.runLocked("dir_pending"), pgDirectiveAt);
}

Result<std::vector<DirectiveRecord>> PgDirectiveStore::awaitingResult() {
  std::lock_guard lock(context_.mutex());
  return pgAllRows<DirectiveRecord>(context_.runLocked("dir_awaiting"), pgDirectiveAt);
}

Result<std::optional<DirectiveRecord>> PgDirectiveStore::activeHold(const std::string& system,
                                                                    int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  return pgFirstRow<DirectiveRecord>(
      context_.runLocked("dir_active_hold", PgParams().add(system).add(now_ms)), pgDirectiveAt);
}

Result<std::map<std::string, DirectiveRecord>> PgDirectiveStore::activeHolds(
    const std::vector<std::string>& systems, int64_t now_ms) {
  std::lock_guard lock(context_.mutex());
  auto rows = pgAllRows<DirectiveRecord>(
      context_.runLocked("dir_active_holds", PgParams().add(now_ms)), pgDirectiveAt);
  if (!rows.ok()) return rows.error();
  const std::set<std::string_view> wanted(systems.begin(), systems.end());
  std::map<std::string, DirectiveRecord> holds;
  // Newest first within each system: the first row of a system is its hold.
  for (auto& hold : *rows) {
    if (wanted.count(hold.system) == 0 || holds.count(hold.system) > 0) continue;
    std::string system = hold.system;
    holds.emplace(std::move(system), std::move(hold));
  }
  return holds;
}

Result<int64_t> PgDirectiveStore::pruneDirectives(int64_t cutoff_ms, int64_t now_ms) {
  return context_.deleteInBatches(
      "dir_prune", PgParams().add(cutoff_ms).add(now_ms).add(PgContext::kPruneBatchRows));
}

}  // namespace pso::controller::store
