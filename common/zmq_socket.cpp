#include "common/zmq_socket.h"

#include <random>
#include <utility>

#include "common/curve_keys.h"

namespace pso::common {
namespace {

// Each agent picks its own reconnect interval in [base, 1.5 * base], so a
// fleet whose controller restarts does not reconnect in lock step.
int jitteredInterval(int base_ms) {
  if (base_ms <= 0) return base_ms;
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> extra(0, base_ms / 2);
  return base_ms + extra(rng);
}

}  // namespace

Result<zmq::socket_t> makeRouter(zmq::context_t& ctx, const std::string& endpoint,
                                 const RouterOptions& options, std::string* bound_endpoint) {
  try {
    zmq::socket_t socket(ctx, zmq::socket_type::router);
    // Sending to a routing id that is not connected fails (EHOSTUNREACH)
    // instead of being dropped silently, so dispatch can tell an offline agent.
    socket.set(zmq::sockopt::router_mandatory, 1);
    // No ROUTER_HANDOVER and no peer-chosen ids: with handover, a second peer
    // presenting a routing id in use took the first one's pipe, and libzmq
    // asserted in its stream engine when one of them later disconnected.
    // Ingest decides which connection speaks for an agent (docs/security.md).
    socket.set(zmq::sockopt::heartbeat_ivl, options.heartbeat_ivl_ms);
    socket.set(zmq::sockopt::heartbeat_timeout, options.heartbeat_timeout_ms);
    socket.set(zmq::sockopt::heartbeat_ttl, options.heartbeat_ttl_ms);
    if (options.keepalive_idle_s > 0) {
      socket.set(zmq::sockopt::tcp_keepalive, 1);
      socket.set(zmq::sockopt::tcp_keepalive_idle, options.keepalive_idle_s);
      socket.set(zmq::sockopt::tcp_keepalive_intvl, options.keepalive_interval_s);
      socket.set(zmq::sockopt::tcp_keepalive_cnt, options.keepalive_count);
    }
    socket.set(zmq::sockopt::maxmsgsize, options.max_msg_size);
    socket.set(zmq::sockopt::backlog, options.backlog);
    socket.set(zmq::sockopt::sndhwm, options.sndhwm);
    socket.set(zmq::sockopt::rcvhwm, options.rcvhwm);
    socket.set(zmq::sockopt::linger, options.linger_ms);
    if (!options.curve_secret_key.empty()) {
      if (!isCurveKey(options.curve_secret_key)) {
        return makeError("invalid", "curve secret key for " + endpoint + " is not a Z85 key");
      }
      socket.set(zmq::sockopt::curve_server, 1);
      socket.set(zmq::sockopt::curve_secretkey, options.curve_secret_key);
    }
    try {
      socket.bind(endpoint);
    } catch (const zmq::error_t& e) {
      return makeError("bind", "cannot bind " + endpoint + ": " + e.what());
    }
    if (bound_endpoint) *bound_endpoint = socket.get(zmq::sockopt::last_endpoint);
    return socket;
  } catch (const zmq::error_t& e) {
    return makeError("zmq", "cannot set up ROUTER for " + endpoint + ": " + e.what());
  }
}

std::vector<std::string> splitEndpoints(const std::string& endpoints) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = endpoints.find(',', start);
    std::string part =
        endpoints.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const std::size_t first = part.find_first_not_of(" \t");
    const std::size_t last = part.find_last_not_of(" \t");
    out.push_back(first == std::string::npos ? std::string()
                                             : part.substr(first, last - first + 1));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

Result<zmq::socket_t> makeDealer(zmq::context_t& ctx, const std::string& endpoint,
                                 const DealerOptions& options) {
  try {
    zmq::socket_t socket(ctx, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::reconnect_ivl, jitteredInterval(options.reconnect_ivl_ms));
    socket.set(zmq::sockopt::reconnect_ivl_max, options.reconnect_ivl_max_ms);
    // Queue nothing until the connection is up: telemetry waits in the spool,
    // not in a ZeroMQ buffer that a crash would lose.
    socket.set(zmq::sockopt::immediate, 1);
    socket.set(zmq::sockopt::linger, options.linger_ms);
    socket.set(zmq::sockopt::heartbeat_ivl, options.heartbeat_ivl_ms);
    socket.set(zmq::sockopt::heartbeat_timeout, options.heartbeat_timeout_ms);
    // PINGs without a TTL: a TTL would make the controller's ROUTER arm and
    // cancel a timer per connection on every message (RouterOptions).
    socket.set(zmq::sockopt::heartbeat_ttl, 0);
    socket.set(zmq::sockopt::sndhwm, options.sndhwm);
    socket.set(zmq::sockopt::rcvhwm, options.rcvhwm);
    if (!options.curve_server_key.empty()) {
      for (const std::string* key :
           {&options.curve_server_key, &options.curve_public_key, &options.curve_secret_key}) {
        if (!isCurveKey(*key)) {
          return makeError("invalid", "curve keys for " + endpoint +
                                          ": server, public and secret key must be Z85 keys");
        }
      }
      socket.set(zmq::sockopt::curve_serverkey, options.curve_server_key);
      socket.set(zmq::sockopt::curve_publickey, options.curve_public_key);
      socket.set(zmq::sockopt::curve_secretkey, options.curve_secret_key);
    }
    for (const std::string& one : splitEndpoints(endpoint)) {
      try {
        socket.connect(one);
      } catch (const zmq::error_t& e) {
        return makeError("connect", "cannot connect to " + one + ": " + e.what());
      }
    }
    return socket;
  } catch (const zmq::error_t& e) {
    return makeError("zmq", "cannot set up DEALER for " + endpoint + ": " + e.what());
  }
}

}  // namespace pso::common
