// The encoding half of the codec (protocol/codec.h): messages to MessagePack maps.
#include <bit>
#include <cmath>
#include <cstdint>
#include <msgpack.hpp>
#include <string>
#include <vector>

#include "protocol/codec.h"

namespace pso::protocol {
namespace {

// msgpack-cxx's pack_double() turns whole-valued doubles into integers, and
// for exactly 2^64 converts out of range (undefined behaviour). Numbers are
// therefore packed here: whole values of magnitude below 2^53 (exact in a
// double) as the shortest integer, everything else as a float 64 written by
// hand. Decoders accept integers wherever a number is expected.
class Packer : public msgpack::packer<msgpack::sbuffer> {
 public:
  explicit Packer(msgpack::sbuffer& buffer)
      : msgpack::packer<msgpack::sbuffer>(buffer), buffer_(buffer) {}

  void packNumber(double d) {
    constexpr double kExactIntegerLimit = 9007199254740992.0;  // 2^53
    if (std::fabs(d) < kExactIntegerLimit && d == std::trunc(d)) {
      pack_int64(static_cast<int64_t>(d));
      return;
    }
    const auto bits = std::bit_cast<uint64_t>(d);
    char bytes[9];
    bytes[0] = static_cast<char>(0xcb);
    for (int i = 0; i < 8; ++i) bytes[1 + i] = static_cast<char>((bits >> (56 - 8 * i)) & 0xff);
    buffer_.write(bytes, sizeof(bytes));
  }

 private:
  msgpack::sbuffer& buffer_;
};

void packStr(Packer& p, std::string_view s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void packKey(Packer& p, std::string_view key) {
  packStr(p, key);
}

void packStrings(Packer& p, const std::vector<std::string>& items) {
  p.pack_array(static_cast<uint32_t>(items.size()));
  for (const auto& s : items) packStr(p, s);
}

// Every message map starts with "v" and "type"; `fields` counts the rest.
void packHeader(Packer& p, const char* type, uint32_t fields) {
  p.pack_map(2 + fields);
  packKey(p, "v");
  p.pack_int64(kProtocolVersion);
  packKey(p, "type");
  packStr(p, type);
}

void packSystem(Packer& p, const SystemInfo& s) {
  p.pack_map(10);
  packKey(p, "name");
  packStr(p, s.name);
  packKey(p, "actuator");
  packStr(p, s.actuator);
  packKey(p, "min_replicas");
  p.pack_int64(s.min_replicas);
  packKey(p, "max_replicas");
  p.pack_int64(s.max_replicas);
  packKey(p, "replicas");
  p.pack_int64(s.replicas);
  packKey(p, "capacity_per_replica");
  p.packNumber(s.capacity_per_replica);
  packKey(p, "target_utilization");
  p.packNumber(s.target_utilization);
  packKey(p, "warmup_ms");
  p.pack_int64(s.warmup_ms);
  packKey(p, "priority");
  p.pack_int64(s.priority);
  packKey(p, "depends_on");
  packStrings(p, s.depends_on);
}

void packBody(Packer& p, const Hello& m) {
  const bool position = m.next_seq > 0;
  packHeader(p, "hello", position ? 6 : 4);
  packKey(p, "agent_id");
  packStr(p, m.agent_id);
  packKey(p, "version");
  packStr(p, m.version);
  packKey(p, "host_facts");
  p.pack_map(static_cast<uint32_t>(m.host_facts.size()));
  for (const auto& [k, v] : m.host_facts) {
    packStr(p, k);
    packStr(p, v);
  }
  packKey(p, "systems");
  p.pack_array(static_cast<uint32_t>(m.systems.size()));
  for (const auto& s : m.systems) packSystem(p, s);
  if (position) {
    packKey(p, "next_seq");
    p.pack_uint64(m.next_seq);
    packKey(p, "oldest_seq");
    p.pack_uint64(m.oldest_seq);
  }
}

void packBody(Packer& p, const TelemetryBatch& m) {
  packHeader(p, "telemetry", 6);
  packKey(p, "agent_id");
  packStr(p, m.agent_id);
  packKey(p, "seq");
  p.pack_uint64(m.seq);
  packKey(p, "oldest_seq");
  p.pack_uint64(m.oldest_seq);
  packKey(p, "series");
  p.pack_array(static_cast<uint32_t>(m.series.size()));
  for (const auto& key : m.series) {
    p.pack_array(2);
    packStr(p, key.system);
    packStr(p, key.metric);
  }
  packKey(p, "timestamps_ms");
  p.pack_array(static_cast<uint32_t>(m.timestamps_ms.size()));
  for (int64_t ts : m.timestamps_ms) p.pack_int64(ts);
  packKey(p, "values");
  p.pack_array(static_cast<uint32_t>(m.values.size()));
  for (const auto& row : m.values) {
    p.pack_array(static_cast<uint32_t>(row.size()));
    // "No sample" is nil on the wire; infinities are not samples either.
    for (double v : row) {
      if (std::isfinite(v)) {
        p.packNumber(v);
      } else {
        p.pack_nil();
      }
    }
  }
}

void packBody(Packer& p, const Health& m) {
  packHeader(p, "health", 2);
  packKey(p, "agent_id");
  packStr(p, m.agent_id);
  packKey(p, "checks");
  p.pack_array(static_cast<uint32_t>(m.checks.size()));
  for (const auto& c : m.checks) {
    p.pack_map(6);
    packKey(p, "system");
    packStr(p, c.system);
    packKey(p, "check");
    packStr(p, c.check);
    packKey(p, "status");
    packStr(p, c.status);
    packKey(p, "latency_ms");
    p.packNumber(c.latency_ms);
    packKey(p, "error");
    packStr(p, c.error);
    packKey(p, "ts_ms");
    p.pack_int64(c.ts_ms);
  }
}

void packBody(Packer& p, const DirectiveResult& m) {
  packHeader(p, "result", 8);
  packKey(p, "agent_id");
  packStr(p, m.agent_id);
  packKey(p, "directive_id");
  packStr(p, m.directive_id);
  packKey(p, "system");
  packStr(p, m.system);
  packKey(p, "status");
  packStr(p, m.status);
  packKey(p, "replicas");
  p.pack_int64(m.replicas);
  packKey(p, "message");
  packStr(p, m.message);
  packKey(p, "ts_ms");
  p.pack_int64(m.ts_ms);
  packKey(p, "duration_ms");
  p.packNumber(m.duration_ms);
}

void packBody(Packer& p, const Heartbeat& m) {
  packHeader(p, "heartbeat", 4);
  packKey(p, "agent_id");
  packStr(p, m.agent_id);
  packKey(p, "ts_ms");
  p.pack_int64(m.ts_ms);
  packKey(p, "spool_pending");
  p.pack_uint64(m.spool_pending);
  packKey(p, "spool_dropped");
  p.pack_uint64(m.spool_dropped);
}

void packBody(Packer& p, const Welcome& m) {
  packHeader(p, "welcome", m.conflicts.empty() ? 4 : 5);
  packKey(p, "controller_id");
  packStr(p, m.controller_id);
  packKey(p, "ts_ms");
  p.pack_int64(m.ts_ms);
  packKey(p, "last_seq");
  p.pack_uint64(m.last_seq);
  packKey(p, "heartbeat_interval_ms");
  p.pack_int64(m.heartbeat_interval_ms);
  if (m.conflicts.empty()) return;
  packKey(p, "conflicts");
  p.pack_array(static_cast<uint32_t>(m.conflicts.size()));
  for (const auto& conflict : m.conflicts) {
    p.pack_map(2);
    packKey(p, "system");
    packStr(p, conflict.system);
    packKey(p, "owner");
    packStr(p, conflict.owner);
  }
}

void packBody(Packer& p, const Refused& m) {
  packHeader(p, "refused", 2);
  packKey(p, "reason");
  packStr(p, m.reason);
  packKey(p, "message");
  packStr(p, m.message);
}

void packBody(Packer& p, const Ack& m) {
  packHeader(p, "ack", 1);
  packKey(p, "seq");
  p.pack_uint64(m.seq);
}

void packBody(Packer& p, const Directive& m) {
  uint32_t fields = 4;  // id, system, action, deadline_ms
  fields += m.replicas ? 1 : 0;
  fields += m.cpu ? 1 : 0;
  fields += m.memory_bytes ? 1 : 0;
  fields += m.reason.empty() ? 0 : 1;
  fields += m.cycle_id.empty() ? 0 : 1;
  packHeader(p, "directive", fields);
  packKey(p, "id");
  packStr(p, m.id);
  packKey(p, "system");
  packStr(p, m.system);
  packKey(p, "action");
  packStr(p, m.action);
  if (m.replicas) {
    packKey(p, "replicas");
    p.pack_int64(*m.replicas);
  }
  if (m.cpu) {
    packKey(p, "cpu");
    p.packNumber(*m.cpu);
  }
  if (m.memory_bytes) {
    packKey(p, "memory_bytes");
    p.pack_int64(*m.memory_bytes);
  }
  if (!m.reason.empty()) {
    packKey(p, "reason");
    packStr(p, m.reason);
  }
  if (!m.cycle_id.empty()) {
    packKey(p, "cycle_id");
    packStr(p, m.cycle_id);
  }
  packKey(p, "deadline_ms");
  p.pack_int64(m.deadline_ms);
}

}  // namespace

std::string encode(const Message& message) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  std::visit([&packer](const auto& m) { packBody(packer, m); }, message);
  return std::string(buffer.data(), buffer.size());
}

}  // namespace pso::protocol
