#include "agent/kubernetes_actuator.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/clock.h"

namespace pso::agent {
namespace {

constexpr int64_t kKubernetesRefreshMs = 15000;
// Reads in poll() block the agent loop, so they get a shorter leash than an
// action does.
constexpr common::Duration kMaxReadTimeout{5000};

Result<std::string> readTrimmed(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("invalid", "cannot read " + what + " " + path);
  std::ostringstream text;
  text << in.rdbuf();
  std::string value = text.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
    value.pop_back();
  }
  if (value.empty()) return makeError("invalid", what + " " + path + " is empty");
  return value;
}

}  // namespace

Result<KubernetesTarget> KubernetesTarget::resolve(const std::string& system,
                                                   const ActuatorConfig& config,
                                                   const std::string& service_account_dir) {
  const std::string origin = "system " + system + ": actuator 'kubernetes'";
  KubernetesTarget target;
  target.resource = config.deployment.empty() ? "statefulsets" : "deployments";
  target.name = config.deployment.empty() ? config.statefulset : config.deployment;

  target.api_server = config.api_server;
  if (target.api_server.empty()) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (host == nullptr || port == nullptr || *host == '\0' || *port == '\0') {
      return makeError("invalid", origin +
                                      " needs api_server: not in a cluster "
                                      "(KUBERNETES_SERVICE_HOST/PORT are not set)");
    }
    std::string h = host;
    if (h.find(':') != std::string::npos) h = "[" + h + "]";
    target.api_server = "https://" + h + ":" + port;
  }
  while (!target.api_server.empty() && target.api_server.back() == '/') {
    target.api_server.pop_back();
  }

  const std::filesystem::path sa(service_account_dir);
  target.namespace_ = config.namespace_;
  if (target.namespace_.empty()) {
    Result<std::string> ns = readTrimmed((sa / "namespace").string(), "service-account namespace");
    if (!ns) return makeError("invalid", origin + " needs namespace: " + ns.error().message);
    target.namespace_ = *ns;
  }
  target.token_file = config.token_file.empty() ? (sa / "token").string() : config.token_file;
  if (Result<std::string> token = readTrimmed(target.token_file, "token file"); !token) {
    return makeError("invalid", origin + ": " + token.error().message);
  }
  target.ca_file = config.ca_file;
  std::error_code ec;
  if (target.ca_file.empty() && std::filesystem::exists(sa / "ca.crt", ec)) {
    target.ca_file = (sa / "ca.crt").string();
  }
  return target;
}

KubernetesActuator::KubernetesActuator(std::string system, KubernetesTarget target,
                                       common::Duration timeout)
    : system_(std::move(system)), target_(std::move(target)), timeout_(timeout) {
  url_ = target_.api_server + "/apis/apps/v1/namespaces/" + target_.namespace_ + "/" +
         target_.resource + "/" + target_.name + "/scale";
  request_.url = url_;
  request_.ca_file = target_.ca_file;
}

Status KubernetesActuator::request(const std::string& method, const std::string& body,
                                   common::Duration timeout) {
  Result<std::string> token = readTrimmed(target_.token_file, "token file");
  if (!token) return token.error();
  request_.method = method;
  request_.body = body;
  request_.timeout = timeout;
  request_.headers = {"Authorization: Bearer " + *token, "Accept: application/json"};
  if (method == "PATCH") request_.headers.push_back("Content-Type: application/merge-patch+json");
  if (Status status = client_.perform(request_, response_); !status) return status;
  if (response_.status < 200 || response_.status > 299) {
    return makeError(response_.status >= 400 && response_.status < 500 ? "refused" : "http",
                     describeHttpError(request_, response_));
  }
  nlohmann::json scale = nlohmann::json::parse(response_.body, nullptr, false);
  const nlohmann::json* replicas = nullptr;
  if (scale.is_object() && scale.contains("spec") && scale["spec"].is_object() &&
      scale["spec"].contains("replicas")) {
    replicas = &scale["spec"]["replicas"];
  }
  // A scale with no replicas field means 0 (omitempty in the API's Go types).
  if (scale.is_object() && scale.contains("spec") && replicas == nullptr) {
    current_ = 0;
    return {};
  }
  if (replicas == nullptr || !replicas->is_number_integer() || replicas->get<int64_t>() < 0) {
    return makeError("malformed",
                     method + " " + url_ + ": the answer is not a Scale with spec.replicas");
  }
  current_ = replicas->get<int64_t>();
  return {};
}

Status KubernetesActuator::refresh(common::Duration timeout) {
  last_refresh_ms_ = common::steadyMs();
  return request("GET", {}, timeout);
}

Status KubernetesActuator::start() {
  Status status = refresh(std::min(timeout_, kMaxReadTimeout));
  if (status.ok()) {
    spdlog::info("system {}: {} {}/{} has {} replica(s)", system_, target_.resource,
                 target_.namespace_, target_.name, current_);
    return {};
  }
  const bool misconfigured =
      response_.status == 401 || response_.status == 403 || response_.status == 404;
  if (misconfigured)
    return makeError("invalid", "system " + system_ + ": " + status.error().message);
  spdlog::warn("system {}: cannot read the scale yet, will retry: {}", system_,
               status.error().message);
  last_error_ = status.error().message;
  return {};
}

ActuationResult KubernetesActuator::apply(const protocol::Directive& directive) {
  if (directive.action != "scale" || !directive.replicas) {
    return {ActuationStatus::kRefused, current_,
            "system " + system_ + ": the kubernetes actuator scales replicas; '" +
                directive.action + "' is not supported (set resources in the pod template)"};
  }
  const int64_t before = current_;
  const std::string body = nlohmann::json{{"spec", {{"replicas", *directive.replicas}}}}.dump();
  if (Status status = request("PATCH", body, timeout_); !status) {
    spdlog::warn("system {}: scale to {} failed: {}", system_, *directive.replicas,
                 status.error().message);
    return {ActuationStatus::kFailed, current_,
            "system " + system_ + ": " + status.error().message};
  }
  last_refresh_ms_ = common::steadyMs();
  spdlog::info("system {}: {} {}/{} scaled from {} to {} replicas", system_, target_.resource,
               target_.namespace_, target_.name, before, current_);
  return {ActuationStatus::kApplied, current_,
          "system " + system_ + ": " + target_.resource + " " + target_.namespace_ + "/" +
              target_.name + " spec.replicas is now " + std::to_string(current_)};
}

void KubernetesActuator::poll() {
  if (common::steadyMs() - last_refresh_ms_ < kKubernetesRefreshMs) return;
  Status status = refresh(std::min(timeout_, kMaxReadTimeout));
  std::string error = status.ok() ? std::string() : status.error().message;
  if (!error.empty() && error != last_error_) {
    spdlog::warn("system {}: cannot read the scale: {}", system_, error);
  }
  last_error_ = std::move(error);
}

namespace {

Result<std::unique_ptr<Actuator>> buildKubernetes(const SystemConfig& system,
                                                  const ActuatorContext& /*context*/) {
  Result<KubernetesTarget> target = KubernetesTarget::resolve(system.name, system.actuator);
  if (!target) return target.error();
  // In a cluster the API server speaks https, which needs libcurl.
  if (Status http = checkHttpSupport(target.value().api_server); !http) {
    return makeError(http.error().code,
                     "system " + system.name + ": actuator 'kubernetes': " + http.error().message);
  }
  return std::unique_ptr<Actuator>(std::make_unique<KubernetesActuator>(
      system.name, std::move(target).value(), system.actuator.timeout));
}

common::Finding checkWorkload(const std::string& /*deployment*/, const ActuatorConfig& config) {
  if (config.deployment.empty() != config.statefulset.empty()) return std::nullopt;
  return common::Problem::invalid("kind kubernetes needs exactly one of deployment or statefulset");
}

}  // namespace

void registerKubernetesActuator(ActuatorRegistry& registry) {
  using A = ActuatorConfig;
  using Key = common::ConfigKey<A>;
  registry.add(ActuatorKind{
      .name = "kubernetes",
      .keys = {Key("api_server", &A::api_server, "the API server's URL")
                   .emptyMeans("https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"),
               Key("namespace", &A::namespace_, "the workload's namespace")
                   .emptyMeans("the service account's namespace file"),
               Key("deployment", &A::deployment, "the Deployment's name", &checkWorkload),
               Key("statefulset", &A::statefulset, "the StatefulSet's name"),
               Key("token_file", &A::token_file, "file holding the bearer token")
                   .emptyMeans("/var/run/secrets/kubernetes.io/serviceaccount/token"),
               Key("ca_file", &A::ca_file, "CA bundle for the API server")
                   .emptyMeans("the service account's ca.crt")},
      .build = &buildKubernetes,
  });
}

}  // namespace pso::agent
