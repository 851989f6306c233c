#include "controller/cli/badge.h"
#include "controller/cli/store_argument.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/clock.h"
#include "common/curve_keys.h"
#include "common/trace.h"
#include "controller/cli/failure.h"
#include "controller/cli/option_checks.h"
#include "controller/scenarios/atomic_file.h"
#include "controller/scenarios/badge.h"
#include "controller/scenarios/scenario_text.h"
#include "controller/scenarios/xapi.h"
#include "controller/store/store.h"

namespace pso::cli {
namespace {

namespace scenarios = controller::scenarios;
namespace store = controller::store;
using nlohmann::json;

// A key file or a badge is a few kilobytes; psoctl reads no more than this.
constexpr std::uintmax_t kMaxFileBytes = 1 << 20;

std::string badgePercent(double share) {
  return scenarios::formatNumber(share * 100.0) + "%";
}

Result<std::string> readSmallFile(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return makeError("io", what + ": no file " + path);
  if (std::filesystem::file_size(path, ec) > kMaxFileBytes) {
    return makeError("invalid", what + " " + path + ": larger than 1 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("io", what + ": cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The issuer's key, refused when others may read it (as ssh refuses a loose
// private key, and psoctl's CurveZMQ secret keys are refused).
Result<scenarios::BadgeSigningKey> readSigningKey(const std::string& path) {
  if (auto mode = common::checkOwnerOnlyFile(path, "--key " + path); !mode.ok()) {
    return mode.error();
  }
  auto pem = readSmallFile(path, "--key");
  if (!pem) return pem.error();
  auto key = scenarios::BadgeSigningKey::fromPem(*pem);
  if (!key) return makeError(key.error().code, "--key " + path + ": " + key.error().message);
  return key;
}

}  // namespace

void addBadgeOptions(CLI::App* cmd, BadgeArgs& args) {
  cmd->add_option("--db", args.db, "Controller database holding the learner's graded attempts")
      ->required();
  cmd->add_option("--learner", args.learner, "The learner's LMS account id")->required();
  cmd->add_option("--level", args.level, "The learning level mastered")->required();
  cmd->add_option("--key", args.key, "The issuer's Ed25519 key (psoctl badge-keygen)")->required();
  cmd->add_option("--issuer-name", args.issuer_name, "The issuer's name, as the badge shows it")
      ->required();
  cmd->add_option("--issuer-url", args.issuer_url, "The issuer's home page");
  cmd->add_option("--out", args.out, "The badge file (JSON); - for stdout")->required();
  cmd->add_option("--threshold", args.threshold,
                  "Share of the level's questions correct (latest attempt of each) to master it")
      ->capture_default_str();
  cmd->add_option("--issued-at", args.issued_at,
                  "When the badge is valid from (ISO 8601 or epoch seconds; default now)");
}

void addVerifyBadgeOptions(CLI::App* cmd, VerifyBadgeArgs& args) {
  cmd->add_option("file", args.file, "The badge file (JSON)")->required();
  cmd->add_option("--issuer", args.issuer, "Accept only a badge issued by this did:key");
}

int runBadgeCommand(const BadgeArgs& args, bool json_output) {
  if (auto st = checkBetween("--threshold", args.threshold, 0, 1); !st.ok()) {
    return fail(st.error().message);
  }
  if (auto st = scenarios::validateLearnerId(args.learner); !st.ok()) {
    return fail("--learner: " + st.error().message);
  }
  int64_t issued_ms = common::wallMs();
  if (!args.issued_at.empty()) {
    auto seconds = common::parseTimestamp(args.issued_at);
    if (!seconds) return fail("--issued-at: '" + args.issued_at + "' is not a timestamp");
    issued_ms = *seconds * 1000;
  }
  auto key = readSigningKey(args.key);
  if (!key) return fail(key.error().message);
  auto opened = openExistingStore(args.db);
  if (!opened) return fail(opened.error().message);
  auto attempts = (*opened)->attempts(args.learner);
  if (!attempts) return fail("--db " + args.db + ": " + attempts.error().message);

  const auto standing = scenarios::competencyByLevel(*attempts, args.threshold);
  const scenarios::Competency* level = nullptr;
  for (const auto& c : standing) {
    if (c.level == args.level) level = &c;
  }
  if (level == nullptr) {
    return fail("no badge: " + args.learner + " has no graded attempt at level " + args.level);
  }
  if (!level->competent) {
    return fail("no badge: " + args.learner + " has not mastered " + args.level + ": " +
                std::to_string(level->correct) + " of " + std::to_string(level->questions) +
                " correct (" + badgePercent(level->score) + "), " + badgePercent(args.threshold) +
                " needed");
  }
  auto credential_id = scenarios::randomCredentialId();
  if (!credential_id) return fail(credential_id.error().message);
  scenarios::BadgeClaim claim;
  claim.learner = args.learner;
  claim.level = args.level;
  claim.threshold = args.threshold;
  claim.score = level->score;
  claim.correct = level->correct;
  claim.questions = level->questions;
  claim.issuer_name = args.issuer_name;
  claim.issuer_url = args.issuer_url;
  claim.issued_ms = issued_ms;
  claim.credential_id = *credential_id;
  auto badge = scenarios::issueBadge(claim, *key);
  if (!badge) return fail("cannot issue the badge: " + badge.error().message);
  const std::string text = badge->dump(2) + "\n";
  if (args.out == "-") {
    std::cout << text;
    return 0;
  }
  if (auto st = scenarios::writeFileAtomic(args.out, text); !st.ok()) {
    return fail("--out: " + st.error().message);
  }
  if (json_output) {
    std::cout << json{{"out", args.out},      {"learner", args.learner},
                      {"level", args.level},  {"score", level->score},
                      {"issuer", key->did()}, {"valid_from", (*badge)["validFrom"]}}
                     .dump(2)
              << '\n';
  } else {
    std::cout << "wrote " << args.out << ": " << args.learner << " mastered " << args.level << " ("
              << badgePercent(level->score) << "), issued by " << key->did() << '\n';
  }
  return 0;
}

int runVerifyBadgeCommand(const VerifyBadgeArgs& args, bool json_output) {
  auto text = readSmallFile(args.file, "badge");
  if (!text) return fail(text.error().message);
  auto verified = scenarios::verifyBadge(*text, args.issuer);
  if (json_output) {
    json out = {{"valid", verified.ok()}};
    if (verified) {
      out.update({{"learner", verified->learner},
                  {"level", verified->level},
                  {"issuer", verified->issuer},
                  {"valid_from", verified->valid_from}});
    } else {
      out["reason"] = verified.error().message;
    }
    std::cout << out.dump(2) << '\n';
    return verified ? 0 : 1;
  }
  if (!verified) {
    std::cout << "badge invalid: " << verified.error().message << '\n';
    return 1;
  }
  std::cout << "badge valid: " << verified->learner << " mastered " << verified->level
            << ", issued by " << verified->issuer << " at " << verified->valid_from << '\n';
  return 0;
}

int runBadgeKeygenCommand(const std::string& out, bool json_output) {
  if (out == "-") return fail("--out: a secret key goes to a file, not stdout");
  auto key = scenarios::BadgeSigningKey::generate();
  if (!key) return fail(key.error().message);
  auto pem = key->toPem();
  if (!pem) return fail(pem.error().message);
  if (auto st = common::writeNewFile(out, *pem, 0600); !st.ok()) {
    return fail("--out: " + st.error().message);
  }
  if (json_output) {
    std::cout << json{{"secret_key_file", out}, {"issuer", key->did()}}.dump(2) << '\n';
  } else {
    std::cout << "wrote " << out
              << " (Ed25519 secret key, mode 0600); badges it signs are issued by " << key->did()
              << '\n';
  }
  return 0;
}

}  // namespace pso::cli
