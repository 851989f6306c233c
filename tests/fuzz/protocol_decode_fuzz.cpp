// libFuzzer harness for the wire decoder: any byte string must be refused or
// accepted without crashing, and whatever is accepted must survive an
// encode/decode round trip byte for byte.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pso::protocol;
  auto decoded = decode(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!decoded.ok()) {
    if (decoded.error().code.empty() || decoded.error().message.empty()) __builtin_trap();
    return 0;
  }
  const std::string once = encode(*decoded);
  auto again = decode(once);
  if (!again.ok() || encode(*again) != once) __builtin_trap();
  return 0;
}
