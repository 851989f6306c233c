#pragma once

// Test support for the HTTPS listener: a self-signed certificate made at run
// time with the OpenSSL C API, plain-socket helpers that see the raw response
// (status line and headers), and a pso-controller child process with its own
// configuration.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace pso::controller::service::testing {

/// Writes a fresh P-256 key (PEM, unencrypted) and a self-signed certificate
/// for 127.0.0.1 and localhost, valid from a day ago for 30 days.
void writeSelfSignedCertificate(const std::string& cert_path, const std::string& key_path);

/// A response as it came off the wire.
struct RawReply {
  int status = 0;
  std::string head;  ///< status line and header lines, up to the blank line
  std::string body;
  /// Lower-cased header name -> value (the last one of a repeated name).
  std::map<std::string, std::string> headers;
  /// Every header line's name, lower-cased, in order.
  std::vector<std::string> names;
};

/// Splits what rawHttp() returned; status 0 when it is not an HTTP response.
RawReply parseRawReply(const std::string& raw);

/// One plain-HTTP request with full control over its bytes except the
/// request line's framing: "METHOD TARGET HTTP/1.1", Host, Connection:
/// close, the Authorization header when `token` is set, and a JSON body.
RawReply plainRequest(uint16_t port, const std::string& method, const std::string& target,
                      const std::string& token = "", const std::string& body = "");

/// Waits until the server closes a connection that sent `bytes` (possibly
/// none); false when it is still open after `timeout`.
bool serverClosesAfter(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout);

/// A pso-controller process started with `yaml` as its configuration file
/// (written to dir/controller.yaml), an ephemeral loopback API port and a
/// database in `dir`.
class ControllerChild {
 public:
  ControllerChild(const pso::testing::TempDir& dir, const std::string& yaml);
  /// The API's "127.0.0.1:PORT" once it printed that it listens (empty if it
  /// did not within 20 s; the log then says why).
  const std::string& address() const { return address_; }
  uint16_t port() const;
  pso::testing::ChildProcess& process() { return *process_; }
  std::string log() const;

 private:
  const pso::testing::TempDir& dir_;
  std::unique_ptr<pso::testing::ChildProcess> process_;
  std::string address_;
};

}  // namespace pso::controller::service::testing
