#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "protocol/messages.h"

namespace pso::protocol {

/// Encodes a message as one MessagePack map with "v" and "type" keys, then
/// every field under its snake_case name (docs/protocol.md). Deterministic:
/// the same message always gives the same bytes. Non-finite telemetry values
/// become nil; unset optional directive fields are omitted. The encoder does
/// not validate: a message the decoder would refuse (e.g. seq 0) is encoded
/// as is.
[[nodiscard]] std::string encode(const Message& message);

/// Decodes and validates one frame. Unknown keys are ignored. Refusals carry an
/// Error whose code is one of: "malformed" (not MessagePack, truncated, trailing
/// bytes, not a map), "version" (missing or unsupported "v"), "unknown_type",
/// "missing_field", "wrong_type", "oversize", "invalid" (a value out of range or
/// inconsistent, e.g. a values row whose length differs from timestamps); the
/// message names the field. Never throws.
[[nodiscard]] Result<Message> decode(std::string_view frame);

}  // namespace pso::protocol
