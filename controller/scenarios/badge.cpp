#include "controller/scenarios/badge.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>
#include <set>

#include "controller/scenarios/jcs.h"

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

constexpr const char* kCredentialsContext = "https://www.w3.org/ns/credentials/v2";
constexpr const char* kOpenBadgesContext =
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
constexpr const char* kProofType = "DataIntegrityProof";
constexpr const char* kCryptosuite = "eddsa-jcs-2022";
constexpr const char* kProofPurpose = "assertionMethod";
// A badge is a few kilobytes; a file far larger is not one.
constexpr std::size_t kMaxBadgeBytes = 1 << 20;

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

Pkey privateKeyOf(const std::array<uint8_t, 32>& seed) {
  return Pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
}

std::array<uint8_t, 32> sha256(const std::string& text) {
  std::array<uint8_t, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return digest;
}

// SHA-256(JCS(proof config)) followed by SHA-256(JCS(document)).
Result<std::vector<uint8_t>> hashData(const json& proof_config, const json& unsecured) {
  auto canonical_config = canonicalJson(proof_config);
  if (!canonical_config) return makeError("invalid", "proof: " + canonical_config.error().message);
  auto canonical_document = canonicalJson(unsecured);
  if (!canonical_document) {
    return makeError("invalid", "document: " + canonical_document.error().message);
  }
  const auto config_hash = sha256(*canonical_config);
  const auto document_hash = sha256(*canonical_document);
  std::vector<uint8_t> data(config_hash.begin(), config_hash.end());
  data.insert(data.end(), document_hash.begin(), document_hash.end());
  return data;
}

// "83%", "70%", "72.5%": a share as the criteria narrative words it.
std::string percent(double share) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", share * 100.0);
  std::string out = text;
  if (out.size() > 2 && out.compare(out.size() - 2, 2, ".0") == 0) out.resize(out.size() - 2);
  return out + "%";
}

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string stringMember(const json& object, const char* key) {
  const json* value = member(object, key);
  return value != nullptr && value->is_string() ? value->get<std::string>() : "";
}

bool listsType(const json& object, const std::string& type) {
  const json* types = member(object, "type");
  if (types == nullptr) return false;
  if (types->is_string()) return types->get<std::string>() == type;
  if (!types->is_array()) return false;
  for (const auto& t : *types) {
    if (t.is_string() && t.get<std::string>() == type) return true;
  }
  return false;
}

Error invalid(const std::string& reason) {
  return Error{"invalid", reason};
}

// Text from the badge quoted in a one-line message: control characters
// shown as '?', and at most 80 characters of it.
std::string quoted(const std::string& text) {
  std::string out = text.substr(0, 80);
  for (char& ch : out) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
  }
  return out + (text.size() > 80 ? "..." : "");
}

bool hasControlCharacters(const std::string& text) {
  for (char ch : text) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return true;
  }
  return false;
}

}  // namespace

std::string badgeTime(int64_t epoch_ms) {
  int64_t seconds = epoch_ms / 1000;
  if (epoch_ms % 1000 < 0) --seconds;
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

Result<std::string> randomCredentialId() {
  std::array<uint8_t, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return makeError("crypto", "no random bytes for a credential id");
  }
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static const char kHex[] = "0123456789abcdef";
  std::string out = "urn:uuid:";
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0x0F];
  }
  return out;
}

Result<BadgeSigningKey> BadgeSigningKey::generate() {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return makeError("crypto", "cannot generate an Ed25519 key");
  }
  Pkey key(raw);
  std::array<uint8_t, 32> seed{};
  std::size_t length = seed.size();
  if (EVP_PKEY_get_raw_private_key(key.get(), seed.data(), &length) != 1 || length != 32) {
    return makeError("crypto", "cannot read the generated Ed25519 key");
  }
  return fromSeed(seed);
}

Result<BadgeSigningKey> BadgeSigningKey::fromSeed(const std::array<uint8_t, 32>& seed) {
  Pkey key = privateKeyOf(seed);
  BadgeSigningKey out;
  std::size_t length = out.public_key_.size();
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), out.public_key_.data(), &length) != 1 ||
      length != 32) {
    return makeError("crypto", "cannot derive the Ed25519 public key");
  }
  out.seed_ = seed;
  return out;
}

Result<BadgeSigningKey> BadgeSigningKey::fromPem(const std::string& pem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return makeError("crypto", "cannot read the key");
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return makeError("invalid", "not a PEM private key");
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return makeError("invalid", "not an Ed25519 key (psoctl badge-keygen makes one)");
  }
  std::array<uint8_t, 32> seed{};
  std::size_t length = seed.size();
  if (EVP_PKEY_get_raw_private_key(key.get(), seed.data(), &length) != 1 || length != 32) {
    return makeError("invalid", "cannot read the Ed25519 private key");
  }
  return fromSeed(seed);
}

Result<std::string> BadgeSigningKey::toPem() const {
  Pkey key = privateKeyOf(seed_);
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  if (!key || !bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return makeError("crypto", "cannot write the key as PEM");
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  if (length <= 0 || data == nullptr) return makeError("crypto", "cannot write the key as PEM");
  return std::string(data, static_cast<std::size_t>(length));
}

Result<std::vector<uint8_t>> BadgeSigningKey::sign(const std::vector<uint8_t>& message) const {
  Pkey key = privateKeyOf(seed_);
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  std::vector<uint8_t> signature(64);
  std::size_t length = signature.size();
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &length, message.data(), message.size()) != 1 ||
      length != 64) {
    return makeError("crypto", "cannot sign with the Ed25519 key");
  }
  return signature;
}

Result<json> addEddsaJcsProof(const json& unsecured, const BadgeSigningKey& key,
                              const std::string& created) {
  if (!unsecured.is_object()) return makeError("invalid", "only a JSON object can be signed");
  json proof = {{"type", kProofType},
                {"cryptosuite", kCryptosuite},
                {"created", created},
                {"verificationMethod", key.did() + "#" + ed25519Multikey(key.publicKey())},
                {"proofPurpose", kProofPurpose}};
  if (const json* context = member(unsecured, "@context")) proof["@context"] = *context;
  auto data = hashData(proof, unsecured);
  if (!data) return data.error();
  auto signature = key.sign(*data);
  if (!signature) return signature.error();
  proof["proofValue"] = "z" + base58btcEncode(*signature);
  json secured = unsecured;
  secured["proof"] = std::move(proof);
  return secured;
}

Status verifyEddsaJcsProof(const json& secured, const Ed25519PublicKey& key) {
  if (!secured.is_object()) return invalid("not a JSON object");
  const json* proof = member(secured, "proof");
  if (proof == nullptr) return invalid("no proof");
  if (!proof->is_object()) return invalid("the proof is not one object");
  if (stringMember(*proof, "type") != kProofType) {
    return invalid("the proof is not a DataIntegrityProof");
  }
  if (stringMember(*proof, "cryptosuite") != kCryptosuite) {
    return invalid("the proof's cryptosuite is not eddsa-jcs-2022");
  }
  if (stringMember(*proof, "proofPurpose") != kProofPurpose) {
    return invalid("the proof's purpose is not assertionMethod");
  }
  const std::string proof_value = stringMember(*proof, "proofValue");
  if (proof_value.empty() || proof_value[0] != 'z') {
    return invalid("the proofValue is not multibase base58btc (z...)");
  }
  auto signature = base58btcDecode(std::string_view(proof_value).substr(1));
  if (!signature || signature->size() != 64) {
    return invalid("the proofValue is not a 64-byte Ed25519 signature");
  }

  json options = *proof;
  options.erase("proofValue");
  json unsecured = secured;
  unsecured.erase("proof");
  // The proof's @context must be the start of the document's (Data
  // Integrity's check), and is the one the document is hashed with.
  if (const json* proof_context = member(options, "@context")) {
    const json* document_context = member(secured, "@context");
    const bool starts_with =
        document_context != nullptr && document_context->is_array() && proof_context->is_array() &&
        proof_context->size() <= document_context->size() &&
        std::equal(proof_context->begin(), proof_context->end(), document_context->begin());
    if (!starts_with) return invalid("the proof's @context does not match the document's");
    unsecured["@context"] = *proof_context;
  }
  auto data = hashData(options, unsecured);
  if (!data) return invalid(data.error().message);

  Pkey public_key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size()));
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!public_key || !ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, public_key.get()) != 1) {
    return invalid("the verification key cannot be used");
  }
  if (EVP_DigestVerify(ctx.get(), signature->data(), signature->size(), data->data(),
                       data->size()) != 1) {
    return invalid("the signature does not match the badge (altered, or signed by another key)");
  }
  return Status();
}

Result<json> issueBadge(const BadgeClaim& claim, const BadgeSigningKey& key) {
  if (claim.learner.empty()) return makeError("invalid", "a badge needs the learner's id");
  if (claim.level.empty()) return makeError("invalid", "a badge needs the level mastered");
  if (claim.issuer_name.empty()) return makeError("invalid", "a badge needs the issuer's name");
  json issuer = {
      {"id", key.did()}, {"type", json::array({"Profile"})}, {"name", claim.issuer_name}};
  if (!claim.issuer_url.empty()) issuer["url"] = claim.issuer_url;
  const std::string issued = badgeTime(claim.issued_ms);
  const std::string narrative =
      "Answered at least " + percent(claim.threshold) + " of the questions of the " + claim.level +
      " level correctly, counting the latest attempt of each question, in PSO-PRIME's scenarios "
      "of recorded scaling decisions. " +
      claim.learner + " scored " + percent(claim.score) + " (" + std::to_string(claim.correct) +
      " of " + std::to_string(claim.questions) + " questions) by " + issued + ".";
  json achievement = {
      {"id", std::string(kAchievementIdPrefix) + claim.level},
      {"type", json::array({"Achievement"})},
      {"achievementType", "Competency"},
      {"name", "PSO-PRIME predictive scaling: " + claim.level + " level"},
      {"description", "Reads and explains the predictive orchestrator's scaling decisions at the " +
                          claim.level +
                          " learning level: forecasts, guardrails and the reactive "
                          "HPA baseline beside them."},
      {"criteria", {{"narrative", narrative}}}};
  json credential = {{"@context", json::array({kCredentialsContext, kOpenBadgesContext})},
                     {"id", claim.credential_id},
                     {"type", json::array({"VerifiableCredential", "OpenBadgeCredential"})},
                     {"name", "PSO-PRIME " + claim.level + " level"},
                     {"issuer", issuer},
                     {"validFrom", issued},
                     {"credentialSubject",
                      {{"type", json::array({"AchievementSubject"})},
                       {"identifier", json::array({{{"type", "IdentityObject"},
                                                    {"identityHash", claim.learner},
                                                    {"identityType", "identifier"},
                                                    {"hashed", false}}})},
                       {"achievement", achievement}}}};
  if (claim.credential_id.empty()) credential.erase("id");
  return addEddsaJcsProof(credential, key, issued);
}

Result<VerifiedBadge> verifyBadge(std::string_view text, const std::string& expected_issuer) {
  if (text.size() > kMaxBadgeBytes) return invalid("larger than 1 MiB: not a badge");
  // A name twice in one object is refused: verifiers that keep the first and
  // those that keep the last would read two different badges.
  std::vector<std::set<std::string>> names_by_depth;
  bool duplicate = false;
  const json::parser_callback_t track_names = [&](int depth, json::parse_event_t event,
                                                  json& parsed) {
    const auto level = static_cast<std::size_t>(depth);
    if (event == json::parse_event_t::object_start) {
      if (names_by_depth.size() <= level) names_by_depth.resize(level + 1);
      names_by_depth[level].clear();
    } else if (event == json::parse_event_t::key && level >= 1 && level <= names_by_depth.size()) {
      duplicate = !names_by_depth[level - 1].insert(parsed.get<std::string>()).second || duplicate;
    }
    return true;
  };
  const json badge = json::parse(text.begin(), text.end(), track_names, false);
  if (badge.is_discarded()) return invalid("not valid JSON");
  if (duplicate) return invalid("a member name appears twice in one object");
  if (!badge.is_object()) return invalid("not a JSON object");
  if (!listsType(badge, "VerifiableCredential") || !listsType(badge, "OpenBadgeCredential")) {
    return invalid("not an OpenBadgeCredential");
  }
  const json* proof = member(badge, "proof");
  if (proof == nullptr || !proof->is_object()) return invalid("no proof (or not one object)");
  const std::string method = stringMember(*proof, "verificationMethod");
  const auto hash = method.find('#');
  if (hash == std::string::npos) return invalid("the verificationMethod is not a did:key URL");
  auto key = ed25519KeyOfDid(method);
  if (!key) return invalid("verificationMethod: " + key.error().message);
  const std::string method_did = method.substr(0, hash);

  const json* issuer = member(badge, "issuer");
  const std::string issuer_id = issuer == nullptr     ? ""
                                : issuer->is_string() ? issuer->get<std::string>()
                                                      : stringMember(*issuer, "id");
  if (issuer_id.empty()) return invalid("no issuer id");
  if (issuer_id != method_did) {
    return invalid("the issuer " + quoted(issuer_id) + " is not the signer " + method_did);
  }
  if (!expected_issuer.empty() && issuer_id != expected_issuer) {
    return invalid("issued by " + issuer_id + ", not by " + quoted(expected_issuer));
  }
  if (auto st = verifyEddsaJcsProof(badge, *key); !st.ok()) return st.error();

  VerifiedBadge out;
  out.issuer = issuer_id;
  out.valid_from = stringMember(badge, "validFrom");
  if (out.valid_from.empty()) return invalid("no validFrom");
  const json* subject = member(badge, "credentialSubject");
  if (subject == nullptr || !subject->is_object()) return invalid("no credentialSubject");
  if (const json* identifiers = member(*subject, "identifier");
      identifiers != nullptr && identifiers->is_array() && !identifiers->empty()) {
    out.learner = stringMember(identifiers->front(), "identityHash");
  }
  if (out.learner.empty()) out.learner = stringMember(*subject, "id");
  if (out.learner.empty()) return invalid("the credentialSubject names no learner");
  const json* achievement = member(*subject, "achievement");
  const std::string achievement_id = achievement == nullptr ? "" : stringMember(*achievement, "id");
  const std::string prefix = kAchievementIdPrefix;
  if (achievement_id.size() <= prefix.size() || achievement_id.compare(0, prefix.size(), prefix)) {
    return invalid("the achievement is not a PSO-PRIME learning level");
  }
  out.level = achievement_id.substr(prefix.size());
  // What a verifier prints must stay one line, whatever a signer wrote.
  if (hasControlCharacters(out.learner) || hasControlCharacters(out.level) ||
      hasControlCharacters(out.valid_from)) {
    return invalid("the learner, level or validFrom holds control characters");
  }
  return out;
}

}  // namespace pso::controller::scenarios
