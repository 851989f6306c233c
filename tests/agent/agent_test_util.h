#pragma once

// Helpers shared by the agent tests: temp directories, waiting for a condition
// with a deadline, and a real ROUTER socket playing the controller.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "common/result.h"
#include "common/zmq_socket.h"
#include "protocol/codec.h"
#include "protocol/messages.h"

namespace pso::agent::testing {

/// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ =
        std::filesystem::temp_directory_path() / ("pso-agent-test-" + std::to_string(::getpid()) +
                                                  "-" + std::to_string(counter.fetch_add(1)));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void writeFile(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Calls `step` (which may poll or sleep briefly) until `done` holds or
/// `timeout` passes; returns whether it held.
inline bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                      const std::function<void()>& step = {}) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    if (step) {
      step();
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return done();
}

/// True while a process with this pid exists (a zombie counts as existing).
inline bool processExists(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

/// A real ROUTER socket on loopback standing in for pso-controller.
class TestController {
 public:
  struct Received {
    std::string identity;  ///< the routing id this ROUTER gave the connection
    protocol::Message message;
  };

  explicit TestController(zmq::context_t& context,
                          const std::string& endpoint = "tcp://127.0.0.1:0")
      : context_(context) {
    common::RouterOptions options;
    Result<zmq::socket_t> router = common::makeRouter(context_, endpoint, options, &endpoint_);
    if (!router) throw std::runtime_error(router.error().message);
    router_ = std::move(router).value();
  }

  const std::string& endpoint() const { return endpoint_; }
  zmq::socket_t& socket() { return router_; }

  /// Receives every message waiting (waiting up to `timeout_ms` for the first)
  /// into received(); counts frames that do not decode.
  void drain(int timeout_ms = 0) {
    zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms));
    for (;;) {
      zmq::message_t identity;
      if (!router_.recv(identity, zmq::recv_flags::dontwait)) return;
      zmq::message_t payload;
      if (!router_.recv(payload, zmq::recv_flags::dontwait)) return;
      Result<protocol::Message> message = protocol::decode(payload.to_string_view());
      if (!message) {
        ++undecodable_;
        continue;
      }
      if (const auto* hello = std::get_if<protocol::Hello>(&*message)) {
        routes_[hello->agent_id] = identity.to_string();
      }
      received_.push_back(Received{identity.to_string(), std::move(message).value()});
    }
  }

  /// Sends to the connection of the agent's latest hello.
  void send(const std::string& agent_id, const protocol::Message& message) {
    sendRaw(agent_id, protocol::encode(message));
  }
  void sendRaw(const std::string& agent_id, const std::string& frame) {
    router_.send(zmq::buffer(routingIdOf(agent_id)), zmq::send_flags::sndmore);
    router_.send(zmq::buffer(frame), zmq::send_flags::none);
  }

  std::vector<Received>& received() { return received_; }
  /// The routing id of the agent's latest hello (the agent id itself before one).
  std::string routingIdOf(const std::string& agent_id) const {
    auto it = routes_.find(agent_id);
    return it == routes_.end() ? agent_id : it->second;
  }
  int undecodable() const { return undecodable_; }

  /// Every received message of type T, in arrival order.
  template <typename T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const Received& r : received_) {
      if (const T* m = std::get_if<T>(&r.message)) out.push_back(*m);
    }
    return out;
  }
  template <typename T>
  std::size_t count() const {
    return all<T>().size();
  }
  void clear() { received_.clear(); }

 private:
  zmq::context_t& context_;
  std::string endpoint_;
  zmq::socket_t router_;
  std::vector<Received> received_;
  std::map<std::string, std::string> routes_;  // agent id -> routing id of its latest hello
  int undecodable_ = 0;
};

}  // namespace pso::agent::testing
