#include "agent/prometheus_demand_source.h"

namespace pso::agent {

PrometheusDemandSource::PrometheusDemandSource(const DemandSourceConfig& config)
    : url_(config.url), metric_(config.metric), labels_(config.labels), rate_mode_(config.rate) {
  request_.url = url_;
  request_.timeout = config.timeout;
  request_.headers.push_back("Accept: text/plain;version=0.0.4");
}

Result<double> PrometheusDemandSource::read(int64_t now_ms) {
  if (Status status = client_.perform(request_, response_); !status) return status.error();
  if (response_.status != 200) {
    return makeError("http", "GET " + url_ + ": HTTP status " + std::to_string(response_.status));
  }
  Result<MetricSelection> selection = selectMetric(response_.body, metric_, labels_, url_);
  if (!selection) return selection.error();
  if (selection->matched == 0) {
    std::string wanted = metric_;
    if (!labels_.empty()) {
      wanted += "{";
      for (const auto& [key, value] : labels_) {
        wanted += (wanted.back() == '{' ? "" : ",") + key + "=\"" + value + "\"";
      }
      wanted += "}";
    }
    return makeError("no_match", url_ + " has no sample " + wanted);
  }
  if (!useRate(rate_mode_, selection->type, metric_)) return selection->sum;
  return rate_.update(selection->sum, now_ms, url_ + " " + metric_);
}

namespace {

Result<std::unique_ptr<DemandSource>> buildPrometheus(const DemandSourceConfig& config,
                                                      const DemandSourceContext& context) {
  if (Status http = checkHttpSupport(config.url); !http) {
    return makeError(
        http.error().code,
        "system " + context.system + ": demand source 'prometheus': " + http.error().message);
  }
  return std::unique_ptr<DemandSource>(std::make_unique<PrometheusDemandSource>(config));
}

}  // namespace

void registerPrometheusDemandSource(DemandSourceRegistry& registry) {
  using D = DemandSourceConfig;
  namespace checks = common::checks;
  registry.add(DemandSourceKind{
      .name = "prometheus",
      .keys = {{"url", &D::url, "scrape URL", checks::required()},
               {"metric", &D::metric, "the metric's name", checks::required()},
               {"labels", &D::labels, "label matchers; the matching samples are summed"},
               demandTimeoutKey(),
               demandRateKey()},
      .build = &buildPrometheus,
  });
}

}  // namespace pso::agent
