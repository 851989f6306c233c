#include "tests/fuzz/http_fuzz_targets.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "agent/http/request_parser.h"
#include "agent/http/response_parser.h"
#include "agent/http/url.h"
#include "common/text.h"

namespace pso::agent::fuzz {
namespace {

using http::BodyFraming;
using http::ResponseHead;
using http::ResponseLimits;
using http::ResponseParser;

// Whatever the fuzzer asks for, limits stay small enough to reach.
constexpr uint64_t kMaxLimit = 1 << 20;

struct Options {
  bool head_request = false;
  ResponseLimits limits{.max_head_bytes = 64 * 1024, .max_body = kMaxLimit};
};

Options readOptions(std::string_view line) {
  Options options;
  for (std::string_view word = common::trim(line); !word.empty();) {
    const std::size_t space = word.find(' ');
    const std::string_view option = word.substr(0, space);
    word = space == std::string_view::npos ? std::string_view() : common::trim(word.substr(space));
    const std::size_t eq = option.find('=');
    if (option == "HEAD") options.head_request = true;
    if (eq == std::string_view::npos) continue;
    // A value out of range leaves the default.
    const uint64_t value = common::parseUint64(option.substr(eq + 1)).value_or(kMaxLimit + 1);
    if (value > kMaxLimit) continue;
    if (option.substr(0, eq) == "max_body") options.limits.max_body = value;
    if (option.substr(0, eq) == "max_head") options.limits.max_head_bytes = value;
  }
  return options;
}

struct Outcome {
  bool ok = false;
  std::string code;
  std::string message;
  std::string body;
  ResponseHead head;
  bool head_complete = false;

  bool operator==(const Outcome& other) const {
    return ok == other.ok && code == other.code && message == other.message && body == other.body &&
           head_complete == other.head_complete && head.status == other.head.status &&
           head.framing == other.head.framing && head.minor_version == other.head.minor_version &&
           head.content_length == other.head.content_length &&
           head.connection_close == other.head.connection_close;
  }
};

// Feeds `bytes` in pieces whose sizes `piece(i)` gives, then closes.
template <typename PieceSize>
Outcome run(std::string_view bytes, const Options& options, PieceSize piece) {
  Outcome outcome;
  ResponseParser parser(outcome.body, options.head_request, options.limits);
  Status status;
  for (std::size_t at = 0, i = 0; at < bytes.size() && status.ok(); ++i) {
    const std::size_t size = piece(i);
    status = parser.feed(bytes.substr(at, size));
    at += size;
  }
  if (status.ok()) status = parser.finish();
  // A finish() that succeeds must leave the response done; otherwise the
  // outcome is a failure without a code, which consistent() rejects.
  outcome.ok = status.ok() && parser.done();
  if (!status.ok()) {
    outcome.code = status.error().code;
    outcome.message = status.error().message;
    // How far the body got before a refusal depends on the split.
    outcome.body.clear();
  }
  outcome.head_complete = parser.headComplete();
  outcome.head = parser.head();
  return outcome;
}

bool oneLine(const std::string& text, std::size_t max) {
  return !text.empty() && text.size() <= max &&
         text.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
}

bool consistent(const Outcome& outcome, std::string_view bytes, const Options& options) {
  if (!outcome.ok) {
    const bool known_code =
        outcome.code == "malformed" || outcome.code == "too_large" || outcome.code == "http";
    return known_code && oneLine(outcome.message, 512);
  }
  const ResponseHead& head = outcome.head;
  if (!outcome.head_complete || head.status < 200 || head.status > 599) return false;
  if (head.minor_version < 0 || head.minor_version > 9) return false;
  if (outcome.body.size() > options.limits.max_body || outcome.body.size() > bytes.size()) {
    return false;
  }
  switch (head.framing) {
    case BodyFraming::kNone:
      return outcome.body.empty() &&
             (options.head_request || head.status == 204 || head.status == 304);
    case BodyFraming::kContentLength:
      return !options.head_request && head.content_length &&
             outcome.body.size() == *head.content_length;
    case BodyFraming::kChunked:
    case BodyFraming::kUntilClose:
      return !options.head_request;
  }
  return false;
}

}  // namespace

bool checkHttpResponse(std::string_view input) {
  const std::size_t newline = input.find('\n');
  const Options options = readOptions(input.substr(0, newline));
  const std::string_view bytes =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  const Outcome whole = run(bytes, options, [&](std::size_t) { return bytes.size(); });
  if (!consistent(whole, bytes, options)) return false;
  const Outcome by_byte = run(bytes, options, [](std::size_t) { return std::size_t{1}; });
  if (!(by_byte == whole)) return false;
  // Uneven pieces from 1 to 13 bytes, different for every input.
  uint32_t seed = 2166136261u;
  for (char c : bytes) seed = (seed ^ static_cast<unsigned char>(c)) * 16777619u;
  const Outcome uneven = run(bytes, options, [seed](std::size_t i) {
    return static_cast<std::size_t>((seed >> (i % 24)) + i * 7) % 13 + 1;
  });
  return uneven == whole;
}

bool checkHttpUrl(std::string_view input) {
  Result<http::PlainUrl> url = http::parsePlainUrl(input);
  if (!url) {
    const Error& error = url.error();
    return error.code == "invalid" && error.message.rfind("URL ", 0) == 0 &&
           oneLine(error.message, 1024);
  }
  if (input.rfind("http://", 0) != 0 || url->host.empty() || url->port == 0) return false;
  if (url->target.empty() || url->target.front() != '/') return false;
  if (url->target.find('#') != std::string::npos) return false;
  if (url->authority.find_first_of("/?#@") != std::string::npos) return false;
  for (const std::string* part : {&url->authority, &url->target, &url->host}) {
    for (char c : *part) {
      const auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u == 0x7f) return false;
    }
  }
  Result<http::PlainUrl> again = http::parsePlainUrl("http://" + url->authority + url->target);
  return again && again->host == url->host && again->port == url->port &&
         again->authority == url->authority && again->target == url->target;
}

namespace {

bool isToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool sameHead(const http::RequestHead& a, const http::RequestHead& b) {
  return a.method == b.method && a.target == b.target && a.path == b.path &&
         a.minor_version == b.minor_version && a.headers == b.headers &&
         a.head_bytes == b.head_bytes;
}

}  // namespace

bool checkHttpRequest(std::string_view input) {
  const std::size_t newline = input.find('\n');
  http::RequestLimits limits;
  for (std::string_view word = common::trim(input.substr(0, newline)); !word.empty();) {
    const std::size_t space = word.find(' ');
    const std::string_view option = word.substr(0, space);
    word = space == std::string_view::npos ? std::string_view() : common::trim(word.substr(space));
    const std::size_t eq = option.find('=');
    if (eq == std::string_view::npos) continue;
    const uint64_t value = common::parseUint64(option.substr(eq + 1)).value_or(0);
    if (value == 0 || value > 64 * 1024) continue;
    if (option.substr(0, eq) == "max_head") limits.max_head_bytes = value;
    if (option.substr(0, eq) == "max_headers") limits.max_headers = value;
  }
  const std::string_view bytes =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  Result<std::optional<http::RequestHead>> parsed = http::parseRequestHead(bytes, limits);
  if (!parsed) {
    const Error& error = parsed.error();
    return (error.code == "malformed" || error.code == "too_large") && oneLine(error.message, 512);
  }
  if (!parsed->has_value()) {
    const std::string_view window = bytes.substr(0, limits.max_head_bytes);
    return bytes.size() < limits.max_head_bytes && window.find("\n\n") == std::string_view::npos &&
           window.find("\n\r\n") == std::string_view::npos;
  }
  const http::RequestHead& head = **parsed;
  if (head.head_bytes == 0 || head.head_bytes > limits.max_head_bytes ||
      head.head_bytes > bytes.size() || head.headers.size() > limits.max_headers) {
    return false;
  }
  if (!isToken(head.method) || head.minor_version < 0 || head.minor_version > 1) return false;
  if (head.target.empty() || head.target.front() != '/' ||
      head.target.compare(0, head.path.size(), head.path) != 0 ||
      head.path.find('?') != std::string::npos) {
    return false;
  }
  for (char c : head.target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  for (const auto& [name, value] : head.headers) {
    if (!isToken(name)) return false;
    for (char c : name) {
      if (c >= 'A' && c <= 'Z') return false;
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) return false;
  }
  // The head alone parses to the same; each shorter prefix is still incomplete.
  const std::string_view own = bytes.substr(0, head.head_bytes);
  Result<std::optional<http::RequestHead>> again = http::parseRequestHead(own, limits);
  if (!again || !again->has_value() || !sameHead(**again, head)) return false;
  for (std::size_t n = 0; n < own.size(); n += 1 + own.size() / 64) {
    Result<std::optional<http::RequestHead>> prefix =
        http::parseRequestHead(own.substr(0, n), limits);
    if (!prefix || prefix->has_value()) return false;
  }
  return true;
}

}  // namespace pso::agent::fuzz
