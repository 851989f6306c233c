#pragma once

// The directive aggregate of the controller's store: scale directives from
// the engine and from operators, their delivery and results, and the
// operator holds they carry.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/store/records.h"
#include "protocol/messages.h"

namespace pso::controller::store {

/// Directives through their lifecycle (pending -> sent -> a terminal status)
/// and the operator holds. Implementations are thread-safe.
class DirectiveStore {
 public:
  virtual ~DirectiveStore() = default;

  /// Inserts a new directive; an existing id is code "exists", an unknown
  /// status "invalid".
  [[nodiscard]] virtual Status insertDirective(const DirectiveRecord& directive) = 0;
  /// insertDirective for each, in one transaction (a cycle's directives for a
  /// whole fleet): one status per directive, in order; a refused directive
  /// does not keep the others out. An error only when the transaction failed,
  /// and then none is stored.
  [[nodiscard]] virtual Result<std::vector<Status>> insertDirectives(
      const std::vector<DirectiveRecord>& directives) = 0;
  /// Records the send time; the status moves pending -> sent (a result that
  /// already arrived is kept). Unknown id: code "not_found".
  [[nodiscard]] virtual Status markDirectiveSent(const std::string& id, int64_t sent_ms) = 0;
  /// Records an agent's result (status, replicas, message, time). Unknown id:
  /// "not_found"; a result from another agent than the directive's: "forbidden".
  /// An applied result with a replica count also updates the system's replicas.
  [[nodiscard]] virtual Status recordDirectiveResult(const protocol::DirectiveResult& result) = 0;
  /// Sets a status from the controller's side (e.g. expired, failed,
  /// not_dispatched); terminal statuses also set result_ms and the message.
  /// Unknown status: "invalid"; unknown id: "not_found".
  [[nodiscard]] virtual Status setDirectiveStatus(const std::string& id, const std::string& status,
                                                  const std::string& message, int64_t now_ms) = 0;
  [[nodiscard]] virtual Result<std::optional<DirectiveRecord>> directive(const std::string& id) = 0;
  /// Newest first; limit <= 0 = no limit; empty system = every system.
  [[nodiscard]] virtual Result<std::vector<DirectiveRecord>> directives(
      int64_t limit, const std::string& system = "") = 0;
  /// Directives with status pending (to dispatch, e.g. after a restart), oldest first.
  [[nodiscard]] virtual Result<std::vector<DirectiveRecord>> pendingDirectives() = 0;
  /// Directives still waiting for their agent: pending or sent (delivered
  /// but no result yet), oldest first. What expires at a deadline, and what
  /// is sent again when the agent reconnects.
  [[nodiscard]] virtual Result<std::vector<DirectiveRecord>> awaitingResult() = 0;
  /// Deletes the directives created before cutoff_ms (retention) except
  /// those still waiting for their agent (pending, sent) and holds still in
  /// force at now_ms; returns how many.
  [[nodiscard]] virtual Result<int64_t> pruneDirectives(int64_t cutoff_ms, int64_t now_ms) = 0;
  /// The operator hold in force for a system at now_ms, if any: the latest
  /// operator directive made at or before now_ms with hold_until_ms > now_ms
  /// that the agent did not refuse, that did not fail or expire, and that no
  /// later operator directive with action "release" for the same system,
  /// made at or before now_ms, ended. Times before a hold was made (a replay
  /// of a past window) see no hold.
  [[nodiscard]] virtual Result<std::optional<DirectiveRecord>> activeHold(const std::string& system,
                                                                          int64_t now_ms) = 0;
  /// activeHold for each of `systems` in one read; a system without a hold
  /// in force is absent.
  [[nodiscard]] virtual Result<std::map<std::string, DirectiveRecord>> activeHolds(
      const std::vector<std::string>& systems, int64_t now_ms) = 0;
};

}  // namespace pso::controller::store
