#include "controller/store/record_rules.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "protocol/names.h"

namespace pso::controller::store {
namespace {

std::string dumpRecordJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

bool isKnownDirectiveStatus(const std::string& status) {
  static const std::set<std::string> kStatuses = {
      "pending", "sent", "applied", "refused", "failed", "dry_run", "expired", "not_dispatched"};
  return kStatuses.count(status) > 0;
}

bool isTerminalDirectiveStatus(const std::string& status) {
  return status != "pending" && status != "sent";
}

bool isKnownNotificationStatus(const std::string& status) {
  return status == "pending" || status == "delivered" || status == "failed";
}

std::string hostFactsJson(const protocol::Hello& hello) {
  nlohmann::json facts = nlohmann::json::object();
  for (const auto& [key, value] : hello.host_facts) facts[key] = value;
  return dumpRecordJson(facts);
}

std::string stringArrayJson(const std::vector<std::string>& items) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& item : items) list.push_back(item);
  return dumpRecordJson(list);
}

std::vector<std::string> parseStringArrayJson(const std::string& text) {
  std::vector<std::string> items;
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (!parsed.is_array()) return items;
  for (const auto& item : parsed) {
    if (item.is_string()) items.push_back(item.get<std::string>());
  }
  return items;
}

std::string conflictsJson(const std::vector<SystemConflict>& conflicts) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : conflicts) list.push_back({{"system", c.system}, {"owner", c.owner}});
  return dumpRecordJson(list);
}

std::vector<SystemConflict> parseConflictsJson(const std::string& text) {
  std::vector<SystemConflict> conflicts;
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (!parsed.is_array()) return conflicts;
  for (const auto& item : parsed) {
    if (!item.is_object()) continue;
    auto system = item.find("system");
    auto owner = item.find("owner");
    if (system == item.end() || owner == item.end() || !system->is_string() ||
        !owner->is_string()) {
      continue;
    }
    conflicts.push_back({system->get<std::string>(), owner->get<std::string>()});
  }
  return conflicts;
}

std::string joinScenarioList(const std::vector<std::string>& items) {
  std::string out = ",";
  for (const auto& item : items) {
    out += item;
    out += ',';
  }
  return out;
}

std::vector<std::string> splitScenarioList(const std::string& text) {
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

Status checkAttempts(const std::string& learner_id, const std::vector<AttemptRecord>& attempts) {
  if (learner_id.empty()) return makeError("invalid", "a learner id must not be empty");
  for (const auto& a : attempts) {
    if (a.learner_id != learner_id) {
      return makeError("invalid", "attempt for question '" + a.question_id +
                                      "' belongs to learner '" + a.learner_id + "', not '" +
                                      learner_id + "'");
    }
  }
  return Status();
}

Status checkImportNames(const std::string& system, const std::string& metric) {
  if (auto problem = protocol::nameProblem(system, protocol::NameKind::kSystem); !problem.empty()) {
    return makeError("invalid", "system name '" + system + "': " + problem);
  }
  if (auto problem = protocol::nameProblem(metric, protocol::NameKind::kMetric); !problem.empty()) {
    return makeError("invalid", "metric name '" + metric + "': " + problem);
  }
  return Status();
}

RollupRanges lateRollupRanges(int64_t late_from_ms, int64_t rolled_until_ms,
                              int64_t samples_pruned_before, int64_t minutes_pruned_before) {
  RollupRanges r;
  r.minute_from = std::max(floorToBucket(late_from_ms, kMinuteMs),
                           ceilToBucket(samples_pruned_before, kMinuteMs));
  r.minute_to = rolled_until_ms;
  r.hour_from =
      std::max(floorToBucket(late_from_ms, kHourMs), ceilToBucket(minutes_pruned_before, kHourMs));
  r.hour_to = floorToBucket(rolled_until_ms, kHourMs);
  return r;
}

RollupRanges importRollupRanges(int64_t oldest_ms, int64_t newest_ms, int64_t samples_pruned_before,
                                int64_t minutes_pruned_before) {
  RollupRanges r;
  r.minute_from = floorToBucket(oldest_ms, kMinuteMs);
  r.minute_to = std::min(ceilToBucket(samples_pruned_before, kMinuteMs),
                         ceilToBucket(saturatingAdd(newest_ms, 1), kMinuteMs));
  r.hour_from = floorToBucket(oldest_ms, kHourMs);
  r.hour_to = std::min(ceilToBucket(minutes_pruned_before, kHourMs),
                       ceilToBucket(saturatingAdd(newest_ms, 1), kHourMs));
  return r;
}

int64_t saturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return sum;
}

std::string activeHoldCondition(const std::string& now, const std::string& order_column) {
  return "d.action <> 'release' AND d.created_ms <= " + now +
         " AND d.status NOT IN ('refused', 'failed', 'expired') "
         "AND NOT EXISTS (SELECT 1 FROM directives AS r WHERE r.system = d.system "
         "AND r.source = 'operator' AND r.action = 'release' AND r.created_ms <= " +
         now + " AND (r.created_ms > d.created_ms OR (r.created_ms = d.created_ms AND r." +
         order_column + " > d." + order_column + ")))";
}

}  // namespace pso::controller::store
