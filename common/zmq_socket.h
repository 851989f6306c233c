#pragma once

// ZeroMQ socket construction with the options of docs/architecture.md section 2, so
// every ROUTER and DEALER in the product is set up the same way.

#include <chrono>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/config.h"
#include "common/result.h"

namespace pso::common {

struct RouterOptions {
  /// ZMTP heartbeats from the ROUTER: off (0) for the controller. libzmq keeps
  /// every connection's heartbeat timers of an I/O thread in one map and
  /// cancels a timer by walking that map (poller_base_t::cancel_timer, O(n)),
  /// so a ROUTER that pings N peers spends O(N^2) per heartbeat interval: 81%
  /// of a core at 8,000 idle agents. Agents ping the controller instead (their
  /// PINGs carry no TTL, so the ROUTER sets no timer to answer them), and TCP
  /// keepalive below closes connections whose host vanished.
  int heartbeat_ivl_ms = 0;
  int heartbeat_timeout_ms = 0;
  int heartbeat_ttl_ms = 0;
  /// TCP keepalive on every accepted connection: probes after this idle time,
  /// every keepalive_interval_s, closed after keepalive_count unanswered
  /// ones (the kernel's timers, O(1) per connection). 0 idle: keepalive off.
  int keepalive_idle_s = 60;
  int keepalive_interval_s = 10;
  int keepalive_count = 3;
  int64_t max_msg_size = 8 * 1024 * 1024;
  /// The listen backlog: a fleet reconnecting after a controller restart
  /// connects at once. The kernel caps it at net.core.somaxconn (4096 by
  /// default on Debian 12; docs/scale.md).
  int backlog = 16384;
  int sndhwm = 10000;
  int rcvhwm = 10000;
  int linger_ms = 1000;  ///< bounded, so closing the context never hangs on a gone agent
  /// With a Z85 secret key the socket is a CurveZMQ server: every connection
  /// is encrypted and must pass the context's ZAP handler (which the caller
  /// starts first; without one libzmq would let any client key in).
  std::string curve_secret_key;
};

struct DealerOptions {
  int reconnect_ivl_ms = 500;  ///< base; jittered by up to +50% per socket
  int reconnect_ivl_max_ms = 10000;
  int linger_ms = 1000;
  int heartbeat_ivl_ms = 5000;
  int heartbeat_timeout_ms = 15000;
  int sndhwm = 1000;
  int rcvhwm = 1000;
  /// With the controller's Z85 public key (pinned: the handshake fails against
  /// any other server) and this agent's key pair, the link is CurveZMQ.
  std::string curve_server_key;
  std::string curve_public_key;
  std::string curve_secret_key;
};

/// Creates and binds the controller's ROUTER socket (ROUTER_MANDATORY, ZMTP
/// heartbeats when asked for, TCP keepalive, MAXMSGSIZE, BACKLOG, HWMs,
/// LINGER, and CURVE_SERVER when
/// options.curve_secret_key is set). The ROUTER assigns every connection its
/// own routing id: peers cannot choose one, so two agents that claim the same
/// agent id are two connections the controller tells apart (ingest binds an
/// agent id to a connection at its hello). Error code "bind" names the
/// endpoint; "invalid" a key that is not Z85; "zmq" is any other ZeroMQ
/// failure. `bound_endpoint` receives the actual endpoint (port 0 resolves to
/// the real one, e.g. "tcp://127.0.0.1:41234").
[[nodiscard]] Result<zmq::socket_t> makeRouter(zmq::context_t& ctx, const std::string& endpoint,
                                               const RouterOptions& options,
                                               std::string* bound_endpoint = nullptr);

/// The endpoints of a controller list "tcp://a:7450,tcp://b:7450" (one or
/// more, separated by commas, blanks around them ignored; an empty entry is
/// kept as an empty string, for the caller to refuse).
std::vector<std::string> splitEndpoints(const std::string& endpoints);

/// Creates and connects an agent DEALER socket: reconnect interval jittered
/// per socket by +0..50%, RECONNECT_IVL_MAX, IMMEDIATE=1, bounded LINGER, HWMs
/// and heartbeats, and CurveZMQ client keys when options.curve_server_key is
/// set. It sets no routing id (the controller's ROUTER assigns one per
/// connection). `endpoint` may list several (splitEndpoints): the socket
/// connects to each, and ZeroMQ sends only over the connections that are up,
/// so an agent follows whichever of a controller pair is bound, the acting
/// one (a standby binds nothing). Connecting is asynchronous: success means
/// the endpoint was accepted, not that the controller is up. Error code "connect" for a bad
/// endpoint, "invalid" for a key that is not Z85.
[[nodiscard]] Result<zmq::socket_t> makeDealer(zmq::context_t& ctx, const std::string& endpoint,
                                               const DealerOptions& options);

}  // namespace pso::common
