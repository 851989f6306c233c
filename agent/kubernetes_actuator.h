#pragma once

#include <cstdint>
#include <string>

#include "agent/actuator.h"
#include "agent/http_client.h"
#include "common/metrics.h"

namespace pso::agent {

/// Where a KubernetesActuator finds its workload, every default resolved.
struct KubernetesTarget {
  std::string api_server;  ///< "https://10.96.0.1:443", no trailing slash
  std::string namespace_;
  std::string resource;  ///< "deployments" or "statefulsets"
  std::string name;
  std::string token_file;  ///< bearer token, read at every request (tokens rotate)
  std::string ca_file;     ///< empty: the system's CAs

  /// Resolves `config` against the in-cluster service account: api_server
  /// from KUBERNETES_SERVICE_HOST/PORT, namespace, token and CA from
  /// `service_account_dir` (normally /var/run/secrets/kubernetes.io/serviceaccount).
  /// `config` has passed the kind's checks (exactly one of deployment or
  /// statefulset). An Error (code "invalid") says which setting is missing.
  [[nodiscard]] static Result<KubernetesTarget> resolve(
      const std::string& system, const ActuatorConfig& config,
      const std::string& service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount");
};

/// Scales a Deployment or StatefulSet through the scale subresource of the API
/// server: GET .../<resource>/<name>/scale reads spec.replicas (the count
/// Kubernetes keeps running), and a scale directive is a PATCH of
/// {"spec":{"replicas":N}} (application/merge-patch+json) with the bearer
/// token; the replica count in the answer is reported back. Limits directives
/// are refused (resources belong to the pod template). The count is refreshed
/// by poll() every 15 s.
class KubernetesActuator final : public Actuator {
 public:
  KubernetesActuator(std::string system, KubernetesTarget target, common::Duration timeout);

  const char* kind() const override { return "kubernetes"; }
  /// Reads the scale once. An answer of 401, 403 or 404 (wrong token, RBAC or
  /// name) is an Error; an unreachable API server is logged and retried by
  /// poll(), since the cluster may come up after the agent.
  [[nodiscard]] Status start() override;
  int64_t currentReplicas() const override { return current_; }
  [[nodiscard]] ActuationResult apply(const protocol::Directive& directive) override;
  void poll() override;
  void stop() override {}

  /// The scale subresource's URL.
  const std::string& scaleUrl() const { return url_; }

 private:
  Status refresh(common::Duration timeout);
  Status request(const std::string& method, const std::string& body, common::Duration timeout);

  std::string system_;
  KubernetesTarget target_;
  common::Duration timeout_;
  std::string url_;
  HttpClient client_;
  HttpRequest request_;
  HttpResponse response_;
  int64_t current_ = -1;
  int64_t last_refresh_ms_ = 0;
  std::string last_error_;
};

/// Registers kind "kubernetes" (keys api_server, namespace, deployment,
/// statefulset, token_file, ca_file).
void registerKubernetesActuator(ActuatorRegistry& registry);

}  // namespace pso::agent
