// The decoding half of the codec (protocol/codec.h): a frame of outside bytes
// to a message, refusing anything malformed with a stable code and the path of
// the field, never throwing.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "protocol/names.h"

namespace pso::protocol {
namespace {

// Ceilings applied while parsing, before any field is looked at. Arrays and
// maps are bounded by the largest per-field limit; strings get a generous hard
// ceiling here so that the per-field check (kMaxStringBytes) can run afterwards
// and name the offending field.
constexpr std::size_t kUnpackArrayLimit =
    std::max({kMaxSeries, kMaxPointsPerSeries, kMaxSystems, kMaxListItems});
constexpr std::size_t kUnpackMapLimit = kMaxListItems;
constexpr std::size_t kUnpackStrLimit = 16 * kMaxStringBytes;
constexpr std::size_t kUnpackBinLimit = kMaxStringBytes;
constexpr std::size_t kUnpackExtLimit = kMaxStringBytes;
constexpr std::size_t kUnpackDepthLimit = 16;

const char* wireTypeName(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return "nil";
    case msgpack::type::BOOLEAN:
      return "boolean";
    case msgpack::type::POSITIVE_INTEGER:
      return "integer";
    case msgpack::type::NEGATIVE_INTEGER:
      return "negative integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return "float";
    case msgpack::type::STR:
      return "string";
    case msgpack::type::BIN:
      return "binary";
    case msgpack::type::ARRAY:
      return "array";
    case msgpack::type::MAP:
      return "map";
    case msgpack::type::EXT:
      return "extension";
  }
  return "unknown";
}

// Collects the first refusal of a decode; readers return a default after a
// failure and the caller checks `failed()` once at the end, which keeps the
// per-message code a flat list of fields.
class Context {
 public:
  void setType(const char* type) { type_ = type; }
  bool failed() const { return error_.has_value(); }
  const Error& error() const { return *error_; }

  void fail(const char* code, const std::string& what) {
    if (!error_) error_ = Error{code, std::string(type_) + ": " + what};
  }
  void missing(const std::string& field) { fail("missing_field", "missing field '" + field + "'"); }
  void wrongType(const std::string& field, const char* expected, const msgpack::object& got) {
    fail("wrong_type", "field '" + field + "' has wrong type (expected " + expected + ", got " +
                           wireTypeName(got) + ")");
  }
  void oversize(const std::string& field, std::size_t size, std::size_t limit, const char* unit) {
    fail("oversize", "field '" + field + "' has " + std::to_string(size) + " " + unit + " (limit " +
                         std::to_string(limit) + ")");
  }
  // A name outside the fleet's naming rule (protocol/names.h): counted apart
  // from other refusals, since it is what an impostor or a broken config sends.
  void badName(const std::string& field, const std::string& why) {
    fail("invalid_name", "field '" + field + "' is not a valid name: " + why);
  }
  // Checks a decoded name; an empty one is left to nonEmpty() or allowed
  // where the field may be empty.
  void checkName(const std::string& field, const std::string& value, NameKind kind) {
    if (failed() || value.empty()) return;
    if (std::string why = nameProblem(value, kind); !why.empty()) badName(field, why);
  }
  void invalid(const std::string& field, const std::string& why) {
    fail("invalid", "field '" + field + "' " + why);
  }

 private:
  const char* type_ = "message";
  std::optional<Error> error_;
};

bool readString(Context& c, const msgpack::object& o, const std::string& field, std::string& out) {
  if (o.type != msgpack::type::STR) {
    c.wrongType(field, "string", o);
    return false;
  }
  if (o.via.str.size > kMaxStringBytes) {
    c.oversize(field, o.via.str.size, kMaxStringBytes, "bytes");
    return false;
  }
  out.assign(o.via.str.ptr, o.via.str.size);
  return true;
}

bool readUint(Context& c, const msgpack::object& o, const std::string& field, uint64_t& out) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) {
    c.wrongType(field, "unsigned integer", o);
    return false;
  }
  out = o.via.u64;
  return true;
}

bool readInt(Context& c, const msgpack::object& o, const std::string& field, int64_t& out) {
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    out = o.via.i64;
    return true;
  }
  if (o.type != msgpack::type::POSITIVE_INTEGER) {
    c.wrongType(field, "integer", o);
    return false;
  }
  if (o.via.u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    c.invalid(field, "is out of range for a signed 64-bit integer");
    return false;
  }
  out = static_cast<int64_t>(o.via.u64);
  return true;
}

// A number, integer or float; scalar fields must be finite.
bool readNumber(const msgpack::object& o, double& out) {
  switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER:
      out = static_cast<double>(o.via.u64);
      return true;
    case msgpack::type::NEGATIVE_INTEGER:
      out = static_cast<double>(o.via.i64);
      return true;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      out = o.via.f64;
      return true;
    default:
      return false;
  }
}

bool readDouble(Context& c, const msgpack::object& o, const std::string& field, double& out) {
  if (!readNumber(o, out)) {
    c.wrongType(field, "number", o);
    return false;
  }
  if (!std::isfinite(out)) {
    c.invalid(field, "is not a finite number");
    return false;
  }
  return true;
}

const msgpack::object_array* readArray(Context& c, const msgpack::object& o,
                                       const std::string& field, std::size_t limit) {
  if (o.type != msgpack::type::ARRAY) {
    c.wrongType(field, "array", o);
    return nullptr;
  }
  if (o.via.array.size > limit) {
    c.oversize(field, o.via.array.size, limit, "items");
    return nullptr;
  }
  return &o.via.array;
}

bool readStringList(Context& c, const msgpack::object& o, const std::string& field,
                    std::vector<std::string>& out) {
  const auto* array = readArray(c, o, field, kMaxListItems);
  if (!array) return false;
  out.resize(array->size);
  for (uint32_t i = 0; i < array->size; ++i) {
    if (!readString(c, array->ptr[i], field + "[" + std::to_string(i) + "]", out[i])) return false;
  }
  return true;
}

bool readStringMap(Context& c, const msgpack::object& o, const std::string& field,
                   std::map<std::string, std::string>& out) {
  if (o.type != msgpack::type::MAP) {
    c.wrongType(field, "map", o);
    return false;
  }
  if (o.via.map.size > kMaxListItems) {
    c.oversize(field, o.via.map.size, kMaxListItems, "entries");
    return false;
  }
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    std::string key;
    if (!readString(c, kv.key, field + " key", key)) return false;
    if (!readString(c, kv.val, field + "." + key, out[key])) return false;
  }
  return true;
}

// The fields of one MessagePack map. `path` prefixes field names in messages
// ("systems[2].name"). Keys that are not strings or not known are ignored.
class Fields {
 public:
  Fields(Context& c, const msgpack::object_map& map, std::string path)
      : c_(c), map_(map), path_(std::move(path)) {}

  std::string name(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const msgpack::object* find(std::string_view key) const {
    for (uint32_t i = 0; i < map_.size; ++i) {
      const auto& k = map_.ptr[i].key;
      if (k.type == msgpack::type::STR && std::string_view(k.via.str.ptr, k.via.str.size) == key) {
        return &map_.ptr[i].val;
      }
    }
    return nullptr;
  }

  // A required field; reports missing_field when absent.
  const msgpack::object* need(std::string_view key) {
    const auto* o = find(key);
    if (!o) c_.missing(name(key));
    return o;
  }
  // An optional field; nil counts as absent.
  const msgpack::object* maybe(std::string_view key) const {
    const auto* o = find(key);
    return (o && o->type != msgpack::type::NIL) ? o : nullptr;
  }

  void str(std::string_view key, std::string& out) {
    if (const auto* o = need(key)) readString(c_, *o, name(key), out);
  }
  void optStr(std::string_view key, std::string& out) {
    if (const auto* o = maybe(key)) readString(c_, *o, name(key), out);
  }
  void u64(std::string_view key, uint64_t& out) {
    if (const auto* o = need(key)) readUint(c_, *o, name(key), out);
  }
  void optU64(std::string_view key, uint64_t& out) {
    if (const auto* o = maybe(key)) readUint(c_, *o, name(key), out);
  }
  void i64(std::string_view key, int64_t& out) {
    if (const auto* o = need(key)) readInt(c_, *o, name(key), out);
  }
  void optI64(std::string_view key, int64_t& out) {
    if (const auto* o = maybe(key)) readInt(c_, *o, name(key), out);
  }
  void optI64(std::string_view key, std::optional<int64_t>& out) {
    int64_t v = 0;
    if (const auto* o = maybe(key); o && readInt(c_, *o, name(key), v)) out = v;
  }
  void f64(std::string_view key, double& out) {
    if (const auto* o = need(key)) readDouble(c_, *o, name(key), out);
  }
  void optF64(std::string_view key, double& out) {
    if (const auto* o = maybe(key)) readDouble(c_, *o, name(key), out);
  }
  void optF64(std::string_view key, std::optional<double>& out) {
    double v = 0;
    if (const auto* o = maybe(key); o && readDouble(c_, *o, name(key), v)) out = v;
  }
  void optStrings(std::string_view key, std::vector<std::string>& out) {
    if (const auto* o = maybe(key)) readStringList(c_, *o, name(key), out);
  }
  void optStringMap(std::string_view key, std::map<std::string, std::string>& out) {
    if (const auto* o = maybe(key)) readStringMap(c_, *o, name(key), out);
  }
  const msgpack::object_array* array(std::string_view key, std::size_t limit) {
    const auto* o = need(key);
    return o ? readArray(c_, *o, name(key), limit) : nullptr;
  }
  const msgpack::object_array* optArray(std::string_view key, std::size_t limit) {
    const auto* o = maybe(key);
    return o ? readArray(c_, *o, name(key), limit) : nullptr;
  }

  // Semantic checks, reported as "invalid" against a field of this map.
  void nonEmpty(std::string_view key, const std::string& value) {
    if (value.empty() && !c_.failed()) c_.invalid(name(key), "must not be empty");
  }
  void oneOf(std::string_view key, const std::string& value,
             std::initializer_list<std::string_view> allowed) {
    if (c_.failed()) return;
    for (auto a : allowed) {
      if (value == a) return;
    }
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : "|") + std::string(a);
    c_.invalid(name(key), "is '" + value + "', expected one of " + list);
  }
  void check(bool condition, std::string_view key, const std::string& why) {
    if (!condition && !c_.failed()) c_.invalid(name(key), why);
  }
  void validName(std::string_view key, const std::string& value, NameKind kind) {
    c_.checkName(name(key), value, kind);
  }

 private:
  Context& c_;
  const msgpack::object_map& map_;
  std::string path_;
};

// Iterates an array of maps, giving each element's Fields with an indexed path.
template <typename Fn>
void forEachMap(Context& c, const msgpack::object_array& array, const std::string& field, Fn fn) {
  for (uint32_t i = 0; i < array.size && !c.failed(); ++i) {
    const std::string path = field + "[" + std::to_string(i) + "]";
    const auto& item = array.ptr[i];
    if (item.type != msgpack::type::MAP) {
      c.wrongType(path, "map", item);
      return;
    }
    Fields f(c, item.via.map, path);
    fn(f, i);
  }
}

Hello decodeHello(Context& c, Fields& f) {
  Hello m;
  f.str("agent_id", m.agent_id);
  f.nonEmpty("agent_id", m.agent_id);
  f.validName("agent_id", m.agent_id, NameKind::kAgentId);
  f.str("version", m.version);
  f.optStringMap("host_facts", m.host_facts);
  if (const auto* systems = f.array("systems", kMaxSystems)) {
    m.systems.resize(systems->size);
    forEachMap(c, *systems, "systems", [&](Fields& s, uint32_t i) {
      SystemInfo& info = m.systems[i];
      s.str("name", info.name);
      s.nonEmpty("name", info.name);
      s.validName("name", info.name, NameKind::kSystem);
      s.str("actuator", info.actuator);
      s.i64("min_replicas", info.min_replicas);
      s.i64("max_replicas", info.max_replicas);
      s.i64("replicas", info.replicas);
      s.f64("capacity_per_replica", info.capacity_per_replica);
      s.f64("target_utilization", info.target_utilization);
      s.optI64("warmup_ms", info.warmup_ms);
      s.optI64("priority", info.priority);
      s.optStrings("depends_on", info.depends_on);
      for (std::size_t d = 0; d < info.depends_on.size(); ++d) {
        c.checkName(s.name("depends_on") + "[" + std::to_string(d) + "]", info.depends_on[d],
                    NameKind::kSystem);
      }
      s.check(info.min_replicas >= 0, "min_replicas", "must not be negative");
      s.check(info.max_replicas >= info.min_replicas, "max_replicas",
              "must not be less than min_replicas");
      s.check(info.capacity_per_replica > 0, "capacity_per_replica", "must be positive");
      s.check(info.target_utilization > 0 && info.target_utilization <= 1, "target_utilization",
              "must be in (0, 1]");
      s.check(info.warmup_ms >= 0, "warmup_ms", "must not be negative");
    });
  }
  f.optU64("next_seq", m.next_seq);
  f.optU64("oldest_seq", m.oldest_seq);
  f.check(m.oldest_seq <= m.next_seq, "oldest_seq", "must not exceed next_seq");
  f.check(m.next_seq == 0 || m.oldest_seq > 0, "oldest_seq", "is required with next_seq");
  return m;
}

TelemetryBatch decodeTelemetry(Context& c, Fields& f) {
  TelemetryBatch m;
  f.str("agent_id", m.agent_id);
  f.nonEmpty("agent_id", m.agent_id);
  f.validName("agent_id", m.agent_id, NameKind::kAgentId);
  f.u64("seq", m.seq);
  f.u64("oldest_seq", m.oldest_seq);
  f.check(m.seq >= 1, "seq", "must be at least 1");
  f.check(m.oldest_seq >= 1 && m.oldest_seq <= m.seq, "oldest_seq", "must be in [1, seq]");

  if (const auto* series = f.array("series", kMaxSeries); series && !c.failed()) {
    m.series.resize(series->size);
    for (uint32_t i = 0; i < series->size && !c.failed(); ++i) {
      const std::string path = "series[" + std::to_string(i) + "]";
      const auto* pair = readArray(c, series->ptr[i], path, 2);
      if (!pair) break;
      if (pair->size != 2) {
        c.invalid(path, "must be a [system, metric] pair");
        break;
      }
      readString(c, pair->ptr[0], path + "[0]", m.series[i].system);
      readString(c, pair->ptr[1], path + "[1]", m.series[i].metric);
      if (!c.failed() && m.series[i].metric.empty()) c.invalid(path + "[1]", "must not be empty");
      // An empty system names a host series of the sending agent.
      c.checkName(path + "[0]", m.series[i].system, NameKind::kSystem);
      c.checkName(path + "[1]", m.series[i].metric, NameKind::kMetric);
    }
  }
  if (const auto* ts = f.array("timestamps_ms", kMaxPointsPerSeries); ts && !c.failed()) {
    m.timestamps_ms.resize(ts->size);
    for (uint32_t j = 0; j < ts->size && !c.failed(); ++j) {
      // The common case skips building the field name, which only an error needs.
      const auto& t = ts->ptr[j];
      if (t.type == msgpack::type::POSITIVE_INTEGER &&
          t.via.u64 <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        m.timestamps_ms[j] = static_cast<int64_t>(t.via.u64);
      } else {
        readInt(c, t, "timestamps_ms[" + std::to_string(j) + "]", m.timestamps_ms[j]);
      }
    }
  }
  if (const auto* rows = f.array("values", kMaxSeries); rows && !c.failed()) {
    if (rows->size != m.series.size()) {
      c.invalid("values", "has " + std::to_string(rows->size) + " rows, expected " +
                              std::to_string(m.series.size()) + " (one per series)");
      return m;
    }
    m.values.resize(rows->size);
    const std::size_t width = m.timestamps_ms.size();
    for (uint32_t i = 0; i < rows->size && !c.failed(); ++i) {
      const std::string path = "values[" + std::to_string(i) + "]";
      const auto* row = readArray(c, rows->ptr[i], path, kMaxPointsPerSeries);
      if (!row) break;
      if (row->size != width) {
        c.invalid(path, "has " + std::to_string(row->size) + " values, expected " +
                            std::to_string(width) + " (one per timestamp)");
        break;
      }
      auto& out = m.values[i];
      out.resize(width);
      for (uint32_t j = 0; j < width; ++j) {
        const auto& cell = row->ptr[j];
        if (cell.type == msgpack::type::NIL) {
          out[j] = std::numeric_limits<double>::quiet_NaN();
        } else if (!readNumber(cell, out[j])) {
          c.wrongType(path + "[" + std::to_string(j) + "]", "number or nil", cell);
          break;
        } else if (std::isinf(out[j])) {
          c.invalid(path + "[" + std::to_string(j) + "]", "is infinite");
          break;
        }
      }
    }
  }
  return m;
}

Health decodeHealth(Context& c, Fields& f) {
  Health m;
  f.str("agent_id", m.agent_id);
  f.nonEmpty("agent_id", m.agent_id);
  f.validName("agent_id", m.agent_id, NameKind::kAgentId);
  if (const auto* checks = f.array("checks", kMaxListItems)) {
    m.checks.resize(checks->size);
    forEachMap(c, *checks, "checks", [&](Fields& h, uint32_t i) {
      HealthCheckResult& r = m.checks[i];
      h.str("system", r.system);
      h.validName("system", r.system, NameKind::kSystem);
      h.str("check", r.check);
      h.nonEmpty("check", r.check);
      h.str("status", r.status);
      h.oneOf("status", r.status, {"ok", "failing", "unknown"});
      h.optF64("latency_ms", r.latency_ms);
      h.optStr("error", r.error);
      h.i64("ts_ms", r.ts_ms);
    });
  }
  return m;
}

DirectiveResult decodeResult(Context&, Fields& f) {
  DirectiveResult m;
  f.str("agent_id", m.agent_id);
  f.nonEmpty("agent_id", m.agent_id);
  f.validName("agent_id", m.agent_id, NameKind::kAgentId);
  f.str("directive_id", m.directive_id);
  f.nonEmpty("directive_id", m.directive_id);
  f.str("system", m.system);
  f.validName("system", m.system, NameKind::kSystem);
  f.str("status", m.status);
  f.oneOf("status", m.status, {"applied", "refused", "failed", "dry_run", "expired"});
  f.optI64("replicas", m.replicas);
  f.optStr("message", m.message);
  f.i64("ts_ms", m.ts_ms);
  f.optF64("duration_ms", m.duration_ms);
  f.check(m.replicas >= -1, "replicas", "must be -1 (unknown) or a replica count");
  return m;
}

Heartbeat decodeHeartbeat(Context&, Fields& f) {
  Heartbeat m;
  f.str("agent_id", m.agent_id);
  f.nonEmpty("agent_id", m.agent_id);
  f.validName("agent_id", m.agent_id, NameKind::kAgentId);
  f.i64("ts_ms", m.ts_ms);
  f.optU64("spool_pending", m.spool_pending);
  f.optU64("spool_dropped", m.spool_dropped);
  return m;
}

Welcome decodeWelcome(Context& c, Fields& f) {
  Welcome m;
  f.str("controller_id", m.controller_id);
  f.i64("ts_ms", m.ts_ms);
  f.u64("last_seq", m.last_seq);
  f.optI64("heartbeat_interval_ms", m.heartbeat_interval_ms);
  f.check(m.heartbeat_interval_ms > 0, "heartbeat_interval_ms", "must be positive");
  if (const auto* conflicts = f.optArray("conflicts", kMaxSystems)) {
    m.conflicts.resize(conflicts->size);
    forEachMap(c, *conflicts, "conflicts", [&](Fields& s, uint32_t i) {
      SystemConflict& conflict = m.conflicts[i];
      s.str("system", conflict.system);
      s.validName("system", conflict.system, NameKind::kSystem);
      s.str("owner", conflict.owner);
      s.validName("owner", conflict.owner, NameKind::kAgentId);
    });
  }
  return m;
}

Refused decodeRefused(Context&, Fields& f) {
  Refused m;
  f.str("reason", m.reason);
  f.nonEmpty("reason", m.reason);
  f.optStr("message", m.message);
  return m;
}

Ack decodeAck(Context&, Fields& f) {
  Ack m;
  f.u64("seq", m.seq);
  return m;
}

Directive decodeDirective(Context&, Fields& f) {
  Directive m;
  f.str("id", m.id);
  f.nonEmpty("id", m.id);
  f.str("system", m.system);
  f.nonEmpty("system", m.system);
  f.validName("system", m.system, NameKind::kSystem);
  f.str("action", m.action);
  f.oneOf("action", m.action, {"scale", "limits"});
  f.optI64("replicas", m.replicas);
  f.optF64("cpu", m.cpu);
  f.optI64("memory_bytes", m.memory_bytes);
  f.optStr("reason", m.reason);
  f.optStr("cycle_id", m.cycle_id);
  f.i64("deadline_ms", m.deadline_ms);
  if (m.action == "scale") {
    f.check(m.replicas.has_value(), "replicas", "is required for action 'scale'");
  } else {
    f.check(m.cpu.has_value() || m.memory_bytes.has_value(), "cpu",
            "or 'memory_bytes' is required for action 'limits'");
  }
  f.check(!m.replicas || *m.replicas >= 0, "replicas", "must not be negative");
  f.check(!m.cpu || *m.cpu > 0, "cpu", "must be positive");
  f.check(!m.memory_bytes || *m.memory_bytes > 0, "memory_bytes", "must be positive");
  return m;
}

// Strings may point into the frame instead of being copied: the frame outlives
// the unpacked object during decode, and every string is copied out of it.
bool referenceEverything(msgpack::type::object_type, std::size_t, void*) {
  return true;
}

Result<Message> decodeObject(const msgpack::object& root) {
  Context c;
  if (root.type != msgpack::type::MAP) {
    return makeError("malformed",
                     std::string("message: not a map (got ") + wireTypeName(root) + ")");
  }
  Fields f(c, root.via.map, "");
  const auto* v = f.find("v");
  if (!v) return makeError("version", "message: missing field 'v'");
  if (v->type != msgpack::type::POSITIVE_INTEGER ||
      v->via.u64 != static_cast<uint64_t>(kProtocolVersion)) {
    std::string got = wireTypeName(*v);
    if (v->type == msgpack::type::POSITIVE_INTEGER) got = std::to_string(v->via.u64);
    if (v->type == msgpack::type::NEGATIVE_INTEGER) got = std::to_string(v->via.i64);
    return makeError("version", "message: unsupported protocol version " + got + " (expected " +
                                    std::to_string(kProtocolVersion) + ")");
  }
  std::string type;
  if (const auto* t = f.need("type")) readString(c, *t, "type", type);
  if (c.failed()) return c.error();
  c.setType(type.c_str());

  auto finish = [&c](auto message) -> Result<Message> {
    if (c.failed()) return c.error();
    return Message(std::move(message));
  };
  if (type == "hello") return finish(decodeHello(c, f));
  if (type == "telemetry") return finish(decodeTelemetry(c, f));
  if (type == "health") return finish(decodeHealth(c, f));
  if (type == "result") return finish(decodeResult(c, f));
  if (type == "heartbeat") return finish(decodeHeartbeat(c, f));
  if (type == "welcome") return finish(decodeWelcome(c, f));
  if (type == "ack") return finish(decodeAck(c, f));
  if (type == "directive") return finish(decodeDirective(c, f));
  if (type == "refused") return finish(decodeRefused(c, f));
  std::string shown = type.size() > 64 ? type.substr(0, 64) + "..." : type;
  return makeError("unknown_type", "message: unknown type '" + shown + "'");
}

}  // namespace

Result<Message> decode(std::string_view frame) {
  if (frame.size() > kMaxMessageBytes) {
    return makeError("oversize", "message: frame of " + std::to_string(frame.size()) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(kMaxMessageBytes));
  }
  if (frame.empty()) return makeError("malformed", "message: empty frame");
  try {
    const msgpack::unpack_limit limits(kUnpackArrayLimit, kUnpackMapLimit, kUnpackStrLimit,
                                       kUnpackBinLimit, kUnpackExtLimit, kUnpackDepthLimit);
    // One zone per decoding thread, cleared after every frame: a zone of its
    // own would cost each message an 8 KiB allocation and its free on the
    // controller's ingest thread (about 10,000 messages a second at 10,000
    // agents). clear() keeps the zone's first chunk and frees any more a
    // large frame took.
    thread_local msgpack::zone zone;
    struct ClearZone {
      ~ClearZone() { zone.clear(); }
    } clear_zone;
    std::size_t offset = 0;
    bool referenced = false;
    const msgpack::object root = msgpack::unpack(zone, frame.data(), frame.size(), offset,
                                                 referenced, &referenceEverything, nullptr, limits);
    if (offset != frame.size()) {
      return makeError("malformed", "message: " + std::to_string(frame.size() - offset) +
                                        " trailing bytes after the MessagePack map");
    }
    return decodeObject(root);
  } catch (const msgpack::insufficient_bytes&) {
    return makeError("malformed", "message: truncated MessagePack");
  } catch (const msgpack::size_overflow& e) {
    return makeError("oversize", std::string("message: a container or string exceeds the "
                                             "decoder's limits (") +
                                     e.what() + ")");
  } catch (const msgpack::unpack_error& e) {
    return makeError("malformed", std::string("message: not valid MessagePack (") + e.what() + ")");
  } catch (const std::exception& e) {
    return makeError("malformed", std::string("message: cannot decode (") + e.what() + ")");
  }
}

}  // namespace pso::protocol
