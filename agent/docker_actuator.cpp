#include "agent/docker_actuator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/text.h"

namespace pso::agent {
namespace {

constexpr int64_t kDockerRefreshMs = 10000;
constexpr int64_t kMaxReadTimeoutMs = 5000;

// Container names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*.
std::string containerNamePart(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    out += ok ? c : '-';
  }
  return out;
}

}  // namespace

DockerActuator::DockerActuator(std::string system, const ActuatorConfig& config)
    : system_(std::move(system)),
      socket_(config.socket),
      base_("http://localhost/" + config.api_version),
      image_(config.image),
      command_(config.command),
      labels_(config.labels),
      timeout_(config.timeout),
      stop_grace_s_(std::max<int64_t>(0, config.stop_grace.count() / 1000)) {
  labels_["pso.system"] = system_;
  nlohmann::json label_filter = nlohmann::json::array();
  for (const auto& [key, value] : labels_) label_filter.push_back(key + "=" + value);
  filters_ = common::percentEncode(nlohmann::json{{"label", label_filter}}.dump());
  request_.unix_socket = socket_;
}

Status DockerActuator::call(const std::string& method, const std::string& path,
                            const std::string& body, int64_t deadline_ms) {
  const int64_t remaining = deadline_ms - common::steadyMs();
  request_.method = method;
  request_.url = base_ + path;
  if (remaining <= 0) return makeError("timeout", method + " " + request_.url + ": out of time");
  request_.timeout = common::Duration(remaining);
  request_.body = body;
  request_.headers.clear();
  if (!body.empty()) request_.headers.push_back("Content-Type: application/json");
  if (Status status = client_.perform(request_, response_); !status) {
    return makeError(status.error().code,
                     status.error().message + " (Docker socket " + socket_ + ")");
  }
  // 304: already started / already stopped, which is what was wanted.
  if ((response_.status < 200 || response_.status > 299) && response_.status != 304) {
    return makeError("http", describeHttpError(request_, response_));
  }
  return {};
}

Status DockerActuator::list(int64_t deadline_ms, std::vector<Container>& out) {
  out.clear();
  if (Status status = call("GET", "/containers/json?all=true&filters=" + filters_, {}, deadline_ms);
      !status) {
    return status;
  }
  nlohmann::json containers = nlohmann::json::parse(response_.body, nullptr, false);
  if (!containers.is_array()) {
    return makeError("malformed", "GET " + request_.url + ": expected a JSON array of containers");
  }
  for (const nlohmann::json& c : containers) {
    if (!c.is_object() || !c.contains("Id") || !c["Id"].is_string()) {
      return makeError("malformed", "GET " + request_.url + ": a container without an Id");
    }
    Container container;
    container.id = c["Id"].get<std::string>();
    if (c.contains("Created") && c["Created"].is_number_integer()) {
      container.created = c["Created"].get<int64_t>();
    }
    container.running =
        c.contains("State") && c["State"].is_string() && c["State"].get<std::string>() == "running";
    out.push_back(std::move(container));
  }
  current_ = std::count_if(out.begin(), out.end(), [](const Container& c) { return c.running; });
  last_refresh_ms_ = common::steadyMs();
  return {};
}

Status DockerActuator::startContainer(const std::string& id, int64_t deadline_ms) {
  return call("POST", "/containers/" + id + "/start", {}, deadline_ms);
}

Status DockerActuator::start() {
  std::vector<Container> containers;
  Status status =
      list(common::steadyMs() + std::min(timeout_.count(), kMaxReadTimeoutMs), containers);
  if (!status)
    return makeError(status.error().code, "system " + system_ + ": " + status.error().message);
  spdlog::info("system {}: {} running container(s) of {} ({} managed)", system_, current_, image_,
               containers.size());
  return {};
}

ActuationResult DockerActuator::apply(const protocol::Directive& directive) {
  if (directive.action != "scale" || !directive.replicas) {
    return {ActuationStatus::kRefused, current_,
            "system " + system_ + ": the docker actuator scales containers; '" + directive.action +
                "' is not supported"};
  }
  const int64_t wanted = *directive.replicas;
  const int64_t deadline = common::steadyMs() + timeout_.count();
  auto failed = [&](const Status& status) {
    std::string message = "system " + system_ + ": " + status.error().message;
    spdlog::warn("{} (directive {})", message, directive.id);
    std::vector<Container> after;
    (void)list(common::steadyMs() + kMaxReadTimeoutMs, after);
    return ActuationResult{ActuationStatus::kFailed, current_, message};
  };

  std::vector<Container> containers;
  if (Status status = list(deadline, containers); !status) return failed(status);
  std::vector<Container> running;
  std::vector<Container> stopped;
  for (const Container& c : containers) (c.running ? running : stopped).push_back(c);
  auto oldest_first = [](const Container& a, const Container& b) {
    return a.created != b.created ? a.created < b.created : a.id < b.id;
  };
  std::sort(running.begin(), running.end(), oldest_first);
  std::sort(stopped.begin(), stopped.end(), oldest_first);
  const int64_t before = static_cast<int64_t>(running.size());
  int64_t count = before;

  std::size_t next_stopped = 0;
  while (count < wanted) {
    if (next_stopped < stopped.size()) {
      if (Status status = startContainer(stopped[next_stopped++].id, deadline); !status) {
        return failed(status);
      }
    } else {
      nlohmann::json spec{{"Image", image_}, {"Labels", labels_}};
      if (!command_.empty()) spec["Cmd"] = command_;
      const std::string name = "pso-" + containerNamePart(system_) + "-" +
                               std::to_string(common::wallMs()) + "-" + std::to_string(++created_);
      if (Status status = call("POST", "/containers/create?name=" + common::percentEncode(name),
                               spec.dump(), deadline);
          !status) {
        return failed(status);
      }
      nlohmann::json answer = nlohmann::json::parse(response_.body, nullptr, false);
      if (!answer.is_object() || !answer.contains("Id") || !answer["Id"].is_string()) {
        return failed(makeError("malformed", "POST " + request_.url + ": answer without an Id"));
      }
      if (Status status = startContainer(answer["Id"].get<std::string>(), deadline); !status) {
        return failed(status);
      }
    }
    ++count;
  }
  // The newest go first, as a scale-down of a compose service does.
  while (count > wanted) {
    const std::string id = running[static_cast<std::size_t>(count - 1)].id;
    if (Status status = call(
            "POST", "/containers/" + id + "/stop?t=" + std::to_string(stop_grace_s_), {}, deadline);
        !status) {
      return failed(status);
    }
    if (Status status = call("DELETE", "/containers/" + id, {}, deadline); !status) {
      return failed(status);
    }
    --count;
  }

  if (Status status = list(std::max(deadline, common::steadyMs() + kMaxReadTimeoutMs), containers);
      !status) {
    return failed(status);
  }
  if (current_ != wanted) {
    return failed(makeError("mismatch", std::to_string(current_) +
                                            " container(s) running after scaling to " +
                                            std::to_string(wanted)));
  }
  spdlog::info("system {}: containers of {} scaled from {} to {}", system_, image_, before,
               current_);
  return {ActuationStatus::kApplied, current_,
          "system " + system_ + ": " + std::to_string(current_) + " container(s) of " + image_ +
              " running (was " + std::to_string(before) + ")"};
}

void DockerActuator::poll() {
  if (common::steadyMs() - last_refresh_ms_ < kDockerRefreshMs) return;
  std::vector<Container> containers;
  Status status =
      list(common::steadyMs() + std::min(timeout_.count(), kMaxReadTimeoutMs), containers);
  last_refresh_ms_ = common::steadyMs();
  std::string error = status.ok() ? std::string() : status.error().message;
  if (!error.empty() && error != last_error_) {
    spdlog::warn("system {}: cannot list containers: {}", system_, error);
  }
  last_error_ = std::move(error);
}

namespace {

Result<std::unique_ptr<Actuator>> buildDocker(const SystemConfig& system,
                                              const ActuatorContext& /*context*/) {
  // The Engine API is plain HTTP over its unix socket: the built-in client
  // serves it, and libcurl (TLS and all) is never loaded.
  return std::unique_ptr<Actuator>(std::make_unique<DockerActuator>(system.name, system.actuator));
}

}  // namespace

void registerDockerActuator(ActuatorRegistry& registry) {
  using A = ActuatorConfig;
  namespace checks = common::checks;
  registry.add(ActuatorKind{
      .name = "docker",
      .keys = {{"socket", &A::socket, "the Docker Engine API's unix socket", checks::notEmpty()},
               {"image", &A::image, "image of the containers", checks::required()},
               {"labels", &A::labels, "labels of the managed containers, beside pso.system"},
               {"api_version", &A::api_version, "Engine API version in request paths"},
               {"command", &A::command, "the container's Cmd; empty keeps the image's"},
               {"stop_grace", &A::stop_grace, "the stop timeout before the daemon kills"}},
      .build = &buildDocker,
  });
}

}  // namespace pso::agent
