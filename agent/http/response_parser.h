#pragma once

// The HTTP/1.1 response parser of the agent's built-in client (RFC 9112).
// It reads bytes exactly as they come off the network, so every input is
// possible: each violation and each exceeded limit is refused with a one-line
// Error that quotes at most 80 bytes of what was wrong (control bytes as
// \xNN), never a crash, and the outcome does not depend on how the bytes
// were split between feed() calls (tests/fuzz checks both).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pso::agent::http {

/// How the body of a response is delimited (RFC 9112 section 6.3).
enum class BodyFraming {
  kNone,           ///< no body: the answer to HEAD, 204 or 304
  kContentLength,  ///< exactly Content-Length bytes
  kChunked,        ///< Transfer-Encoding: chunked
  kUntilClose,     ///< every byte until the server closes the connection
};

/// What the final (non-1xx) status line and headers said.
struct ResponseHead {
  int minor_version = 1;  ///< HTTP/1.<minor_version>
  long status = 0;        ///< 200-599
  BodyFraming framing = BodyFraming::kNone;
  std::optional<uint64_t> content_length;  ///< as declared (chunked framing overrides it)
  /// The server closes the connection after this response: "Connection:
  /// close", or HTTP/1.0 without "Connection: keep-alive".
  bool connection_close = false;
};

/// Bounds on what one response may make the parser hold.
struct ResponseLimits {
  /// Status line plus headers of one response (interim ones each on their
  /// own), and separately the trailer section of a chunked body.
  std::size_t max_head_bytes = 64 * 1024;
  std::size_t max_body = 4 * 1024 * 1024;
};

/// An incremental parser for one response on a connection. Interim (1xx)
/// responses are skipped; body bytes (de-chunked) are appended to the string
/// given at construction. Refusals: code "malformed" ("malformed HTTP
/// response: <why>") for a protocol violation, "too_large" for an exceeded
/// limit (refused as soon as a Content-Length or chunk size announces it),
/// "http" for a connection closed too early. After a refusal every call
/// returns the same Error; bytes after a complete response are ignored.
class ResponseParser {
 public:
  /// Longest chunk-size line, extensions included.
  static constexpr std::size_t kMaxChunkLineBytes = 4096;

  /// `body` is cleared and must outlive the parser; `head_request` because
  /// the answer to HEAD has no body whatever its headers announce.
  ResponseParser(std::string& body, bool head_request, ResponseLimits limits = {});

  /// Consumes the next bytes received.
  [[nodiscard]] Status feed(std::string_view bytes);

  /// The server closed the connection: completes a close-delimited body;
  /// anything else still incomplete is an Error (code "http": "Empty reply
  /// from server" when nothing came, else "connection closed before the
  /// response was complete (...)").
  [[nodiscard]] Status finish();

  /// The whole response has been read.
  bool done() const { return state_ == State::kDone; }
  /// The final status line and headers have been read; head() is valid.
  bool headComplete() const { return head_complete_; }
  const ResponseHead& head() const { return head_; }

 private:
  enum class State {
    kStatusLine,
    kHeaders,
    kLengthBody,
    kUntilClose,
    kChunkSize,
    kChunkData,
    kChunkEnd,
    kTrailers,
    kDone,
    kFailed,
  };

  std::optional<std::string_view> nextLine(std::string_view& input, std::size_t limit_left,
                                           std::size_t& used);
  Status lineTooLong() const;
  Status onStatusLine(std::string_view line);
  Status onHeaderLine(std::string_view line);
  Status onHeadEnd();
  Status onChunkSize(std::string_view line);
  Status appendBody(std::string_view bytes);
  Status step(std::string_view& input);
  Status fail(Error error);

  std::string& body_;
  const bool head_request_;
  const ResponseLimits limits_;
  State state_ = State::kStatusLine;
  Error error_;
  ResponseHead head_;
  bool head_complete_ = false;
  bool interim_ = false;  ///< the head being read is a 1xx one
  bool keep_alive_ = false;
  std::vector<std::string> codings_;  ///< Transfer-Encoding list, lower case
  std::string line_;                  ///< a line not yet ended by LF
  std::size_t head_bytes_ = 0;        ///< of the head (or trailer section) being read
  std::size_t received_ = 0;
  uint64_t remaining_ = 0;  ///< of the Content-Length body or the current chunk
};

}  // namespace pso::agent::http
