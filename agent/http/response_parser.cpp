#include "agent/http/response_parser.h"

#include <algorithm>
#include <charconv>

#include "agent/http/url.h"
#include "common/text.h"

namespace pso::agent::http {
namespace {

Error malformedResponse(const std::string& why) {
  return makeError("malformed", "malformed HTTP response: " + why);
}

Error bodyTooLarge(std::size_t max_body) {
  return makeError("too_large", "response body larger than " + std::to_string(max_body) + " bytes");
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

bool isHexDigit(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 9110 section 5.6.2: the characters of a header name.
bool isHeaderNameChar(char c) {
  if (isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Control characters other than HTAB may not appear in a header value, a
// reason phrase or a chunk extension (a bare CR among them).
bool hasForbiddenControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

std::string asciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The trimmed, lower-case elements of a comma-separated header value; empty
// elements are skipped (RFC 9110 section 5.6.1).
std::vector<std::string> listElements(std::string_view value) {
  std::vector<std::string> out;
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view element = common::trim(value.substr(0, comma));
    if (!element.empty()) out.push_back(asciiLower(element));
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
  }
  return out;
}

}  // namespace

ResponseParser::ResponseParser(std::string& body, bool head_request, ResponseLimits limits)
    : body_(body), head_request_(head_request), limits_(limits) {
  body_.clear();
}

Status ResponseParser::feed(std::string_view bytes) {
  received_ += bytes.size();
  while (!bytes.empty() && state_ != State::kDone && state_ != State::kFailed) {
    if (Status status = step(bytes); !status) return status;
  }
  if (state_ == State::kFailed) return error_;
  return {};
}

Status ResponseParser::finish() {
  std::string detail;
  switch (state_) {
    case State::kDone:
      return {};
    case State::kFailed:
      return error_;
    case State::kUntilClose:
      state_ = State::kDone;
      return {};
    case State::kStatusLine:
    case State::kHeaders:
      if (received_ == 0) return fail(makeError("http", "Empty reply from server"));
      detail = "in the headers";
      break;
    case State::kLengthBody:
      detail = "got " + std::to_string(body_.size()) + " of " +
               std::to_string(head_.content_length.value_or(0)) + " body bytes";
      break;
    case State::kChunkSize:
    case State::kChunkData:
    case State::kChunkEnd:
    case State::kTrailers:
      detail = "in the chunked body, after " + std::to_string(body_.size()) + " bytes";
      break;
  }
  return fail(
      makeError("http", "connection closed before the response was complete (" + detail + ")"));
}

Status ResponseParser::fail(Error error) {
  state_ = State::kFailed;
  error_ = std::move(error);
  return error_;
}

// Takes the next whole line from `input`, joined to the start kept from
// earlier feeds, without its LF and one CR before it (RFC 9112 section 2.2
// lets a recipient accept a bare LF). nullopt when the line is not complete
// yet (its start is kept) or would be longer than `limit` bytes, LF included
// (then `used` is set past the limit). `used` is the line's length with its
// LF.
std::optional<std::string_view> ResponseParser::nextLine(std::string_view& input, std::size_t limit,
                                                         std::size_t& used) {
  const std::size_t lf = input.find('\n');
  const std::size_t piece = lf == std::string_view::npos ? input.size() : lf + 1;
  used = line_.size() + piece;
  if (used > limit) return std::nullopt;
  if (lf == std::string_view::npos) {
    line_.append(input);
    input = {};
    return std::nullopt;
  }
  std::string_view line;
  if (line_.empty()) {
    line = input.substr(0, lf);
  } else {
    line_.append(input.substr(0, lf));
    line = line_;
  }
  input.remove_prefix(lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

Status ResponseParser::step(std::string_view& input) {
  switch (state_) {
    case State::kStatusLine:
    case State::kHeaders:
    case State::kTrailers: {
      const std::size_t left = limits_.max_head_bytes - head_bytes_;
      std::size_t used = 0;
      const std::optional<std::string_view> line = nextLine(input, left, used);
      if (!line) {
        if (used <= left) return {};
        const char* what = state_ == State::kTrailers ? "trailers" : "headers";
        return fail(makeError("too_large", std::string("response ") + what + " longer than " +
                                               std::to_string(limits_.max_head_bytes) + " bytes"));
      }
      head_bytes_ += used;
      Status status;
      if (state_ == State::kStatusLine) {
        status = onStatusLine(*line);
      } else if (state_ == State::kTrailers) {
        // Trailer fields are not used; the section only has to end.
        if (line->empty()) state_ = State::kDone;
      } else if (line->empty()) {
        status = onHeadEnd();
      } else {
        status = onHeaderLine(*line);
      }
      line_.clear();
      return status ? status : fail(status.error());
    }
    case State::kChunkSize: {
      std::size_t used = 0;
      const std::optional<std::string_view> line = nextLine(input, kMaxChunkLineBytes, used);
      if (!line) {
        if (used <= kMaxChunkLineBytes) return {};
        return fail(malformedResponse("chunk size line longer than " +
                                      std::to_string(kMaxChunkLineBytes) + " bytes"));
      }
      Status status = onChunkSize(*line);
      line_.clear();
      return status ? status : fail(status.error());
    }
    case State::kChunkEnd: {
      // The CRLF after a chunk's data: anything else means the chunk size
      // was wrong.
      std::size_t used = 0;
      const std::optional<std::string_view> line = nextLine(input, 2, used);
      if (!line && used <= 2) return {};
      line_.clear();
      if (!line || !line->empty())
        return fail(malformedResponse("chunk data not followed by CRLF"));
      state_ = State::kChunkSize;
      return {};
    }
    case State::kLengthBody:
    case State::kChunkData: {
      const std::size_t take =
          static_cast<std::size_t>(std::min<uint64_t>(input.size(), remaining_));
      if (Status status = appendBody(input.substr(0, take)); !status) return status;
      input.remove_prefix(take);
      remaining_ -= take;
      if (remaining_ == 0) {
        state_ = state_ == State::kLengthBody ? State::kDone : State::kChunkEnd;
      }
      return {};
    }
    case State::kUntilClose: {
      Status status = appendBody(input);
      input = {};
      return status;
    }
    case State::kDone:
    case State::kFailed:
      break;
  }
  return {};
}

Status ResponseParser::appendBody(std::string_view bytes) {
  if (bytes.size() > limits_.max_body - body_.size()) return fail(bodyTooLarge(limits_.max_body));
  body_.append(bytes);
  return {};
}

// "HTTP/1.1 200 OK": version, three-digit status from 100 to 599, and an
// optional reason phrase.
Status ResponseParser::onStatusLine(std::string_view line) {
  const bool well_formed = line.size() >= 12 && line.substr(0, 7) == "HTTP/1." &&
                           isDigit(line[7]) && line[8] == ' ' && line[9] >= '1' && line[9] <= '5' &&
                           isDigit(line[10]) && isDigit(line[11]) &&
                           (line.size() == 12 || line[12] == ' ') && !hasForbiddenControl(line);
  if (!well_formed) return malformedResponse("bad status line '" + printable(line) + "'");
  const long status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  interim_ = status < 200;
  if (!interim_) {
    head_.minor_version = line[7] - '0';
    head_.status = status;
  }
  state_ = State::kHeaders;
  return {};
}

Status ResponseParser::onHeaderLine(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    return malformedResponse("obsolete line folding in the headers");
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return malformedResponse("header line without ':' '" + printable(line) + "'");
  }
  const std::string_view name = line.substr(0, colon);
  if (name.empty() || !std::all_of(name.begin(), name.end(), isHeaderNameChar)) {
    return malformedResponse("bad header name '" + printable(name) + "'");
  }
  const std::string_view raw_value = line.substr(colon + 1);
  if (hasForbiddenControl(raw_value)) {
    return malformedResponse("control character in header '" + std::string(name) + "'");
  }
  if (interim_) return {};
  const std::string_view value = common::trim(raw_value);
  const std::string key = asciiLower(name);
  if (key == "content-length") {
    const std::optional<uint64_t> length = common::parseUint64(value);
    if (!length) return malformedResponse("bad Content-Length '" + printable(value) + "'");
    if (head_.content_length && *head_.content_length != *length) {
      return malformedResponse("conflicting Content-Length headers");
    }
    head_.content_length = length;
  } else if (key == "transfer-encoding") {
    for (std::string& coding : listElements(value)) codings_.push_back(std::move(coding));
  } else if (key == "connection") {
    for (const std::string& option : listElements(value)) {
      if (option == "close") head_.connection_close = true;
      if (option == "keep-alive") keep_alive_ = true;
    }
  }
  return {};
}

Status ResponseParser::onHeadEnd() {
  head_bytes_ = 0;
  if (interim_) {
    // 100 Continue and the like: the real answer follows.
    interim_ = false;
    state_ = State::kStatusLine;
    return {};
  }
  head_complete_ = true;
  if (head_.minor_version == 0 && !keep_alive_) head_.connection_close = true;
  if (head_request_ || head_.status == 204 || head_.status == 304) {
    head_.framing = BodyFraming::kNone;
    state_ = State::kDone;
  } else if (!codings_.empty()) {
    // Only chunked is decoded: the client asks for no other coding.
    if (codings_.size() != 1 || codings_.front() != "chunked") {
      std::string list;
      for (const std::string& coding : codings_) list += (list.empty() ? "" : ", ") + coding;
      return malformedResponse("unsupported Transfer-Encoding '" + printable(list) + "'");
    }
    head_.framing = BodyFraming::kChunked;
    state_ = State::kChunkSize;
  } else if (head_.content_length) {
    if (*head_.content_length > limits_.max_body) {
      return makeError("too_large",
                       "response body larger than " + std::to_string(limits_.max_body) +
                           " bytes (Content-Length: " + std::to_string(*head_.content_length) +
                           ")");
    }
    head_.framing = BodyFraming::kContentLength;
    remaining_ = *head_.content_length;
    state_ = remaining_ == 0 ? State::kDone : State::kLengthBody;
  } else {
    head_.framing = BodyFraming::kUntilClose;
    state_ = State::kUntilClose;
  }
  return {};
}

// "1a;name=value": hexadecimal size, optional extensions (ignored).
Status ResponseParser::onChunkSize(std::string_view line) {
  const std::size_t semicolon = line.find(';');
  std::string_view digits = line.substr(0, semicolon);
  while (!digits.empty() && (digits.back() == ' ' || digits.back() == '\t')) {
    digits.remove_suffix(1);
  }
  const bool extensions_ok =
      semicolon == std::string_view::npos || !hasForbiddenControl(line.substr(semicolon));
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), isHexDigit) || !extensions_ok) {
    return malformedResponse("bad chunk size '" + printable(line) + "'");
  }
  uint64_t size = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
  if (ec != std::errc() || size > limits_.max_body - body_.size()) {
    return bodyTooLarge(limits_.max_body);
  }
  remaining_ = size;
  state_ = size == 0 ? State::kTrailers : State::kChunkData;
  return {};
}

}  // namespace pso::agent::http
