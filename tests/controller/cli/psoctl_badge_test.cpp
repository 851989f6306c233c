// Progress and badges with the real psoctl: progress of a learner and a team
// from attempts stored in a real SQLite database (figures worked out by hand
// below), grade --team --at from a recorded replay, badges issued for a
// mastered level and refused for an unmastered one, verified offline, and
// refused once any byte of what they state or of their proof changes.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controller/store/store.h"
#include "tests/support/process.h"

namespace pso::testing {
namespace {

using nlohmann::json;
namespace store = controller::store;

// 2026-12-01T00:00:00Z: the tests' days are counted from it.
constexpr int64_t kDay1 = 1'796'083'200'000LL;
constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kHourMs = 3'600'000;

CommandOutput psoctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{PSOCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, {}, std::chrono::seconds(120));
}

store::AttemptRecord attempt(const std::string& learner, const std::string& question,
                             const std::string& level, bool correct, int64_t ts_ms) {
  store::AttemptRecord a;
  a.learner_id = learner;
  a.scenario_id = question.substr(0, question.rfind("-q"));
  a.question_id = question;
  a.level = level;
  a.correct = correct;
  a.score = correct ? 1.0 : 0.0;
  a.ts_ms = ts_ms;
  return a;
}

// lrn-1, day 1 10:00: foundation q1 wrong, q2 right, q3 right (2/3);
//        day 1 23:00: advanced_optimization q1 wrong (0/1);
//        day 3 09:00: foundation q1 right (3/3), advanced q1 right, q2 wrong (1/2).
// lrn-2, day 2 01:00: foundation q1 right, q2 wrong (1/2);
//        day 3 20:00: foundation q2 right (2/2).
// lrn-3: in the team, one attempt at foundation on day 3, wrong (0/1).
void storeAttempts(const std::string& path) {
  auto opened = store::Store::open(path);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  store::Store& db = **opened;
  const int64_t d1 = kDay1 + 10 * kHourMs, d1_late = kDay1 + 23 * kHourMs;
  const int64_t d2 = kDay1 + kDayMs + kHourMs;
  const int64_t d3 = kDay1 + 2 * kDayMs + 9 * kHourMs, d3_late = kDay1 + 2 * kDayMs + 20 * kHourMs;
  const std::string f = "foundation", a = "advanced_optimization";
  ASSERT_TRUE(db.recordAttempts("lrn-1",
                                {attempt("lrn-1", "s-1-q1", f, false, d1),
                                 attempt("lrn-1", "s-1-q2", f, true, d1),
                                 attempt("lrn-1", "s-2-q1", f, true, d1)},
                                d1)
                  .ok());
  ASSERT_TRUE(
      db.recordAttempts("lrn-1", {attempt("lrn-1", "s-9-q1", a, false, d1_late)}, d1_late).ok());
  ASSERT_TRUE(
      db.recordAttempts(
            "lrn-2",
            {attempt("lrn-2", "s-1-q1", f, true, d2), attempt("lrn-2", "s-1-q2", f, false, d2)}, d2)
          .ok());
  ASSERT_TRUE(db.recordAttempts("lrn-1",
                                {attempt("lrn-1", "s-1-q1", f, true, d3),
                                 attempt("lrn-1", "s-9-q1", a, true, d3),
                                 attempt("lrn-1", "s-9-q2", a, false, d3)},
                                d3)
                  .ok());
  ASSERT_TRUE(db.recordAttempts("lrn-3", {attempt("lrn-3", "s-1-q1", f, false, d3)}, d3).ok());
  ASSERT_TRUE(
      db.recordAttempts("lrn-2", {attempt("lrn-2", "s-1-q2", f, true, d3_late)}, d3_late).ok());
  for (const char* learner : {"lrn-1", "lrn-2", "lrn-3"}) {
    ASSERT_TRUE(db.setLearnerTeam(learner, "ops").ok());
  }
}

class PsoctlBadgeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(storeAttempts(db())); }
  std::string db() const { return dir_.file("controller.db"); }
  std::string file(const std::string& name) const { return dir_.file(name); }

  /// A key made by psoctl badge-keygen; returns its did:key.
  std::string makeKey(const std::string& name) {
    auto made = psoctl({"-o", "json", "badge-keygen", "--out", file(name)});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    return json::parse(made.out)["issuer"].get<std::string>();
  }

  CommandOutput issue(const std::string& learner, const std::string& level, const std::string& out,
                      const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"scenarios",     "badge",
                                  "--db",          db(),
                                  "--learner",     learner,
                                  "--level",       level,
                                  "--key",         file("issuer.pem"),
                                  "--issuer-name", "PSO-PRIME Academy",
                                  "--issued-at",   "2026-12-03T15:00:00Z",
                                  "--out",         file(out)};
    args.insert(args.end(), extra.begin(), extra.end());
    return psoctl(args);
  }

  TempDir dir_;
};

TEST_F(PsoctlBadgeTest, LearnerProgressMatchesTheStoredAttempts) {
  auto r = psoctl({"-o", "json", "scenarios", "progress", "--db", db(), "--learner", "lrn-1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json p = json::parse(r.out);
  EXPECT_EQ(p["learner"], "lrn-1");
  EXPECT_EQ(p["team"], "ops");
  EXPECT_DOUBLE_EQ(p["threshold"].get<double>(), 0.7);
  ASSERT_EQ(p["levels"].size(), 2u);
  // foundation: 3 questions, all right at their latest attempt.
  EXPECT_EQ(p["levels"][0], json::parse(R"({"level":"foundation","questions":3,"correct":3,
                                             "score":1.0,"mastered":true})"));
  // advanced_optimization: 2 questions, 1 right.
  EXPECT_EQ(p["levels"][1], json::parse(R"({"level":"advanced_optimization","questions":2,
                                             "correct":1,"score":0.5,"mastered":false})"));
  // Days 1 and 3 had attempts of lrn-1.
  ASSERT_EQ(p["history"].size(), 2u);
  EXPECT_EQ(p["history"][0]["date"], "2026-12-01");
  EXPECT_EQ(p["history"][0]["levels"][0]["correct"], 2);
  EXPECT_NEAR(p["history"][0]["levels"][0]["score"].get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_EQ(p["history"][0]["levels"][0]["mastered"], false);
  EXPECT_EQ(p["history"][0]["levels"][1]["score"], 0.0);
  EXPECT_EQ(p["history"][1]["date"], "2026-12-03");
  EXPECT_EQ(p["history"][1]["levels"][0]["mastered"], true);
  EXPECT_EQ(p["history"][1]["levels"][1]["score"], 0.5);

  // At 0.6, 2 of 3 already masters foundation on day 1.
  auto lenient = psoctl({"-o", "json", "scenarios", "progress", "--db", db(), "--learner", "lrn-1",
                         "--threshold", "0.6"});
  ASSERT_EQ(lenient.exit_code, 0) << lenient.err;
  EXPECT_EQ(json::parse(lenient.out)["history"][0]["levels"][0]["mastered"], true);

  auto table = psoctl({"scenarios", "progress", "--db", db(), "--learner", "lrn-1"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("learner lrn-1 (team ops)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("2026-12-01"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("66.67%"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("100% *"), std::string::npos) << table.out;
}

TEST_F(PsoctlBadgeTest, TeamProgressAggregatesItsLearners) {
  auto r = psoctl({"-o", "json", "scenarios", "progress", "--db", db(), "--team", "ops"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json t = json::parse(r.out);
  EXPECT_EQ(t["learners"], json::parse(R"(["lrn-1","lrn-2","lrn-3"])"));
  ASSERT_EQ(t["levels"].size(), 2u);
  // foundation: lrn-1 3/3, lrn-2 2/2, lrn-3 0/1 -> 2 of 3 mastered, mean (1+1+0)/3.
  EXPECT_EQ(t["levels"][0]["level"], "foundation");
  EXPECT_EQ(t["levels"][0]["learners"], 3);
  EXPECT_EQ(t["levels"][0]["mastered"], 2);
  EXPECT_NEAR(t["levels"][0]["mean_score"].get<double>(), 2.0 / 3.0, 1e-12);
  // advanced_optimization: only lrn-1, 1/2.
  EXPECT_EQ(t["levels"][1]["learners"], 1);
  EXPECT_EQ(t["levels"][1]["mastered"], 0);
  EXPECT_DOUBLE_EQ(t["levels"][1]["mean_score"].get<double>(), 0.5);
  // Day 2: lrn-1 at 2/3, lrn-2 at 1/2 -> none mastered, mean (2/3 + 1/2) / 2.
  ASSERT_EQ(t["history"].size(), 3u);
  EXPECT_EQ(t["history"][1]["date"], "2026-12-02");
  EXPECT_EQ(t["history"][1]["levels"][0]["learners"], 2);
  EXPECT_EQ(t["history"][1]["levels"][0]["mastered"], 0);
  EXPECT_NEAR(t["history"][1]["levels"][0]["mean_score"].get<double>(), (2.0 / 3.0 + 0.5) / 2.0,
              1e-12);

  auto table = psoctl({"scenarios", "progress", "--db", db(), "--team", "ops"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("team ops: 3 learners"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("2/3 (mean 66.67%)"), std::string::npos) << table.out;

  auto nobody = psoctl({"scenarios", "progress", "--db", db(), "--team", "sre"});
  EXPECT_EQ(nobody.exit_code, 1);
  EXPECT_NE(nobody.err.find("no learners in team 'sre'"), std::string::npos) << nobody.err;
  auto both = psoctl({"scenarios", "progress", "--db", db(), "--team", "ops", "--learner", "x"});
  EXPECT_NE(both.exit_code, 0);
  auto threshold =
      psoctl({"scenarios", "progress", "--db", db(), "--learner", "lrn-1", "--threshold", "1.5"});
  EXPECT_EQ(threshold.exit_code, 1);
}

// Every byte at `at` replaced by `with`: the badge as a tamperer would leave it.
std::string replacedAt(std::string text, std::size_t at, char with) {
  text[at] = with;
  return text;
}

TEST_F(PsoctlBadgeTest, BadgeForAMasteredLevelVerifiesAndAnyChangeBreaksIt) {
  const std::string did = makeKey("issuer.pem");
  ASSERT_EQ(did.rfind("did:key:z6Mk", 0), 0u) << did;
  struct stat st {};
  ASSERT_EQ(::stat(file("issuer.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto issued = issue("lrn-1", "foundation", "badge.json");
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  EXPECT_NE(issued.out.find("lrn-1 mastered foundation (100%)"), std::string::npos) << issued.out;
  const std::string badge = readFile(file("badge.json"));
  const json doc = json::parse(badge);
  EXPECT_EQ(doc["issuer"]["id"], did);
  EXPECT_EQ(doc["proof"]["cryptosuite"], "eddsa-jcs-2022");
  EXPECT_NE(
      doc["credentialSubject"]["achievement"]["criteria"]["narrative"].get<std::string>().find(
          "lrn-1 scored 100% (3 of 3 questions)"),
      std::string::npos);

  auto valid = psoctl({"scenarios", "verify-badge", file("badge.json")});
  EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
  EXPECT_EQ(valid.out, "badge valid: lrn-1 mastered foundation, issued by " + did +
                           " at 2026-12-03T15:00:00Z\n");
  EXPECT_EQ(psoctl({"scenarios", "verify-badge", file("badge.json"), "--issuer", did}).exit_code,
            0);
  const std::string other = makeKey("other.pem");
  auto foreign = psoctl({"scenarios", "verify-badge", file("badge.json"), "--issuer", other});
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_EQ(foreign.out, "badge invalid: issued by " + did + ", not by " + other + "\n");

  // One byte changed in the learner id, the level, the time, the issuer, the
  // narrative or the proof value: refused, in one line.
  const std::size_t learner = badge.find("\"identityHash\": \"lrn-1\"") + 20;
  const std::size_t level = badge.find("achievement:foundation") + 12;
  const std::size_t valid_from = badge.find("\"validFrom\": \"2026") + 17;
  const std::size_t issuer = badge.find(did) + 20;
  const std::size_t narrative = badge.find("scored 100%") + 7;
  const std::size_t proof_start = badge.find("\"proofValue\": \"z") + 16;
  const std::size_t proof_end = badge.find('"', proof_start) - 1;
  for (std::size_t at : {learner, level, valid_from, issuer, narrative, proof_start,
                         (proof_start + proof_end) / 2, proof_end}) {
    ASSERT_NE(at, std::string::npos);
    const char with = badge[at] == '2' ? '3' : '2';
    { std::ofstream(file("tampered.json"), std::ios::binary) << replacedAt(badge, at, with); }
    auto tampered = psoctl({"scenarios", "verify-badge", file("tampered.json")});
    EXPECT_EQ(tampered.exit_code, 1) << "byte " << at << " ('" << badge[at] << "')";
    EXPECT_EQ(tampered.out.rfind("badge invalid: ", 0), 0u) << tampered.out;
    EXPECT_EQ(std::count(tampered.out.begin(), tampered.out.end(), '\n'), 1) << tampered.out;
  }
  // Whitespace is not content: the same badge compacted still verifies (JCS).
  { std::ofstream(file("compact.json")) << doc.dump(); }
  EXPECT_EQ(psoctl({"scenarios", "verify-badge", file("compact.json")}).exit_code, 0);

  auto as_json = psoctl({"-o", "json", "scenarios", "verify-badge", file("tampered.json")});
  EXPECT_EQ(as_json.exit_code, 1);
  EXPECT_EQ(json::parse(as_json.out)["valid"], false);
}

TEST_F(PsoctlBadgeTest, BadgeIsRefusedForALevelNotMastered) {
  makeKey("issuer.pem");
  auto unmastered = issue("lrn-1", "advanced_optimization", "no.json");
  EXPECT_EQ(unmastered.exit_code, 1);
  EXPECT_EQ(unmastered.err,
            "psoctl: no badge: lrn-1 has not mastered advanced_optimization: 1 of 2 correct "
            "(50%), 70% needed\n");
  EXPECT_FALSE(std::ifstream(file("no.json")).good());
  auto untried = issue("lrn-2", "advanced_optimization", "no.json");
  EXPECT_EQ(untried.exit_code, 1);
  EXPECT_NE(untried.err.find("no graded attempt at level advanced_optimization"),
            std::string::npos);
  // A stricter threshold refuses what the default grants: lrn-3 never, lrn-2 at 100% always.
  EXPECT_EQ(issue("lrn-3", "foundation", "no.json").exit_code, 1);
  EXPECT_EQ(issue("lrn-2", "foundation", "yes.json", {"--threshold", "1"}).exit_code, 0);

  // A key others can read is refused, as a loose ssh key is.
  ASSERT_EQ(::chmod(file("issuer.pem").c_str(), 0644), 0);
  auto loose = issue("lrn-1", "foundation", "loose.json");
  EXPECT_EQ(loose.exit_code, 1);
  EXPECT_NE(loose.err.find("chmod 600"), std::string::npos) << loose.err;
  // badge-keygen never overwrites a key.
  auto again = psoctl({"badge-keygen", "--out", file("issuer.pem")});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
}

TEST_F(PsoctlBadgeTest, MalformedBadgesAreOneLineRefusals) {
  const std::vector<std::string> bodies = {
      "",
      "{",
      "[1,2]",
      "\x00\xff\xfe garbage",
      R"({"type":"VerifiableCredential"})",
      R"({"type":["VerifiableCredential","OpenBadgeCredential"],
                                               "proof":{"verificationMethod":"did:web:x#k"}})"};
  for (const auto& body : bodies) {
    { std::ofstream(file("bad.json"), std::ios::binary) << body; }
    auto r = psoctl({"scenarios", "verify-badge", file("bad.json")});
    EXPECT_EQ(r.exit_code, 1) << body;
    EXPECT_EQ(r.out.rfind("badge invalid: ", 0), 0u) << body << ": " << r.out << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  }
  auto missing = psoctl({"scenarios", "verify-badge", file("none.json")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no file"), std::string::npos) << missing.err;
}

// psoctl scenarios grade --team --at on a recorded replay: the learner joins
// the team and the attempts carry the given time, so progress shows that day.
TEST(PsoctlGradeTeam, GradeRecordsTheTeamAndTheTimeGiven) {
  TempDir dir;
  {
    std::ofstream trace(dir.file("web.csv"));
    trace << "timestamp,value\n";
    for (int i = 0; i < 120; ++i) {
      double v = 120 + 60 * std::sin(2 * M_PI * i / 48.0);
      if (i >= 80 && i < 95) v *= 3;
      trace << 1700000000 + 60 * i << ',' << v << '\n';
    }
  }
  auto recorded = psoctl({"simulate", "--trace", dir.file("web.csv"), "--capacity", "40", "--out",
                          dir.file("sim.csv"), "--record", dir.file("lessons.db")});
  ASSERT_EQ(recorded.exit_code, 0) << recorded.err;
  auto exported = psoctl({"scenarios", "export", "--db", dir.file("lessons.db"), "--format",
                          "jsonl", "--out", dir.file("all.jsonl")});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  json doc;
  {
    std::ifstream in(dir.file("all.jsonl"));
    for (std::string line; std::getline(in, line);) {
      doc = json::parse(line);
      if (doc["questions"].size() >= 2) break;
    }
  }
  ASSERT_GE(doc["questions"].size(), 2u);
  json answers = json::object();
  for (const auto& q : doc["questions"]) {
    if (q["type"] == "multiple_choice") {
      for (std::size_t i = 0; i < q["choices"].size(); ++i) {
        if (q["choices"][i]["correct"].get<bool>()) {
          answers[q["id"].get<std::string>()] = std::string(1, static_cast<char>('a' + i));
        }
      }
    } else {
      answers[q["id"].get<std::string>()] = q["answer"];
    }
  }
  { std::ofstream(dir.file("answers.json")) << answers.dump(); }
  auto graded = psoctl({"-o", "json", "scenarios", "grade", "--db", dir.file("lessons.db"),
                        "--learner", "lrn-7", "--answers", dir.file("answers.json"), "--team",
                        "ops-emea", "--at", "2026-12-01T10:00:00Z"});
  ASSERT_EQ(graded.exit_code, 0) << graded.err;
  EXPECT_EQ(json::parse(graded.out)["team"], "ops-emea");

  auto progress = psoctl({"-o", "json", "scenarios", "progress", "--db", dir.file("lessons.db"),
                          "--team", "ops-emea"});
  ASSERT_EQ(progress.exit_code, 0) << progress.err;
  const json t = json::parse(progress.out);
  EXPECT_EQ(t["learners"], json::array({"lrn-7"}));
  ASSERT_EQ(t["history"].size(), 1u);
  EXPECT_EQ(t["history"][0]["date"], "2026-12-01");
  EXPECT_EQ(t["levels"][0]["level"], doc["level"]);
  EXPECT_EQ(t["levels"][0]["mastered"], 1);
  EXPECT_EQ(t["levels"][0]["mean_score"], 1.0);

  auto bad_time = psoctl({"scenarios", "grade", "--db", dir.file("lessons.db"), "--learner",
                          "lrn-7", "--answers", dir.file("answers.json"), "--at", "yesterday"});
  EXPECT_EQ(bad_time.exit_code, 1);
  EXPECT_NE(bad_time.err.find("--at"), std::string::npos) << bad_time.err;
}

}  // namespace
}  // namespace pso::testing
