#pragma once

// Open Badges for mastered levels (controller/scenarios/badge.h):
//   psoctl badge-keygen --out FILE         an issuer's Ed25519 key (PEM, 0600)
//   psoctl scenarios badge ...             issue a signed badge for a mastered level
//   psoctl scenarios verify-badge FILE     verify one offline

#include <CLI/CLI.hpp>
#include <string>

#include "controller/scenarios/grading.h"

namespace pso::cli {

struct BadgeArgs {
  std::string db;  ///< controller database with the learner's attempts
  std::string learner;
  std::string level;
  std::string key;  ///< the issuer's key file (psoctl badge-keygen)
  std::string issuer_name;
  std::string issuer_url;
  std::string out;        ///< the badge file; - for stdout
  std::string issued_at;  ///< timestamp; empty = now
  double threshold = controller::scenarios::kDefaultPassThreshold;
};

struct VerifyBadgeArgs {
  std::string file;
  std::string issuer;  ///< the did:key the badge must be issued by (optional)
};

void addBadgeOptions(CLI::App* cmd, BadgeArgs& args);
void addVerifyBadgeOptions(CLI::App* cmd, VerifyBadgeArgs& args);

/// Issues the badge when the learner has mastered the level at the threshold;
/// otherwise refuses in one line. Returns the exit code (0 or 1).
int runBadgeCommand(const BadgeArgs& args, bool json_output);
/// Prints "badge valid: ..." (exit 0) or "badge invalid: <reason>" (exit 1).
int runVerifyBadgeCommand(const VerifyBadgeArgs& args, bool json_output);
/// Writes a new Ed25519 key (never over an existing file) and prints its did:key.
int runBadgeKeygenCommand(const std::string& out, bool json_output);

}  // namespace pso::cli
