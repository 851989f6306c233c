#pragma once

// did:key identifiers of Ed25519 public keys (W3C CCG did:key method): the
// multicodec prefix 0xed 0x01 and the 32 key bytes, multibase base58btc
// ("z..."), so "did:key:z6Mk...". The issuer of a badge is the did:key of the
// key that signs it; a verifier needs nothing but the identifier.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pso::controller::scenarios {

using Ed25519PublicKey = std::array<uint8_t, 32>;

/// Bitcoin's base58 alphabet, leading zero bytes as '1's.
std::string base58btcEncode(const std::vector<uint8_t>& bytes);
/// The inverse; a character outside the alphabet is code "invalid".
[[nodiscard]] Result<std::vector<uint8_t>> base58btcDecode(std::string_view text);

/// "z6Mk...": the key as a multibase base58btc multicodec ed25519-pub value.
std::string ed25519Multikey(const Ed25519PublicKey& key);
/// "did:key:z6Mk...".
std::string didKeyOf(const Ed25519PublicKey& key);
/// The key of "did:key:z6Mk..." (also of a DID URL with a fragment naming the
/// same key, "did:key:z6Mk...#z6Mk..."). Anything else, or a key of another
/// type, is code "invalid" saying what is wrong.
[[nodiscard]] Result<Ed25519PublicKey> ed25519KeyOfDid(std::string_view did);

}  // namespace pso::controller::scenarios
