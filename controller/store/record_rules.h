#pragma once

// The rules of the store's records that do not depend on a backend: which
// statuses exist, how a record's lists are written into one column and read
// back, and the checks a call makes before it touches the database. Every
// backend (sqlite/, postgresql/) uses these, so both refuse and encode the
// same things the same way.

#include <string>
#include <vector>

#include "common/result.h"
#include "controller/store/records.h"
#include "protocol/messages.h"

namespace pso::controller::store {

/// pending, sent, applied, refused, failed, dry_run, expired, not_dispatched.
bool isKnownDirectiveStatus(const std::string& status);
/// A status after which nothing more happens to a directive (not pending or sent).
bool isTerminalDirectiveStatus(const std::string& status);
/// pending, delivered, failed.
bool isKnownNotificationStatus(const std::string& status);

/// JSON text of a value, invalid UTF-8 replaced (never throws).
std::string hostFactsJson(const protocol::Hello& hello);
/// A JSON array of strings, and back (anything else in the text is skipped).
std::string stringArrayJson(const std::vector<std::string>& items);
std::vector<std::string> parseStringArrayJson(const std::string& text);
/// An agent's conflicts as a JSON array of {"system", "owner"}, and back.
std::string conflictsJson(const std::vector<SystemConflict>& conflicts);
std::vector<SystemConflict> parseConflictsJson(const std::string& text);

/// The SQL condition (both backends' dialect) under which the operator
/// directive aliased `d` is a hold in force at the statement parameter `now`
/// ("?2", "$1"), given the column that orders rows inserted in the same
/// millisecond (`order_column`: "rowid", "row_id"). A refused, failed or
/// expired directive never took effect, so it holds nothing; an operator's
/// release ends every hold of the system made before it (a later hold is in
/// force again); a hold or a release made after `now` is not in force yet (a
/// replay of a past window asks about times before both). The caller adds
/// `d.source = 'operator' AND d.hold_until_ms > now`.
std::string activeHoldCondition(const std::string& now, const std::string& order_column);

/// A scenario's events or systems in one column: comma-joined with a leading
/// and trailing comma, so `LIKE '%,x,%'` matches exactly one item; and back.
std::string joinScenarioList(const std::vector<std::string>& items);
std::vector<std::string> splitScenarioList(const std::string& text);

/// ScenarioStore::recordAttempts' checks: a non-empty learner id that every
/// attempt carries; code "invalid" otherwise.
[[nodiscard]] Status checkAttempts(const std::string& learner_id,
                                   const std::vector<AttemptRecord>& attempts);

/// TelemetryStore::importSamples' name checks (protocol/names.h); code
/// "invalid" naming the name that breaks them.
[[nodiscard]] Status checkImportNames(const std::string& system, const std::string& metric);

/// The buckets one series' rollup recomputation covers: minute rows over
/// [minute_from, minute_to) from the samples, hour rows over [hour_from,
/// hour_to) from the minute rows. Empty ranges (from >= to) write nothing.
struct RollupRanges {
  int64_t minute_from = 0;
  int64_t minute_to = 0;
  int64_t hour_from = 0;
  int64_t hour_to = 0;
};

/// The recomputation of a series marked late from `late_from_ms`, up to the
/// pass's mark: never before the retention marks (the inputs are gone there).
RollupRanges lateRollupRanges(int64_t late_from_ms, int64_t rolled_until_ms,
                              int64_t samples_pruned_before, int64_t minutes_pruned_before);
/// What importSamples rolls up at once for samples in [oldest, newest]: the
/// buckets before the retention marks, which no later pass recomputes.
RollupRanges importRollupRanges(int64_t oldest_ms, int64_t newest_ms, int64_t samples_pruned_before,
                                int64_t minutes_pruned_before);

/// a + b, held at the int64 limits instead of overflowing.
int64_t saturatingAdd(int64_t a, int64_t b);

}  // namespace pso::controller::store
