#include "protocol/messages.h"

namespace pso::protocol {
namespace {

const char* nameOf(const Hello&) {
  return "hello";
}
const char* nameOf(const TelemetryBatch&) {
  return "telemetry";
}
const char* nameOf(const Health&) {
  return "health";
}
const char* nameOf(const DirectiveResult&) {
  return "result";
}
const char* nameOf(const Heartbeat&) {
  return "heartbeat";
}
const char* nameOf(const Welcome&) {
  return "welcome";
}
const char* nameOf(const Ack&) {
  return "ack";
}
const char* nameOf(const Directive&) {
  return "directive";
}
const char* nameOf(const Refused&) {
  return "refused";
}

}  // namespace

const char* messageTypeName(const Message& message) {
  return std::visit([](const auto& m) { return nameOf(m); }, message);
}

}  // namespace pso::protocol
