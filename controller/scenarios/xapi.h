#pragma once

// xAPI (Experience API 1.0.3) statements for graded scenario attempts, for a
// learning record store: "answered" per question, "passed" or "failed" per
// scenario. The learner is an account (homePage + name), never an email.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "controller/scenarios/grading.h"

namespace pso::controller::scenarios {

inline constexpr const char* kXapiVersion = "1.0.3";
inline constexpr const char* kVerbAnswered = "http://adlnet.gov/expapi/verbs/answered";
inline constexpr const char* kVerbPassed = "http://adlnet.gov/expapi/verbs/passed";
inline constexpr const char* kVerbFailed = "http://adlnet.gov/expapi/verbs/failed";

struct XapiContext {
  std::string learner;  ///< the account name
  /// The system the account belongs to, e.g. the LMS's address (an IRL).
  std::string account_homepage = "https://lms.example.org";
  /// Prefix of activity ids: <base>/scenarios/<id>, <base>/scenarios/<id>/questions/<qid>.
  std::string activity_base = "https://pso-prime.example.org/xapi";
  int64_t timestamp_ms = 0;
};

/// A learner id fit for an xAPI account: not empty, no '@' (an email would
/// identify a person outside the LMS), no control characters, at most 255
/// bytes. Error code "invalid" says which rule failed.
[[nodiscard]] Status validateLearnerId(const std::string& learner);

/// Text made safe as one path step of an activity id (an IRI): anything
/// but unreserved characters percent-encoded.
std::string xapiIriSegment(const std::string& text);

/// The language tag of every text the xAPI statements and the cmi5 course
/// structure carry.
inline constexpr const char* kXapiLanguage = "en-US";

/// An activity id prefix without trailing slashes, so "<base>/" + path
/// never doubles one.
std::string activityBase(std::string base);

/// A random (version 4) UUID, for statement ids.
std::string newStatementId();

/// The xAPI activities of one scenario document: the scenario as an
/// assessment and each question as a cmi.interaction (numeric, choice or
/// fill-in, with its correct response pattern), under the same ids
/// buildStatements() uses, so an LMS or LRS can know the course's activities
/// before anyone answers.
nlohmann::json buildActivities(const nlohmann::json& scenario, const XapiContext& context);

/// The statements of a graded report: one "answered" per answered question
/// (as a cmi.interaction: numeric, choice or fill-in, with the correct
/// response pattern and the learner's response), then one "passed" or
/// "failed" per scenario with its scaled score. `scenarios` gives the
/// documents by id (for names and choices).
nlohmann::json buildStatements(const GradeReport& report,
                               const std::map<std::string, nlohmann::json>& scenarios,
                               const XapiContext& context);

}  // namespace pso::controller::scenarios
