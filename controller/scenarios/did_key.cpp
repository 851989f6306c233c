#include "controller/scenarios/did_key.h"

#include <algorithm>

namespace pso::controller::scenarios {
namespace {

constexpr std::string_view kAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kDidKeyPrefix = "did:key:";
constexpr uint8_t kEd25519PubCodec[2] = {0xed, 0x01};
// A did:key of an Ed25519 key is 48 base58 characters; anything much longer
// is refused before the quadratic decoder sees it.
constexpr std::size_t kMaxDecodedText = 256;

}  // namespace

std::string base58btcEncode(const std::vector<uint8_t>& bytes) {
  std::size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == 0) ++zeros;
  // Base-256 to base-58, most significant digit last.
  std::vector<uint8_t> digits;
  for (std::size_t i = zeros; i < bytes.size(); ++i) {
    uint32_t carry = bytes[i];
    for (auto& digit : digits) {
      carry += static_cast<uint32_t>(digit) << 8;
      digit = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits.push_back(static_cast<uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string out(zeros, '1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out += kAlphabet[*it];
  return out;
}

Result<std::vector<uint8_t>> base58btcDecode(std::string_view text) {
  if (text.size() > kMaxDecodedText) return makeError("invalid", "base58 text too long");
  std::size_t ones = 0;
  while (ones < text.size() && text[ones] == '1') ++ones;
  std::vector<uint8_t> bytes;  // least significant first
  for (std::size_t i = ones; i < text.size(); ++i) {
    const auto at = kAlphabet.find(text[i]);
    if (at == std::string_view::npos) {
      return makeError("invalid", "not base58btc: a character outside its alphabet");
    }
    uint32_t carry = static_cast<uint32_t>(at);
    for (auto& byte : bytes) {
      carry += static_cast<uint32_t>(byte) * 58;
      byte = static_cast<uint8_t>(carry & 0xFF);
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push_back(static_cast<uint8_t>(carry & 0xFF));
      carry >>= 8;
    }
  }
  std::vector<uint8_t> out(ones, 0);
  out.insert(out.end(), bytes.rbegin(), bytes.rend());
  return out;
}

std::string ed25519Multikey(const Ed25519PublicKey& key) {
  std::vector<uint8_t> bytes(std::begin(kEd25519PubCodec), std::end(kEd25519PubCodec));
  bytes.insert(bytes.end(), key.begin(), key.end());
  return "z" + base58btcEncode(bytes);
}

std::string didKeyOf(const Ed25519PublicKey& key) {
  return std::string(kDidKeyPrefix) + ed25519Multikey(key);
}

Result<Ed25519PublicKey> ed25519KeyOfDid(std::string_view did) {
  if (did.substr(0, kDidKeyPrefix.size()) != kDidKeyPrefix) {
    return makeError("invalid", "not a did:key identifier");
  }
  std::string_view multibase = did.substr(kDidKeyPrefix.size());
  if (const auto hash = multibase.find('#'); hash != std::string_view::npos) {
    if (multibase.substr(hash + 1) != multibase.substr(0, hash)) {
      return makeError("invalid", "the did:key fragment names another key");
    }
    multibase = multibase.substr(0, hash);
  }
  if (multibase.empty() || multibase[0] != 'z') {
    return makeError("invalid", "the did:key is not multibase base58btc (z...)");
  }
  auto bytes = base58btcDecode(multibase.substr(1));
  if (!bytes) return bytes.error();
  if (bytes->size() != 2 + 32 || (*bytes)[0] != kEd25519PubCodec[0] ||
      (*bytes)[1] != kEd25519PubCodec[1]) {
    return makeError("invalid", "the did:key is not an Ed25519 public key");
  }
  Ed25519PublicKey key{};
  std::copy(bytes->begin() + 2, bytes->end(), key.begin());
  return key;
}

}  // namespace pso::controller::scenarios
