#include "agent/http/request_parser.h"

#include <algorithm>

#include "agent/http/url.h"

namespace pso::agent::http {
namespace {

Error malformedRequest(const std::string& why) {
  return makeError("malformed", "malformed HTTP request: " + why);
}

// RFC 9110 section 5.6.2: the characters of a method and a header name.
bool isTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), isTokenChar);
}

// Control bytes but HTAB may not appear in a header value (a bare CR among
// them): they could split a line wherever the value is written again.
bool hasControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

std::string_view trimOws(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string lowerCase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The lines of a complete head, without their CRLF or bare LF.
std::vector<std::string_view> splitLines(std::string_view head) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    const std::size_t lf = head.find('\n');
    std::string_view line = head.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    head = lf == std::string_view::npos ? std::string_view() : head.substr(lf + 1);
  }
  return lines;
}

Status parseRequestLine(std::string_view line, RequestHead& head) {
  const std::size_t first = line.find(' ');
  const std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos) {
    return malformedRequest("expected 'METHOD /path HTTP/1.1', got '" + printable(line) + "'");
  }
  const std::string_view method = line.substr(0, first);
  const std::string_view target = line.substr(first + 1, second - first - 1);
  const std::string_view version = line.substr(second + 1);
  if (!isToken(method)) return malformedRequest("bad method '" + printable(method) + "'");
  if (target.empty() || target.front() != '/') {
    return malformedRequest("the target must be a path starting with '/', got '" +
                            printable(target) + "'");
  }
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return malformedRequest("bad byte in the target '" + printable(target) + "'");
    }
  }
  if (version == "HTTP/1.1") {
    head.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    head.minor_version = 0;
  } else {
    return malformedRequest("unsupported version '" + printable(version) +
                            "' (HTTP/1.0 or HTTP/1.1)");
  }
  head.method = method;
  head.target = target;
  head.path = target.substr(0, target.find('?'));
  return {};
}

Status parseHeaderLine(std::string_view line, RequestHead& head) {
  if (line.front() == ' ' || line.front() == '\t') {
    return malformedRequest("obsolete line folding in '" + printable(line) + "'");
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || !isToken(line.substr(0, colon))) {
    return malformedRequest("bad header line '" + printable(line) + "'");
  }
  const std::string_view value = trimOws(line.substr(colon + 1));
  if (hasControl(value))
    return malformedRequest("control byte in header '" + printable(line) + "'");
  head.headers.emplace_back(lowerCase(line.substr(0, colon)), std::string(value));
  return {};
}

}  // namespace

std::optional<std::string_view> RequestHead::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

Result<std::optional<RequestHead>> parseRequestHead(std::string_view bytes, RequestLimits limits) {
  // The head ends at the first empty line; only the bytes within the limit
  // are searched, so a client cannot make the listener scan more.
  const std::string_view window = bytes.substr(0, limits.max_head_bytes);
  std::size_t end = std::string_view::npos;
  for (std::size_t lf = window.find('\n'); lf != std::string_view::npos;
       lf = window.find('\n', lf + 1)) {
    if (lf + 1 < window.size() && window[lf + 1] == '\n') {
      end = lf + 2;
      break;
    }
    if (lf + 2 < window.size() && window[lf + 1] == '\r' && window[lf + 2] == '\n') {
      end = lf + 3;
      break;
    }
  }
  if (end == std::string_view::npos) {
    // An empty first line can never start a request: refused at once.
    if (!window.empty() && (window.front() == '\n' || window.substr(0, 2) == "\r\n")) {
      return malformedRequest("empty request line");
    }
    if (bytes.size() >= limits.max_head_bytes) {
      return makeError("too_large", "request head longer than " +
                                        std::to_string(limits.max_head_bytes) + " bytes");
    }
    return std::optional<RequestHead>();
  }

  RequestHead head;
  head.head_bytes = end;
  std::vector<std::string_view> lines = splitLines(window.substr(0, end));
  // The last line is the empty one that ends the head.
  lines.pop_back();
  if (lines.empty() || lines.front().empty()) return malformedRequest("empty request line");
  if (lines.size() - 1 > limits.max_headers) {
    return makeError("too_large", "more than " + std::to_string(limits.max_headers) + " headers");
  }
  if (Status status = parseRequestLine(lines.front(), head); !status) return status.error();
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (Status status = parseHeaderLine(lines[i], head); !status) return status.error();
  }
  // RFC 9112 section 3.2: a server responds 400 to an HTTP/1.1 request
  // without a Host header or with more than one.
  const auto hosts = std::count_if(head.headers.begin(), head.headers.end(),
                                   [](const auto& field) { return field.first == "host"; });
  if (head.minor_version == 1 && hosts != 1) {
    return malformedRequest(hosts == 0 ? "no Host header" : "more than one Host header");
  }
  return std::optional<RequestHead>(std::move(head));
}

}  // namespace pso::agent::http
