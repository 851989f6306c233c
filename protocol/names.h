#pragma once

// The fleet's naming rules (docs/protocol.md, "Names"), checked by the codec
// on every message and by config loading, so a name that could split a log
// line, a response header or a file path never enters the controller:
// - agent ids and system names: 1-64 characters of [A-Za-z0-9._-], starting
//   with a letter or digit (a host name fits; "web", "db-01.eu" do);
// - metric names: 1-128 characters of [A-Za-z0-9._:/-], starting with a
//   letter, digit or '_' (Prometheus names, "cpu.usage" and a filesystem
//   series such as "fs.used_bytes:/var/lib" fit).

#include <cstddef>
#include <string>
#include <string_view>

namespace pso::protocol {

enum class NameKind { kAgentId, kSystem, kMetric };

inline constexpr std::size_t kMaxIdLength = 64;
inline constexpr std::size_t kMaxMetricNameLength = 128;

/// True when `name` follows the rule of its kind.
bool isValidName(std::string_view name, NameKind kind);

/// The reason a name breaks its rule, for a one-line refusal ("must be 1-64
/// characters", "character 0x0d is not allowed", ...); empty when valid.
std::string nameProblem(std::string_view name, NameKind kind);

}  // namespace pso::protocol
