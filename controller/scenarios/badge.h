#pragma once

// Open Badges 3.0 credentials for a mastered learning level: a W3C Verifiable
// Credential (OpenBadgeCredential) whose issuer is the did:key of an Ed25519
// key, secured by an embedded Data Integrity proof with the eddsa-jcs-2022
// cryptosuite (W3C Data Integrity EdDSA Cryptosuites v1.0):
//   proofConfig  = the proof's options (type, cryptosuite, created,
//                  verificationMethod, proofPurpose, @context of the document)
//   hashData     = SHA-256(JCS(proofConfig)) || SHA-256(JCS(document without proof))
//   proofValue   = "z" + base58btc(Ed25519 signature of hashData)
// A badge verifies offline: the key is in the issuer's did:key.
// Signed badges carry no fractional numbers (scores are words in the
// criteria), so their canonical form is exact (jcs.h).

#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "controller/scenarios/did_key.h"

namespace pso::controller::scenarios {

/// An issuer's Ed25519 signing key.
class BadgeSigningKey {
 public:
  /// A fresh key from the system's random source.
  [[nodiscard]] static Result<BadgeSigningKey> generate();
  /// The key of its 32-byte seed (RFC 8032's private key).
  [[nodiscard]] static Result<BadgeSigningKey> fromSeed(const std::array<uint8_t, 32>& seed);
  /// The key of a PEM "PRIVATE KEY" (PKCS #8, as openssl genpkey -algorithm
  /// ed25519 writes it); any other key type is code "invalid".
  [[nodiscard]] static Result<BadgeSigningKey> fromPem(const std::string& pem);

  /// The PKCS #8 PEM text of the key (secret: write it mode 0600).
  [[nodiscard]] Result<std::string> toPem() const;
  const Ed25519PublicKey& publicKey() const { return public_key_; }
  /// "did:key:z6Mk...": the issuer id of the badges this key signs.
  std::string did() const { return didKeyOf(public_key_); }
  /// The Ed25519 signature (64 bytes) of `message`.
  [[nodiscard]] Result<std::vector<uint8_t>> sign(const std::vector<uint8_t>& message) const;

 private:
  std::array<uint8_t, 32> seed_{};
  Ed25519PublicKey public_key_{};
};

/// What a badge states: the learner mastered a level, with the figures that
/// show it.
struct BadgeClaim {
  std::string learner;  ///< the LMS account id
  std::string level;    ///< the learning level mastered
  double threshold = 0.0;
  double score = 0.0;  ///< correct / questions at the latest attempt of each
  std::size_t correct = 0;
  std::size_t questions = 0;
  std::string issuer_name;
  std::string issuer_url;     ///< optional: the issuer's home page
  int64_t issued_ms = 0;      ///< validFrom and the proof's created time
  std::string credential_id;  ///< e.g. "urn:uuid:..."
};

/// The signed OpenBadgeCredential of `claim`. Code "invalid" for an empty
/// learner, level or issuer name, or text that is not UTF-8.
[[nodiscard]] Result<nlohmann::json> issueBadge(const BadgeClaim& claim,
                                                const BadgeSigningKey& key);

/// Adds an eddsa-jcs-2022 DataIntegrityProof to `unsecured` (an object),
/// signed by `key` with verificationMethod "<did>#<multikey>" at `created`
/// (an XML Schema dateTimeStamp).
[[nodiscard]] Result<nlohmann::json> addEddsaJcsProof(const nlohmann::json& unsecured,
                                                      const BadgeSigningKey& key,
                                                      const std::string& created);

/// Checks the eddsa-jcs-2022 proof of `secured` against `key` (whatever its
/// verificationMethod names). Code "invalid" with the reason when the proof is
/// missing, of another kind, malformed, or does not match the document.
[[nodiscard]] Status verifyEddsaJcsProof(const nlohmann::json& secured,
                                         const Ed25519PublicKey& key);

/// A badge that verified.
struct VerifiedBadge {
  std::string learner;
  std::string level;
  std::string issuer;      ///< the issuer's did:key
  std::string valid_from;  ///< as stated in the badge
};

/// Verifies a badge file's text offline: it parses as an OpenBadgeCredential,
/// its proof is eddsa-jcs-2022 by a did:key verification method, the issuer
/// id is that did:key, the signature holds over the canonical document and
/// proof options, and, when `expected_issuer` is not empty, the issuer is it.
/// Every refusal is code "invalid" with a one-line reason; nothing throws.
[[nodiscard]] Result<VerifiedBadge> verifyBadge(std::string_view text,
                                                const std::string& expected_issuer = "");

/// The credential id prefix of a level's achievement: the achievement of level
/// L is "urn:pso-prime:achievement:L".
inline constexpr const char* kAchievementIdPrefix = "urn:pso-prime:achievement:";

/// A fresh credential id: "urn:uuid:" and a random (version 4) UUID.
[[nodiscard]] Result<std::string> randomCredentialId();

/// XML Schema dateTimeStamp of epoch milliseconds, to the second: "2026-12-03T15:04:05Z".
std::string badgeTime(int64_t epoch_ms);

}  // namespace pso::controller::scenarios
