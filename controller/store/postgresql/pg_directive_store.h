#pragma once

// The directive aggregate on PostgreSQL. Table: directives.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/store/directive_store.h"
#include "controller/store/postgresql/pg_context.h"
#include "controller/store/postgresql/pg_fleet_store.h"

namespace pso::controller::store {

/// DirectiveStore over the shared PostgreSQL connection. An applied result
/// moves the system's replica count through the fleet aggregate, in the same
/// transaction as the result. Insertion order (for ties of created_ms) is the
/// table's identity column row_id.
class PgDirectiveStore : public virtual DirectiveStore {
 public:
  PgDirectiveStore(PgContext& context, PgFleetStore& fleet) : context_(context), fleet_(fleet) {}

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
  Result<int64_t> pruneDirectives(int64_t cutoff_ms, int64_t now_ms) override;
  Result<std::optional<DirectiveRecord>> activeHold(const std::string& system,
                                                    int64_t now_ms) override;
  Result<std::map<std::string, DirectiveRecord>> activeHolds(
      const std::vector<std::string>& systems, int64_t now_ms) override;

 private:
  /// Inserts one directive; a known id is "exists" and leaves the
  /// transaction usable (ON CONFLICT DO NOTHING, not a failed statement).
  Status insertLocked(const DirectiveRecord& directive);

  PgContext& context_;
  PgFleetStore& fleet_;
};

}  // namespace pso::controller::store
