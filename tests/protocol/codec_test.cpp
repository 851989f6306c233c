#include "protocol/codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <msgpack.hpp>
#include <random>
#include <string>
#include <vector>

#include "tests/protocol/message_samples.h"

namespace pso::protocol {
namespace {

using namespace pso::protocol::testing;
using Packer = msgpack::packer<msgpack::sbuffer>;

template <typename T>
T decodeAs(const std::string& frame) {
  auto decoded = decode(frame);
  EXPECT_TRUE(decoded.ok()) << decoded.error().code << ": " << decoded.error().message;
  if (!decoded.ok()) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*decoded)) << messageTypeName(*decoded);
  return std::holds_alternative<T>(*decoded) ? std::get<T>(*decoded) : T{};
}

// A hand-built frame: each field packs its own key and value, so tests can
// drop, retype or add keys freely.
struct Field {
  std::string key;
  std::function<void(Packer&)> pack;
};

void packString(Packer& p, const std::string& s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

Field str(std::string key, std::string value) {
  return {std::move(key), [value](Packer& p) { packString(p, value); }};
}
Field uint(std::string key, uint64_t value) {
  return {std::move(key), [value](Packer& p) { p.pack_uint64(value); }};
}
Field sint(std::string key, int64_t value) {
  return {std::move(key), [value](Packer& p) { p.pack_int64(value); }};
}
Field real(std::string key, double value) {
  return {std::move(key), [value](Packer& p) { p.pack_double(value); }};
}
Field nil(std::string key) {
  return {std::move(key), [](Packer& p) { p.pack_nil(); }};
}
Field raw(std::string key, std::function<void(Packer&)> pack) {
  return {std::move(key), std::move(pack)};
}

std::string frame(const std::vector<Field>& fields) {
  msgpack::sbuffer buffer;
  Packer p(buffer);
  p.pack_map(static_cast<uint32_t>(fields.size()));
  for (const auto& f : fields) {
    packString(p, f.key);
    f.pack(p);
  }
  return std::string(buffer.data(), buffer.size());
}

std::vector<Field> without(std::vector<Field> fields, const std::string& key) {
  std::erase_if(fields, [&](const Field& f) { return f.key == key; });
  return fields;
}

std::vector<Field> replaced(std::vector<Field> fields, Field field) {
  for (auto& f : fields) {
    if (f.key == field.key) f = field;
  }
  return fields;
}

// A valid telemetry frame with two series and two timestamps.
std::vector<Field> telemetryFields() {
  return {
      sint("v", 1),
      str("type", "telemetry"),
      str("agent_id", "edge-01"),
      uint("seq", 5),
      uint("oldest_seq", 3),
      raw("series",
          [](Packer& p) {
            p.pack_array(2);
            p.pack_array(2);
            packString(p, "web");
            packString(p, "demand");
            p.pack_array(2);
            packString(p, "");
            packString(p, "cpu.usage");
          }),
      raw("timestamps_ms",
          [](Packer& p) {
            p.pack_array(2);
            p.pack_int64(1000);
            p.pack_int64(2000);
          }),
      raw("values",
          [](Packer& p) {
            p.pack_array(2);
            p.pack_array(2);
            p.pack_double(1.5);
            p.pack_nil();
            p.pack_array(2);
            p.pack_int64(7);
            p.pack_int64(-3);
          }),
  };
}

Error refusal(const std::string& bytes) {
  auto decoded = decode(bytes);
  EXPECT_FALSE(decoded.ok()) << "frame was accepted";
  return decoded.ok() ? Error{"accepted", ""} : decoded.error();
}

TEST(ProtocolCodec, MessageTypeNamesMatchTheWire) {
  EXPECT_STREQ(messageTypeName(sampleHello()), "hello");
  EXPECT_STREQ(messageTypeName(sampleTelemetry()), "telemetry");
  EXPECT_STREQ(messageTypeName(sampleHealth()), "health");
  EXPECT_STREQ(messageTypeName(sampleResult()), "result");
  EXPECT_STREQ(messageTypeName(sampleHeartbeat()), "heartbeat");
  EXPECT_STREQ(messageTypeName(sampleWelcome()), "welcome");
  EXPECT_STREQ(messageTypeName(sampleAck()), "ack");
  EXPECT_STREQ(messageTypeName(sampleScaleDirective()), "directive");
  EXPECT_STREQ(messageTypeName(sampleRefused()), "refused");
}

TEST(ProtocolCodec, HelloRoundTripsEveryField) {
  const Hello in = sampleHello();
  const Hello out = decodeAs<Hello>(encode(in));
  EXPECT_EQ(out.agent_id, in.agent_id);
  EXPECT_EQ(out.version, in.version);
  EXPECT_EQ(out.host_facts, in.host_facts);
  ASSERT_EQ(out.systems.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& a = in.systems[i];
    const auto& b = out.systems[i];
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.actuator, a.actuator);
    EXPECT_EQ(b.min_replicas, a.min_replicas);
    EXPECT_EQ(b.max_replicas, a.max_replicas);
    EXPECT_EQ(b.replicas, a.replicas);
    EXPECT_DOUBLE_EQ(b.capacity_per_replica, a.capacity_per_replica);
    EXPECT_DOUBLE_EQ(b.target_utilization, a.target_utilization);
    EXPECT_EQ(b.warmup_ms, a.warmup_ms);
    EXPECT_EQ(b.priority, a.priority);
    EXPECT_EQ(b.depends_on, a.depends_on);
  }
  EXPECT_EQ(out.next_seq, 43u);
  EXPECT_EQ(out.oldest_seq, 40u);
}

// An agent that does not say its spool position (older agents) is still
// understood, and a position that contradicts itself is refused.
TEST(ProtocolCodec, HelloPositionIsOptionalButConsistent) {
  Hello plain = sampleHello();
  plain.next_seq = 0;
  plain.oldest_seq = 0;
  const Hello out = decodeAs<Hello>(encode(plain));
  EXPECT_EQ(out.next_seq, 0u);
  EXPECT_EQ(out.oldest_seq, 0u);

  Hello backwards = sampleHello();
  backwards.oldest_seq = backwards.next_seq + 1;
  Error error = refusal(encode(backwards));
  EXPECT_EQ(error.code, "invalid");
  EXPECT_NE(error.message.find("oldest_seq"), std::string::npos) << error.message;

  Hello no_oldest = sampleHello();
  no_oldest.oldest_seq = 0;
  EXPECT_EQ(refusal(encode(no_oldest)).code, "invalid");
}

TEST(ProtocolCodec, RefusedRoundTripsAndNeedsAReason) {
  const Refused out = decodeAs<Refused>(encode(sampleRefused()));
  EXPECT_EQ(out.reason, "id_in_use");
  EXPECT_EQ(out.message, sampleRefused().message);
  EXPECT_EQ(refusal(encode(Refused{"", "why"})).code, "invalid");
}

TEST(ProtocolCodec, WelcomeConflictNamesAreChecked) {
  Welcome bad = sampleWelcome();
  bad.conflicts = {{"web\r\nX-Injected: 1", "edge-02"}};
  EXPECT_EQ(refusal(encode(bad)).code, "invalid_name");
}

TEST(ProtocolCodec, TelemetryRoundTripsWithNanAsNil) {
  const TelemetryBatch in = sampleTelemetry();
  const TelemetryBatch out = decodeAs<TelemetryBatch>(encode(in));
  EXPECT_EQ(out.agent_id, in.agent_id);
  EXPECT_EQ(out.seq, 42u);
  EXPECT_EQ(out.oldest_seq, 40u);
  EXPECT_EQ(out.series, in.series);
  EXPECT_EQ(out.timestamps_ms, in.timestamps_ms);
  ASSERT_EQ(out.values.size(), in.values.size());
  for (std::size_t i = 0; i < in.values.size(); ++i) {
    ASSERT_EQ(out.values[i].size(), in.values[i].size());
    for (std::size_t j = 0; j < in.values[i].size(); ++j) {
      if (std::isnan(in.values[i][j])) {
        EXPECT_TRUE(std::isnan(out.values[i][j])) << i << "," << j;
      } else {
        EXPECT_EQ(out.values[i][j], in.values[i][j]) << i << "," << j;
      }
    }
  }
}

// One decoding zone serves every frame of a thread: a frame far larger than
// its first chunk, then a broken frame, then a small one, each decode to
// exactly what was encoded, nothing carried over from the frame before.
TEST(ProtocolCodec, FramesDecodeAloneWhateverTheFrameBeforeThem) {
  TelemetryBatch large = sampleTelemetry();
  large.series.clear();
  large.values.clear();
  for (int i = 0; i < 2000; ++i) {
    large.series.push_back({"system-" + std::to_string(i), "metric.with.a.longer.name"});
    large.values.push_back(std::vector<double>(large.timestamps_ms.size(), 0.5 * i));
  }
  const std::string large_frame = encode(large);
  ASSERT_GT(large_frame.size(), 64u * 1024);
  const TelemetryBatch small = sampleTelemetry();
  for (int round = 0; round < 3; ++round) {
    const TelemetryBatch big = decodeAs<TelemetryBatch>(large_frame);
    ASSERT_EQ(big.series, large.series);
    ASSERT_EQ(big.values.back(), large.values.back());
    EXPECT_FALSE(decode(large_frame.substr(0, large_frame.size() / 2)).ok());
    const TelemetryBatch out = decodeAs<TelemetryBatch>(encode(small));
    EXPECT_EQ(out.series, small.series);
    EXPECT_EQ(out.timestamps_ms, small.timestamps_ms);
    EXPECT_EQ(out.seq, small.seq);
  }
}

TEST(ProtocolCodec, TelemetryEncodesInfinityAsNoSample) {
  TelemetryBatch in = sampleTelemetry();
  in.values[0][0] = std::numeric_limits<double>::infinity();
  const TelemetryBatch out = decodeAs<TelemetryBatch>(encode(in));
  ASSERT_EQ(out.values.size(), 3u);
  EXPECT_TRUE(std::isnan(out.values[0][0]));
}

TEST(ProtocolCodec, NumbersKeepTheirExactValue) {
  // Whole values travel as integers, the rest as float 64; both decode exactly,
  // including values past the integer ranges.
  const std::vector<double> values = {0.0,    -0.0,    3.0,    -7.0,         0.1,
                                      1e300,  -1e300,  0x1p53, 0x1p63,       0x1p64,
                                      0x1p70, -0x1p63, 5e-324, 123456789.125};
  TelemetryBatch in = sampleTelemetry();
  in.timestamps_ms.resize(values.size());
  for (std::size_t j = 0; j < values.size(); ++j) in.timestamps_ms[j] = static_cast<int64_t>(j);
  for (auto& row : in.values) row = values;
  const TelemetryBatch out = decodeAs<TelemetryBatch>(encode(in));
  ASSERT_EQ(out.values.size(), in.values.size());
  for (std::size_t j = 0; j < values.size(); ++j) {
    EXPECT_EQ(out.values[0][j], values[j]) << j;
  }
}

TEST(ProtocolCodec, HealthRoundTripsEveryField) {
  const Health in = sampleHealth();
  const Health out = decodeAs<Health>(encode(in));
  EXPECT_EQ(out.agent_id, in.agent_id);
  ASSERT_EQ(out.checks.size(), in.checks.size());
  for (std::size_t i = 0; i < in.checks.size(); ++i) {
    EXPECT_EQ(out.checks[i].system, in.checks[i].system);
    EXPECT_EQ(out.checks[i].check, in.checks[i].check);
    EXPECT_EQ(out.checks[i].status, in.checks[i].status);
    EXPECT_DOUBLE_EQ(out.checks[i].latency_ms, in.checks[i].latency_ms);
    EXPECT_EQ(out.checks[i].error, in.checks[i].error);
    EXPECT_EQ(out.checks[i].ts_ms, in.checks[i].ts_ms);
  }
}

TEST(ProtocolCodec, ResultRoundTripsEveryField) {
  const DirectiveResult in = sampleResult();
  const DirectiveResult out = decodeAs<DirectiveResult>(encode(in));
  EXPECT_EQ(out.agent_id, in.agent_id);
  EXPECT_EQ(out.directive_id, in.directive_id);
  EXPECT_EQ(out.system, in.system);
  EXPECT_EQ(out.status, in.status);
  EXPECT_EQ(out.replicas, in.replicas);
  EXPECT_EQ(out.message, in.message);
  EXPECT_EQ(out.ts_ms, in.ts_ms);
  EXPECT_DOUBLE_EQ(out.duration_ms, in.duration_ms);
}

TEST(ProtocolCodec, ResultKeepsUnknownReplicaCount) {
  DirectiveResult in = sampleResult();
  in.status = "failed";
  in.replicas = -1;
  EXPECT_EQ(decodeAs<DirectiveResult>(encode(in)).replicas, -1);
}

TEST(ProtocolCodec, HeartbeatWelcomeAndAckRoundTrip) {
  const Heartbeat hb = decodeAs<Heartbeat>(encode(sampleHeartbeat()));
  EXPECT_EQ(hb.agent_id, "edge-01");
  EXPECT_EQ(hb.ts_ms, 1700000000999);
  EXPECT_EQ(hb.spool_pending, 7u);
  EXPECT_EQ(hb.spool_dropped, 2u);

  const Welcome w = decodeAs<Welcome>(encode(sampleWelcome()));
  EXPECT_EQ(w.controller_id, "pso-controller");
  EXPECT_EQ(w.ts_ms, 1700000000500);
  EXPECT_EQ(w.last_seq, 39u);
  EXPECT_EQ(w.heartbeat_interval_ms, 2500);
  ASSERT_EQ(w.conflicts.size(), 1u);
  EXPECT_EQ(w.conflicts[0].system, "db");
  EXPECT_EQ(w.conflicts[0].owner, "edge-02");

  EXPECT_EQ(decodeAs<Ack>(encode(sampleAck())).seq, 41u);
  EXPECT_EQ(decodeAs<Ack>(encode(Ack{0})).seq, 0u);
}

TEST(ProtocolCodec, DirectivesRoundTripWithOptionalFields) {
  const Directive scale_in = sampleScaleDirective();
  const Directive scale = decodeAs<Directive>(encode(scale_in));
  EXPECT_EQ(scale.id, scale_in.id);
  EXPECT_EQ(scale.system, scale_in.system);
  EXPECT_EQ(scale.action, "scale");
  EXPECT_EQ(scale.replicas, std::optional<int64_t>(5));
  EXPECT_FALSE(scale.cpu.has_value());
  EXPECT_FALSE(scale.memory_bytes.has_value());
  EXPECT_EQ(scale.reason, scale_in.reason);
  EXPECT_EQ(scale.cycle_id, scale_in.cycle_id);
  EXPECT_EQ(scale.deadline_ms, scale_in.deadline_ms);

  const Directive limits = decodeAs<Directive>(encode(sampleLimitsDirective()));
  EXPECT_EQ(limits.action, "limits");
  EXPECT_FALSE(limits.replicas.has_value());
  EXPECT_EQ(limits.cpu, std::optional<double>(1.5));
  EXPECT_EQ(limits.memory_bytes, std::optional<int64_t>(512LL * 1024 * 1024));
  EXPECT_TRUE(limits.reason.empty());
  EXPECT_TRUE(limits.cycle_id.empty());
}

TEST(ProtocolCodec, DirectiveOmitsEmptyOptionalFieldsOnTheWire) {
  const std::string bytes = encode(sampleLimitsDirective());
  const msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
  const msgpack::object& root = handle.get();
  ASSERT_EQ(root.type, msgpack::type::MAP);
  std::vector<std::string> keys;
  for (uint32_t i = 0; i < root.via.map.size; ++i) {
    keys.push_back(root.via.map.ptr[i].key.as<std::string>());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"v", "type", "id", "system", "action", "cpu",
                                            "memory_bytes", "deadline_ms"}));
}

TEST(ProtocolCodec, ReencodingADecodedMessageGivesTheSameBytes) {
  for (const auto& [name, message] : allSamples()) {
    const std::string bytes = encode(message);
    auto decoded = decode(bytes);
    ASSERT_TRUE(decoded.ok()) << name << ": " << decoded.error().message;
    EXPECT_EQ(encode(*decoded), bytes) << name;
  }
}

TEST(ProtocolCodec, HandBuiltFrameDecodes) {
  const auto batch = decodeAs<TelemetryBatch>(frame(telemetryFields()));
  EXPECT_EQ(batch.seq, 5u);
  ASSERT_EQ(batch.values.size(), 2u);
  EXPECT_DOUBLE_EQ(batch.values[0][0], 1.5);
  EXPECT_TRUE(std::isnan(batch.values[0][1]));
  EXPECT_DOUBLE_EQ(batch.values[1][0], 7.0);
  EXPECT_DOUBLE_EQ(batch.values[1][1], -3.0);
}

TEST(ProtocolCodec, TimestampsMayBeNegativeButMustBeIntegers) {
  auto fields = replaced(telemetryFields(), raw("timestamps_ms", [](Packer& p) {
                           p.pack_array(2);
                           p.pack_int64(-1000);
                           p.pack_int64(0);
                         }));
  const auto batch = decodeAs<TelemetryBatch>(frame(fields));
  EXPECT_EQ(batch.timestamps_ms, (std::vector<int64_t>{-1000, 0}));

  fields = replaced(telemetryFields(), raw("timestamps_ms", [](Packer& p) {
                      p.pack_array(2);
                      p.pack_int64(1000);
                      p.pack_double(2000.5);
                    }));
  const Error e = refusal(frame(fields));
  EXPECT_EQ(e.code, "wrong_type");
  EXPECT_EQ(e.message,
            "telemetry: field 'timestamps_ms[1]' has wrong type (expected integer, got float)");
}

TEST(ProtocolCodec, UnknownKeysAreIgnored) {
  auto fields = telemetryFields();
  fields.push_back(str("compression", "none"));
  fields.push_back(raw("future", [](Packer& p) {
    p.pack_map(1);
    packString(p, "nested");
    p.pack_array(3);
    p.pack_nil();
    p.pack_true();
    p.pack_double(2.5);
  }));
  fields.push_back(raw("", [](Packer& p) { p.pack_int64(-1); }));
  const auto batch = decodeAs<TelemetryBatch>(frame(fields));
  EXPECT_EQ(batch.agent_id, "edge-01");
  EXPECT_EQ(batch.series.size(), 2u);
}

TEST(ProtocolCodec, NonStringKeysAreIgnored) {
  msgpack::sbuffer buffer;
  Packer p(buffer);
  p.pack_map(3);
  packString(p, "v");
  p.pack_int64(1);
  packString(p, "type");
  packString(p, "ack");
  p.pack_int64(7);  // an integer key
  p.pack_int64(8);
  auto decoded = decode(std::string(buffer.data(), buffer.size()));
  ASSERT_FALSE(decoded.ok());
  // The integer key is skipped, so the refusal is about the real missing key.
  EXPECT_EQ(decoded.error().code, "missing_field");
  EXPECT_EQ(decoded.error().message, "ack: missing field 'seq'");
}

TEST(ProtocolCodec, DoubleFieldsAcceptIntegers) {
  const auto result = decodeAs<DirectiveResult>(frame({
      sint("v", 1),
      str("type", "result"),
      str("agent_id", "a"),
      str("directive_id", "d"),
      str("system", "web"),
      str("status", "refused"),
      sint("ts_ms", -5),
      sint("duration_ms", 12),
  }));
  EXPECT_DOUBLE_EQ(result.duration_ms, 12.0);
  EXPECT_EQ(result.ts_ms, -5);
  EXPECT_EQ(result.replicas, -1);  // optional, keeps its default
  EXPECT_TRUE(result.message.empty());
}

TEST(ProtocolCodec, NilOptionalFieldCountsAsAbsent) {
  const auto hb =
      decodeAs<Heartbeat>(frame({sint("v", 1), str("type", "heartbeat"), str("agent_id", "a"),
                                 sint("ts_ms", 10), nil("spool_pending")}));
  EXPECT_EQ(hb.spool_pending, 0u);
  EXPECT_EQ(hb.ts_ms, 10);
}

TEST(ProtocolCodec, IntegerFieldRefusesFloat) {
  const Error e = refusal(
      frame({sint("v", 1), str("type", "heartbeat"), str("agent_id", "a"), real("ts_ms", 1.5)}));
  EXPECT_EQ(e.code, "wrong_type");
  EXPECT_EQ(e.message, "heartbeat: field 'ts_ms' has wrong type (expected integer, got float)");
}

TEST(ProtocolCodec, RequiredNilFieldIsWrongType) {
  const Error e = refusal(frame({sint("v", 1), str("type", "ack"), nil("seq")}));
  EXPECT_EQ(e.code, "wrong_type");
}

TEST(ProtocolCodec, RefusesMissingField) {
  const Error e = refusal(frame(without(telemetryFields(), "seq")));
  EXPECT_EQ(e.code, "missing_field");
  EXPECT_EQ(e.message, "telemetry: missing field 'seq'");
}

TEST(ProtocolCodec, RefusesMissingNestedField) {
  auto fields = std::vector<Field>{sint("v", 1), str("type", "hello"), str("agent_id", "a"),
                                   str("version", "1"), raw("systems", [](Packer& p) {
                                     p.pack_array(1);
                                     p.pack_map(1);
                                     packString(p, "name");
                                     packString(p, "web");
                                   })};
  const Error e = refusal(frame(fields));
  EXPECT_EQ(e.code, "missing_field");
  EXPECT_EQ(e.message, "hello: missing field 'systems[0].actuator'");
}

TEST(ProtocolCodec, RefusesWrongTypeNamingTheField) {
  const Error e = refusal(frame(replaced(telemetryFields(), str("seq", "five"))));
  EXPECT_EQ(e.code, "wrong_type");
  EXPECT_EQ(e.message,
            "telemetry: field 'seq' has wrong type (expected unsigned integer, got string)");
}

TEST(ProtocolCodec, RefusesNegativeUnsignedField) {
  const Error e = refusal(frame(replaced(telemetryFields(), sint("seq", -5))));
  EXPECT_EQ(e.code, "wrong_type");
  EXPECT_NE(e.message.find("'seq'"), std::string::npos);
  EXPECT_NE(e.message.find("negative integer"), std::string::npos);
}

TEST(ProtocolCodec, RefusesWrongTypeInsideValues) {
  auto fields = replaced(telemetryFields(), raw("values", [](Packer& p) {
                           p.pack_array(2);
                           p.pack_array(2);
                           p.pack_double(1);
                           p.pack_double(2);
                           p.pack_array(2);
                           p.pack_double(1);
                           packString(p, "x");
                         }));
  const Error e = refusal(frame(fields));
  EXPECT_EQ(e.code, "wrong_type");
  EXPECT_EQ(e.message,
            "telemetry: field 'values[1][1]' has wrong type (expected number or nil, got string)");
}

TEST(ProtocolCodec, RefusesIntegerOutOfSignedRange) {
  const Error e = refusal(frame({sint("v", 1), str("type", "heartbeat"), str("agent_id", "a"),
                                 uint("ts_ms", std::numeric_limits<uint64_t>::max())}));
  EXPECT_EQ(e.code, "invalid");
  EXPECT_NE(e.message.find("'ts_ms'"), std::string::npos);
}

TEST(ProtocolCodec, RefusesOtherMajorVersion) {
  const Error e = refusal(frame(replaced(telemetryFields(), sint("v", 2))));
  EXPECT_EQ(e.code, "version");
  EXPECT_NE(e.message.find("version 2"), std::string::npos);
}

TEST(ProtocolCodec, RefusesMissingOrMistypedVersion) {
  EXPECT_EQ(refusal(frame(without(telemetryFields(), "v"))).code, "version");
  EXPECT_EQ(refusal(frame(replaced(telemetryFields(), str("v", "1")))).code, "version");
  EXPECT_EQ(refusal(frame(replaced(telemetryFields(), sint("v", -1)))).code, "version");
}

TEST(ProtocolCodec, RefusesUnknownType) {
  const Error e = refusal(frame({sint("v", 1), str("type", "gossip")}));
  EXPECT_EQ(e.code, "unknown_type");
  EXPECT_EQ(e.message, "message: unknown type 'gossip'");
}

TEST(ProtocolCodec, RefusesMissingType) {
  const Error e = refusal(frame({sint("v", 1), uint("seq", 1)}));
  EXPECT_EQ(e.code, "missing_field");
  EXPECT_EQ(e.message, "message: missing field 'type'");
}

TEST(ProtocolCodec, RefusesOversizeStringNamingTheField) {
  const std::string long_id(kMaxStringBytes + 1, 'a');
  const Error e = refusal(frame(replaced(telemetryFields(), str("agent_id", long_id))));
  EXPECT_EQ(e.code, "oversize");
  EXPECT_EQ(e.message, "telemetry: field 'agent_id' has 4097 bytes (limit 4096)");
  // Exactly at the byte limit the string is read, and then an id must still
  // follow the naming rule (at most 64 characters).
  auto at_limit = decode(frame(replaced(telemetryFields(), str("agent_id", long_id.substr(1)))));
  ASSERT_FALSE(at_limit.ok());
  EXPECT_EQ(at_limit.error().code, "invalid_name");
}

TEST(ProtocolCodec, RefusesHugeStringDuringParsing) {
  const std::string huge(200 * 1024, 'x');
  const Error e = refusal(frame(replaced(telemetryFields(), str("agent_id", huge))));
  EXPECT_EQ(e.code, "oversize");
}

TEST(ProtocolCodec, RefusesOversizeArray) {
  auto fields = replaced(telemetryFields(), raw("timestamps_ms", [](Packer& p) {
                           p.pack_array(static_cast<uint32_t>(kMaxPointsPerSeries + 1));
                           for (std::size_t i = 0; i <= kMaxPointsPerSeries; ++i) p.pack_int64(1);
                         }));
  EXPECT_EQ(refusal(frame(fields)).code, "oversize");
}

TEST(ProtocolCodec, RefusesOversizeFrame) {
  const std::string big(kMaxMessageBytes + 1, '\0');
  const Error e = refusal(big);
  EXPECT_EQ(e.code, "oversize");
  EXPECT_NE(e.message.find("4194305"), std::string::npos);
}

TEST(ProtocolCodec, RefusesRowLengthMismatch) {
  auto fields = replaced(telemetryFields(), raw("values", [](Packer& p) {
                           p.pack_array(2);
                           p.pack_array(2);
                           p.pack_double(1);
                           p.pack_double(2);
                           p.pack_array(3);
                           p.pack_double(1);
                           p.pack_double(2);
                           p.pack_double(3);
                         }));
  const Error e = refusal(frame(fields));
  EXPECT_EQ(e.code, "invalid");
  EXPECT_EQ(e.message, "telemetry: field 'values[1]' has 3 values, expected 2 (one per timestamp)");
}

TEST(ProtocolCodec, RefusesRowCountMismatch) {
  auto fields = replaced(telemetryFields(), raw("values", [](Packer& p) {
                           p.pack_array(1);
                           p.pack_array(2);
                           p.pack_double(1);
                           p.pack_double(2);
                         }));
  const Error e = refusal(frame(fields));
  EXPECT_EQ(e.code, "invalid");
  EXPECT_NE(e.message.find("one per series"), std::string::npos);
}

TEST(ProtocolCodec, RefusesInconsistentValues) {
  EXPECT_EQ(refusal(frame(replaced(telemetryFields(), uint("seq", 0)))).code, "invalid");
  EXPECT_EQ(refusal(frame(replaced(telemetryFields(), uint("oldest_seq", 6)))).code, "invalid");
  EXPECT_EQ(refusal(frame(replaced(telemetryFields(), str("agent_id", "")))).code, "invalid");

  Directive scale = sampleScaleDirective();
  scale.replicas.reset();
  const Error missing_replicas = refusal(encode(scale));
  EXPECT_EQ(missing_replicas.code, "invalid");
  EXPECT_NE(missing_replicas.message.find("'replicas'"), std::string::npos);

  Directive bad_action = sampleScaleDirective();
  bad_action.action = "explode";
  EXPECT_EQ(refusal(encode(bad_action)).message,
            "directive: field 'action' is 'explode', expected one of scale|limits");

  Health health = sampleHealth();
  health.checks[1].status = "meh";
  EXPECT_EQ(refusal(encode(health)).message,
            "health: field 'checks[1].status' is 'meh', expected one of ok|failing|unknown");

  Hello hello = sampleHello();
  hello.systems[0].min_replicas = 30;
  EXPECT_EQ(refusal(encode(hello)).message,
            "hello: field 'systems[0].max_replicas' must not be less than min_replicas");
}

TEST(ProtocolCodec, RefusesTruncatedFrameAtEveryPrefix) {
  for (const auto& [name, message] : allSamples()) {
    const std::string bytes = encode(message);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      auto decoded = decode(std::string_view(bytes.data(), n));
      ASSERT_FALSE(decoded.ok()) << name << " prefix " << n;
      EXPECT_EQ(decoded.error().code, "malformed") << name << " prefix " << n;
    }
  }
}

TEST(ProtocolCodec, RefusesTrailingBytes) {
  const std::string bytes = encode(sampleAck()) + '\xc0';
  const Error e = refusal(bytes);
  EXPECT_EQ(e.code, "malformed");
  EXPECT_NE(e.message.find("1 trailing bytes"), std::string::npos);
  // Two messages in one frame are refused too.
  EXPECT_EQ(refusal(encode(sampleAck()) + encode(sampleAck())).code, "malformed");
}

TEST(ProtocolCodec, RefusesNonMap) {
  msgpack::sbuffer buffer;
  Packer p(buffer);
  p.pack_array(2);
  p.pack_int64(1);
  packString(p, "ack");
  const Error e = refusal(std::string(buffer.data(), buffer.size()));
  EXPECT_EQ(e.code, "malformed");
  EXPECT_EQ(e.message, "message: not a map (got array)");
  EXPECT_EQ(refusal(std::string("\x2a", 1)).code, "malformed");  // the integer 42
}

TEST(ProtocolCodec, RefusesInvalidMessagePack) {
  // 0xc1 is the one byte MessagePack never uses.
  EXPECT_EQ(refusal(std::string("\xc1", 1)).code, "malformed");
}

TEST(ProtocolCodec, RefusesDeepNesting) {
  auto fields = telemetryFields();
  fields.push_back(raw("deep", [](Packer& p) {
    for (int i = 0; i < 40; ++i) p.pack_array(1);
    p.pack_nil();
  }));
  EXPECT_EQ(refusal(frame(fields)).code, "oversize");
}

TEST(ProtocolCodec, RandomGarbageNeverCrashes) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 300);
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes(static_cast<std::size_t>(length(rng)), '\0');
    for (auto& ch : bytes) ch = static_cast<char>(byte(rng));
    auto decoded = decode(bytes);
    if (decoded.ok())
      ++accepted;
    else
      EXPECT_FALSE(decoded.error().code.empty());
  }
  // Random bytes almost never form a valid v1 message.
  EXPECT_EQ(accepted, 0);
}

TEST(ProtocolCodec, MutatedValidFramesNeverCrash) {
  std::mt19937 rng(7);
  const auto samples = allSamples();
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = encode(samples[static_cast<std::size_t>(i) % samples.size()].second);
    std::uniform_int_distribution<std::size_t> pos(0, bytes.size() - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int flips = 0; flips < 1 + i % 4; ++flips) {
      bytes[pos(rng)] = static_cast<char>(byte(rng));
    }
    auto decoded = decode(bytes);
    if (decoded.ok()) {
      // Whatever decodes must encode into something that decodes again.
      auto again = decode(encode(*decoded));
      EXPECT_TRUE(again.ok()) << again.error().message;
    } else {
      EXPECT_FALSE(decoded.error().message.empty());
    }
  }
}

}  // namespace
}  // namespace pso::protocol
