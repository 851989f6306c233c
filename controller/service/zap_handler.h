#pragma once

// CurveZMQ authentication of agents (docs/security.md): libzmq asks a ZAP
// handler (RFC 27/ZAP) about every CURVE handshake on the controller's ROUTER;
// this one accepts a client key only when the authorized-keys directory holds
// it, and answers with the agent id the key may use. libzmq attaches that id
// to every message of the connection as the "User-Id" property, so ingest
// checks a hello's agent id against the key that was proven, not against what
// the peer claims.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "common/metrics.h"
#include "common/result.h"

namespace pso::controller::service {

/// The agents allowed on the link: one `<agent-id>.pub` file per agent in a
/// directory, the file name deciding the id. Re-read when the directory
/// changes, so adding or removing a key takes effect without a restart.
class AuthorizedKeys {
 public:
  explicit AuthorizedKeys(std::string dir);

  /// Re-reads the directory when its modification time changed since the last
  /// scan, or `rescan_ms` passed (a key file rewritten in place does not touch
  /// the directory's time). Files that are not `<valid-agent-id>.pub` holding
  /// one key, and a key listed under two ids, are skipped and reported in
  /// problems(). An unreadable directory leaves the set empty: nobody gets in.
  void refresh(int64_t now_ms, int64_t rescan_ms = 5000);
  /// The agent id a raw 32-byte client key may use, if authorized.
  std::optional<std::string> agentFor(std::string_view raw_key) const;
  std::size_t size() const;
  /// One line per file skipped on the last scan.
  std::vector<std::string> problems() const;

 private:
  void scan();

  std::string dir_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> agents_by_key_;  ///< raw key -> agent id
  std::vector<std::string> problems_;
  int64_t dir_mtime_ns_ = -1;
  int64_t scanned_ms_ = 0;
  bool scanned_ = false;
};

/// Serves ZAP on inproc://zeromq.zap.01 of one context from its own thread.
/// Start it before the CURVE ROUTER binds: libzmq lets every client key in
/// while no handler is bound, so the controller never runs CURVE without one.
/// Counts pso_zap_requests_total{result} and logs each refusal with the key
/// (public keys are not secret), at most once per minute per key.
class ZapHandler {
 public:
  /// Binds the ZAP endpoint and starts answering. Error code "zmq" when the
  /// endpoint is taken (one handler per context).
  [[nodiscard]] static Result<std::unique_ptr<ZapHandler>> start(zmq::context_t& context,
                                                                 std::string keys_dir,
                                                                 common::MetricsRegistry& metrics);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  const AuthorizedKeys& keys() const { return keys_; }

 private:
  ZapHandler(zmq::socket_t socket, std::string keys_dir, common::MetricsRegistry& metrics);
  void run();
  /// One request's reply frames (RFC 27): version, request id, status code,
  /// status text, user id, metadata.
  std::vector<std::string> answer(const std::vector<std::string>& request, int64_t now_ms);

  zmq::socket_t socket_;
  AuthorizedKeys keys_;
  common::MetricsRegistry& metrics_;
  std::map<std::string, int64_t> last_logged_ms_;  ///< refused key -> last log line
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace pso::controller::service
