#pragma once

// One fully populated instance of every wire message, shared by the codec
// tests and the fuzz seed-corpus generator so both exercise every field.

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "protocol/messages.h"

namespace pso::protocol::testing {

inline Hello sampleHello() {
  Hello m;
  m.agent_id = "edge-01";
  m.version = "0.1.0";
  m.host_facts = {{"hostname", "edge-01"}, {"os", "Linux"}, {"cpus", "4"}};
  SystemInfo web;
  web.name = "web";
  web.actuator = "process-pool";
  web.min_replicas = 1;
  web.max_replicas = 20;
  web.replicas = 3;
  web.capacity_per_replica = 120.5;
  web.target_utilization = 0.7;
  web.warmup_ms = 30000;
  web.priority = 10;
  web.depends_on = {"api", "db"};
  SystemInfo api = web;
  api.name = "api";
  api.actuator = "systemd";
  api.depends_on.clear();
  m.systems = {web, api};
  m.next_seq = 43;
  m.oldest_seq = 40;
  return m;
}

inline TelemetryBatch sampleTelemetry() {
  TelemetryBatch m;
  m.agent_id = "edge-01";
  m.seq = 42;
  m.oldest_seq = 40;
  m.series = {{"web", "demand"}, {"web", "replicas"}, {"", "cpu.usage"}};
  m.timestamps_ms = {1700000000000, 1700000005000, 1700000010000};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  m.values = {{10.5, 11.25, nan}, {3, 3, 4}, {-0.5, 0.0, 1e300}};
  return m;
}

inline Health sampleHealth() {
  Health m;
  m.agent_id = "edge-01";
  m.checks = {{"web", "http:http://127.0.0.1:8080/healthz", "ok", 3.25, "", 1700000000000},
              {"db", "tcp:127.0.0.1:5432", "failing", 2000.0, "connection refused", 1700000000001}};
  return m;
}

inline DirectiveResult sampleResult() {
  DirectiveResult m;
  m.agent_id = "edge-01";
  m.directive_id = "d-17";
  m.system = "web";
  m.status = "applied";
  m.replicas = 5;
  m.message = "scaled from 3 to 5";
  m.ts_ms = 1700000000123;
  m.duration_ms = 812.5;
  return m;
}

inline Heartbeat sampleHeartbeat() {
  Heartbeat m;
  m.agent_id = "edge-01";
  m.ts_ms = 1700000000999;
  m.spool_pending = 7;
  m.spool_dropped = 2;
  return m;
}

inline Welcome sampleWelcome() {
  Welcome m;
  m.controller_id = "pso-controller";
  m.ts_ms = 1700000000500;
  m.last_seq = 39;
  m.heartbeat_interval_ms = 2500;
  m.conflicts = {{"db", "edge-02"}};
  return m;
}

inline Refused sampleRefused() {
  return Refused{"id_in_use", "agent id 'edge-01' is in use by another live connection"};
}

inline Ack sampleAck() {
  return Ack{41};
}

inline Directive sampleScaleDirective() {
  Directive m;
  m.id = "d-17";
  m.system = "web";
  m.action = "scale";
  m.replicas = 5;
  m.reason = "forecast 512 rps at p90 exceeds 3 x 120 x 0.7";
  m.cycle_id = "c-1001";
  m.deadline_ms = 1700000060000;
  return m;
}

inline Directive sampleLimitsDirective() {
  Directive m;
  m.id = "d-18";
  m.system = "batch";
  m.action = "limits";
  m.cpu = 1.5;
  m.memory_bytes = 512LL * 1024 * 1024;
  m.deadline_ms = 1700000060000;
  return m;
}

/// Every sample, named for corpus files and test output.
inline std::vector<std::pair<std::string, Message>> allSamples() {
  return {{"hello", sampleHello()},
          {"telemetry", sampleTelemetry()},
          {"health", sampleHealth()},
          {"result", sampleResult()},
          {"heartbeat", sampleHeartbeat()},
          {"welcome", sampleWelcome()},
          {"ack", sampleAck()},
          {"directive_scale", sampleScaleDirective()},
          {"directive_limits", sampleLimitsDirective()},
          {"refused", sampleRefused()}};
}

}  // namespace pso::protocol::testing
