#pragma once

#include <map>
#include <string>

#include "agent/demand_source.h"
#include "agent/http_client.h"
#include "agent/prometheus_text.h"

namespace pso::agent {

/// Scrapes a Prometheus text endpoint each read (blocking: the agent runs it
/// through a BackgroundDemandSource) and uses one metric as the
/// demand: the sum of the samples named `metric` whose labels include every
/// configured label. A counter (see useRate()) becomes its per-second rate, so
/// the first scrape of a counter yields no value. A failed scrape, a status
/// other than 200, no matching sample or a malformed line of the metric is an
/// Error naming the URL; the agent then emits no demand point.
class PrometheusDemandSource final : public DemandSource {
 public:
  explicit PrometheusDemandSource(const DemandSourceConfig& config);

  const char* kind() const override { return "prometheus"; }
  [[nodiscard]] Result<double> read(int64_t now_ms) override;
  bool mayBlock() const override { return true; }

 private:
  std::string url_;
  std::string metric_;
  std::map<std::string, std::string> labels_;
  std::string rate_mode_;
  HttpClient client_;
  HttpRequest request_;
  HttpResponse response_;  ///< body buffer reused across scrapes
  CounterRate rate_;
};

/// Registers source "prometheus" (keys url, metric, labels, timeout, rate).
void registerPrometheusDemandSource(DemandSourceRegistry& registry);

}  // namespace pso::agent
