#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "agent/actuator.h"
#include "agent/http_client.h"

namespace pso::agent {

/// Keeps N containers of one image running through the Docker Engine API on
/// its unix socket, the way `docker compose up --scale` does.
///
/// The containers it manages carry the configured labels plus
/// pso.system=<system>; only those are counted and touched. Growing first
/// starts managed containers that exist but are stopped (oldest first), then
/// creates and starts new ones (POST /containers/create, POST
/// /containers/{id}/start). Shrinking stops (POST /containers/{id}/stop?t=
/// stop_grace) and removes (DELETE /containers/{id}) the newest running ones.
/// Afterwards the list is read again and the running count reported. Limits
/// directives are refused. The whole action is bounded by `timeout`.
class DockerActuator final : public Actuator {
 public:
  /// @param command the container's Cmd; empty keeps the image's default
  DockerActuator(std::string system, const ActuatorConfig& config);

  const char* kind() const override { return "docker"; }
  /// Lists the managed containers once; an unreachable daemon is an Error.
  [[nodiscard]] Status start() override;
  int64_t currentReplicas() const override { return current_; }
  [[nodiscard]] ActuationResult apply(const protocol::Directive& directive) override;
  void poll() override;
  void stop() override {}

 private:
  struct Container {
    std::string id;
    int64_t created = 0;
    bool running = false;
  };

  Status call(const std::string& method, const std::string& path, const std::string& body,
              int64_t deadline_ms);
  Status list(int64_t deadline_ms, std::vector<Container>& out);
  Status startContainer(const std::string& id, int64_t deadline_ms);

  std::string system_;
  std::string socket_;
  std::string base_;  ///< "http://localhost/v1.41"
  std::string image_;
  std::vector<std::string> command_;
  std::map<std::string, std::string> labels_;  ///< including pso.system
  std::string filters_;                        ///< URL-encoded label filter
  common::Duration timeout_;
  int64_t stop_grace_s_;
  HttpClient client_;
  HttpRequest request_;
  HttpResponse response_;
  int64_t current_ = -1;
  int64_t last_refresh_ms_ = 0;
  uint64_t created_ = 0;  ///< containers created by this process, for unique names
  std::string last_error_;
};

/// Registers kind "docker" (keys socket, image, labels, api_version, command,
/// stop_grace).
void registerDockerActuator(ActuatorRegistry& registry);

}  // namespace pso::agent
