#include "controller/scenarios/badge.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "controller/scenarios/did_key.h"
#include "controller/scenarios/jcs.h"

namespace pso::controller::scenarios {
namespace {

using nlohmann::json;

// 2026-12-03T15:00:00Z: badges in these tests are issued then, never "now".
constexpr int64_t kIssuedMs = 1'796'310'000'000LL;

std::array<uint8_t, 32> seedOf(uint8_t fill) {
  std::array<uint8_t, 32> seed{};
  seed.fill(fill);
  return seed;
}

BadgeClaim claim() {
  BadgeClaim c;
  c.learner = "lrn-7";
  c.level = "foundation";
  c.threshold = 0.7;
  c.score = 5.0 / 6.0;
  c.correct = 5;
  c.questions = 6;
  c.issuer_name = "PSO-PRIME Academy";
  c.issuer_url = "https://academy.example.org";
  c.issued_ms = kIssuedMs;
  c.credential_id = "urn:uuid:1b9b8a3e-7c1e-4c55-9a57-0d3f2f6a4c10";
  return c;
}

// RFC 8785 section 3.2.2's example without its "numbers" member (numbers
// that are not integers are refused here): the escaping of strings and the
// literals.
TEST(CanonicalJson, MatchesRfc8785ExampleForStringsAndLiterals) {
  const json input = json::parse(R"({
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })");
  auto canonical = canonicalJson(input);
  ASSERT_TRUE(canonical.ok()) << canonical.error().message;
  EXPECT_EQ(*canonical,
            "{\"literals\":[null,true,false],\"string\":\"\xE2\x82\xAC$\\u000f\\nA'"
            "B\\\"\\\\\\\\\\\"/\"}");
}

// RFC 8785 section 3.2.3: names sort by UTF-16 code units, so the emoji
// (a surrogate pair, D83D) comes before U+FB33 although its UTF-8 sorts after.
TEST(CanonicalJson, SortsNamesByUtf16CodeUnitsAsRfc8785Section323) {
  const json input = json::parse(R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })");
  auto canonical = canonicalJson(input);
  ASSERT_TRUE(canonical.ok()) << canonical.error().message;
  const std::string expected =
      "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xC2\x80\":\"Control\","
      "\"\xC3\xB6\":\"Latin Small Letter O With Diaeresis\",\"\xE2\x82\xAC\":\"Euro Sign\","
      "\"\xF0\x9F\x98\x80\":\"Emoji: Grinning Face\","
      "\"\xEF\xAC\xB3\":\"Hebrew Letter Dalet With Dagesh\"}";
  EXPECT_EQ(*canonical, expected);
}

TEST(CanonicalJson, PrintsIntegersExactlyAndRefusesOtherNumbers) {
  EXPECT_EQ(*canonicalJson(json::parse("[0, -0, 7, -12, 9007199254740991, 1E3]")),
            "[0,0,7,-12,9007199254740991,1000]");
  EXPECT_EQ(*canonicalJson(json::parse(R"({"b": {"y": 1, "x": [ ]}, "a": ""})")),
            R"({"a":"","b":{"x":[],"y":1}})");
  for (const char* text : {"[4.5]", "[1e30]", "{\"a\": 0.002}"}) {
    auto refused = canonicalJson(json::parse(text));
    ASSERT_FALSE(refused.ok()) << text;
    EXPECT_EQ(refused.error().code, "invalid");
  }
  // Not UTF-8: refused, not copied through.
  EXPECT_FALSE(canonicalJson(json(std::string("\xC3\x28"))).ok());
}

TEST(Base58btc, RoundTripsAndKeepsLeadingZeros) {
  const std::vector<uint8_t> bytes = {0, 0, 1, 2, 3, 250, 251, 255};
  const std::string text = base58btcEncode(bytes);
  EXPECT_EQ(text.substr(0, 2), "11");
  EXPECT_EQ(*base58btcDecode(text), bytes);
  // "Hello World!" in Bitcoin's base58.
  const std::string hello = "Hello World!";
  EXPECT_EQ(base58btcEncode(std::vector<uint8_t>(hello.begin(), hello.end())), "2NEpo7TZRRrLZSi2U");
  EXPECT_FALSE(base58btcDecode("0OIl").ok());
}

// The did:key method's Ed25519 test vector: the key of the all-zero seed
// (RFC 8032's private key 00..00, public key 3b6a27bc...).
TEST(DidKey, EncodesTheDidKeySpecEd25519TestVector) {
  auto key = BadgeSigningKey::fromSeed(seedOf(0));
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->publicKey()[0], 0x3b);
  EXPECT_EQ(key->publicKey()[31], 0x29);
  EXPECT_EQ(key->did(), "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp");
  auto back = ed25519KeyOfDid(key->did());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, key->publicKey());
  EXPECT_TRUE(ed25519KeyOfDid(key->did() + "#" + ed25519Multikey(key->publicKey())).ok());

  EXPECT_FALSE(ed25519KeyOfDid("did:web:example.org").ok());
  EXPECT_FALSE(
      ed25519KeyOfDid("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#z6Mkx").ok());
  // A P-256 key (multicodec 0x1200) is not an Ed25519 key.
  EXPECT_FALSE(ed25519KeyOfDid("did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169").ok());
}

// The key pair of the W3C Data Integrity EdDSA Cryptosuites test vectors
// (TestVectors/keyPair.json): the secret is multicodec ed25519-priv (0x8026)
// and the seed; its public multikey must come out as published.
TEST(DidKey, DerivesTheEddsaCryptosuiteTestVectorKey) {
  auto secret = base58btcDecode("3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq");
  ASSERT_TRUE(secret.ok());
  ASSERT_EQ(secret->size(), 34u);
  EXPECT_EQ((*secret)[0], 0x80);
  EXPECT_EQ((*secret)[1], 0x26);
  std::array<uint8_t, 32> seed{};
  std::copy(secret->begin() + 2, secret->end(), seed.begin());
  auto key = BadgeSigningKey::fromSeed(seed);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(ed25519Multikey(key->publicKey()), "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2");
}

// The eddsa-jcs-2022 signed credential of the same test vectors verifies with
// that key, and an altered copy does not.
TEST(EddsaJcsProof, VerifiesTheCryptosuiteTestVector) {
  const json signed_vector = json::parse(R"({
  "@context": [
    "https://www.w3.org/ns/credentials/v2",
    "https://www.w3.org/ns/credentials/examples/v2"
  ],
  "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
  "type": ["VerifiableCredential", "AlumniCredential"],
  "name": "Alumni Credential",
  "description": "A minimum viable example of an Alumni Credential.",
  "issuer": "https://vc.example/issuers/5678",
  "validFrom": "2023-01-01T00:00:00Z",
  "credentialSubject": {
    "id": "did:example:abcdefgh",
    "alumniOf": "The School of Examples"
  },
  "proof": {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-jcs-2022",
    "created": "2023-02-24T23:36:38Z",
    "verificationMethod": "https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
    "proofPurpose": "assertionMethod",
    "@context": [
      "https://www.w3.org/ns/credentials/v2",
      "https://www.w3.org/ns/credentials/examples/v2"
    ],
    "proofValue": "z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQfmWqeRb8rRjmeEuCBEsddF9LsVogtuTsijJKh4"
  }
})");
  auto key = ed25519KeyOfDid("did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2");
  ASSERT_TRUE(key.ok());
  auto verified = verifyEddsaJcsProof(signed_vector, *key);
  EXPECT_TRUE(verified.ok()) << verified.error().message;
  json altered = signed_vector;
  altered["credentialSubject"]["alumniOf"] = "The School of Counterexamples";
  EXPECT_FALSE(verifyEddsaJcsProof(altered, *key).ok());
}

TEST(Badge, IssuedBadgeIsAnOpenBadgeCredentialThatVerifies) {
  auto key = BadgeSigningKey::fromSeed(seedOf(7));
  ASSERT_TRUE(key.ok());
  auto badge = issueBadge(claim(), *key);
  ASSERT_TRUE(badge.ok()) << badge.error().message;
  const json& b = *badge;
  EXPECT_EQ(b["@context"], json::parse(R"(["https://www.w3.org/ns/credentials/v2",
      "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"])"));
  EXPECT_EQ(b["type"], json::parse(R"(["VerifiableCredential","OpenBadgeCredential"])"));
  EXPECT_EQ(b["issuer"]["id"], key->did());
  EXPECT_EQ(b["issuer"]["type"], json::array({"Profile"}));
  EXPECT_EQ(b["issuer"]["name"], "PSO-PRIME Academy");
  EXPECT_EQ(b["issuer"]["url"], "https://academy.example.org");
  EXPECT_EQ(b["validFrom"], "2026-12-03T15:00:00Z");
  const json& subject = b["credentialSubject"];
  EXPECT_EQ(subject["type"], json::array({"AchievementSubject"}));
  EXPECT_EQ(subject["identifier"][0]["identityHash"], "lrn-7");
  EXPECT_EQ(subject["achievement"]["id"], "urn:pso-prime:achievement:foundation");
  EXPECT_EQ(subject["achievement"]["type"], json::array({"Achievement"}));
  const std::string narrative = subject["achievement"]["criteria"]["narrative"];
  EXPECT_NE(narrative.find("at least 70% of the questions of the foundation level"),
            std::string::npos)
      << narrative;
  EXPECT_NE(narrative.find("lrn-7 scored 83.3% (5 of 6 questions)"), std::string::npos)
      << narrative;
  const json& proof = b["proof"];
  EXPECT_EQ(proof["type"], "DataIntegrityProof");
  EXPECT_EQ(proof["cryptosuite"], "eddsa-jcs-2022");
  EXPECT_EQ(proof["proofPurpose"], "assertionMethod");
  EXPECT_EQ(proof["created"], "2026-12-03T15:00:00Z");
  EXPECT_EQ(proof["verificationMethod"],
            key->did() + "#" + key->did().substr(std::string("did:key:").size()));
  EXPECT_EQ(proof["proofValue"].get<std::string>()[0], 'z');

  // Pretty-printed or compact, the badge verifies: the signature is over JCS.
  for (const std::string& text : {b.dump(), b.dump(2)}) {
    auto verified = verifyBadge(text);
    ASSERT_TRUE(verified.ok()) << verified.error().message;
    EXPECT_EQ(verified->learner, "lrn-7");
    EXPECT_EQ(verified->level, "foundation");
    EXPECT_EQ(verified->issuer, key->did());
    EXPECT_EQ(verified->valid_from, "2026-12-03T15:00:00Z");
  }
  EXPECT_TRUE(verifyBadge(b.dump(), key->did()).ok());
  // Ed25519 is deterministic: the same claim and key sign the same badge.
  EXPECT_EQ(issueBadge(claim(), *key)->dump(), b.dump());
}

TEST(Badge, AlteredOrForeignBadgesAreRefused) {
  auto key = BadgeSigningKey::fromSeed(seedOf(7));
  auto other = BadgeSigningKey::fromSeed(seedOf(8));
  ASSERT_TRUE(key.ok() && other.ok());
  const json badge = *issueBadge(claim(), *key);
  auto refused = [](const json& doc, const std::string& issuer = "") {
    auto verified = verifyBadge(doc.dump(), issuer);
    EXPECT_FALSE(verified.ok()) << doc.dump();
    return verified.ok() ? std::string() : verified.error().message;
  };

  json altered = badge;
  altered["credentialSubject"]["identifier"][0]["identityHash"] = "lrn-8";
  EXPECT_NE(refused(altered).find("signature does not match"), std::string::npos);
  altered = badge;
  altered["credentialSubject"]["achievement"]["id"] =
      "urn:pso-prime:achievement:system_integration";
  refused(altered);
  altered = badge;
  altered["validFrom"] = "2020-01-01T00:00:00Z";
  refused(altered);
  altered = badge;
  altered["proof"]["created"] = "2020-01-01T00:00:00Z";
  refused(altered);

  // Signed by another key but naming this issuer; or issued by another key.
  json resigned = *addEddsaJcsProof(
      [&] {
        json unsecured = badge;
        unsecured.erase("proof");
        return unsecured;
      }(),
      *other, "2026-12-03T15:00:00Z");
  EXPECT_NE(refused(resigned).find("is not the signer"), std::string::npos);
  EXPECT_NE(refused(badge, other->did()).find("not by " + other->did()), std::string::npos);

  json no_proof = badge;
  no_proof.erase("proof");
  refused(no_proof);
  json other_suite = badge;
  other_suite["proof"]["cryptosuite"] = "eddsa-rdfc-2022";
  refused(other_suite);
  // The same name twice: a verifier keeping the first and one keeping the
  // last would read different badges, so neither reading is accepted.
  std::string twice = badge.dump();
  const std::string valid_from = "\"validFrom\":\"2026-12-03T15:00:00Z\"";
  ASSERT_NE(twice.find(valid_from), std::string::npos);
  twice.insert(twice.find(valid_from), "\"validFrom\":\"2020-01-01T00:00:00Z\",");
  auto duplicate = verifyBadge(twice);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_NE(duplicate.error().message.find("appears twice"), std::string::npos);
  json fraction = badge;
  fraction["credentialSubject"]["score"] = 0.83;
  EXPECT_NE(refused(fraction).find("not an integer"), std::string::npos);
}

TEST(Badge, MalformedInputIsAOneLineRefusal) {
  for (const std::string text :
       {"", "{", "[]", "null", "{\"type\":[\"VerifiableCredential\",\"OpenBadgeCredential\"]}",
        "{\"type\":[\"VerifiableCredential\",\"OpenBadgeCredential\"],\"proof\":[]}",
        "{\"type\":[\"VerifiableCredential\",\"OpenBadgeCredential\"],\"proof\":{"
        "\"verificationMethod\":\"did:key:zzz#zzz\"}}",
        "{\"type\":[\"VerifiableCredential\",\"OpenBadgeCredential\"],\"proof\":{"
        "\"verificationMethod\":\"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#"
        "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp\"},\"issuer\":7}"}) {
    auto verified = verifyBadge(text);
    ASSERT_FALSE(verified.ok()) << text;
    EXPECT_EQ(verified.error().code, "invalid");
    EXPECT_EQ(verified.error().message.find('\n'), std::string::npos);
  }
}

TEST(BadgeSigningKey, PemRoundTripKeepsTheKey) {
  auto key = BadgeSigningKey::generate();
  ASSERT_TRUE(key.ok()) << key.error().message;
  auto pem = key->toPem();
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(pem->rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  auto back = BadgeSigningKey::fromPem(*pem);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->did(), key->did());
  EXPECT_FALSE(BadgeSigningKey::fromPem("not a key").ok());
}

}  // namespace
}  // namespace pso::controller::scenarios
