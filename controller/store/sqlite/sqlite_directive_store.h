#pragma once

// The directive aggregate on SQLite. Table: directives.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "controller/store/directive_store.h"
#include "controller/store/sqlite/sqlite_context.h"
#include "controller/store/sqlite/sqlite_fleet_store.h"

namespace pso::controller::store {

/// DirectiveStore over the shared SQLite connection. An applied result moves
/// the system's replica count through the fleet aggregate, in the same
/// transaction as the result.
class SqliteDirectiveStore : public virtual DirectiveStore {
 public:
  SqliteDirectiveStore(SqliteContext& context, SqliteFleetStore& fleet)
      : context_(context), fleet_(fleet) {}

  /// Prepares the statements; called once before any other method.
  [[nodiscard]] Status prepare();

  Status insertDirective(const DirectiveRecord& directive) override;
  Result<std::vector<Status>> insertDirectives(
      const std::vector<DirectiveRecord>& directives) override;
  Status markDirectiveSent(const std::string& id, int64_t sent_ms) override;
  Status recordDirectiveResult(const protocol::DirectiveResult& result) override;
  Status setDirectiveStatus(const std::string& id, const std::string& status,
                            const std::string& message, int64_t now_ms) override;
  Result<std::optional<DirectiveRecord>> directive(const std::string& id) override;
  Result<std::vector<DirectiveRecord>> directives(int64_t limit,
                                                  const std::string& system) override;
  Result<std::vector<DirectiveRecord>> pendingDirectives() override;
  Result<std::vector<DirectiveRecord>> awaitingResult() override;
  Result<std::map<std::string, DirectiveRecord>> activeHolds(
      const std::vector<std::string>& systems, int64_t now_ms) override;
  Result<std::optional<DirectiveRecord>> activeHold(const std::string& system,
                                                    int64_t now_ms) override;
  Result<int64_t> pruneDirectives(int64_t cutoff_ms, int64_t now_ms) override;

 private:
  Status insertLocked(const DirectiveRecord& directive);

  SqliteContext& context_;
  SqliteFleetStore& fleet_;
  common::Statement insert_;
  common::Statement mark_sent_;
  common::Statement record_result_;
  common::Statement set_status_;
  common::Statement select_one_;
  common::Statement select_all_;
  common::Statement select_for_system_;
  common::Statement select_pending_;
  common::Statement select_awaiting_;
  common::Statement select_active_hold_;
  common::Statement select_active_holds_;
  common::Statement prune_;
};

}  // namespace pso::controller::store
