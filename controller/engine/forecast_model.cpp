#include "controller/engine/forecast_model.h"

#include <functional>
#include <utility>

#include "controller/engine/holt_model.h"
#include "controller/engine/holt_winters_model.h"
#include "controller/engine/model_selector.h"
#include "controller/engine/seasonal_naive_model.h"

namespace pso::controller::engine {

namespace {

using Factory = std::function<std::unique_ptr<ForecastModel>(const ForecastModelParams&)>;

/// The one place forecast models are registered by name.
const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> kModels = {
      {"holt", [](const ForecastModelParams& p) { return std::make_unique<HoltModel>(p); }},
      {"holt-winters",
       [](const ForecastModelParams& p) { return std::make_unique<HoltWintersModel>(p); }},
      {"auto", [](const ForecastModelParams& p) { return std::make_unique<AutoModel>(p); }},
      {"seasonal-naive",
       [](const ForecastModelParams& p) { return std::make_unique<SeasonalNaiveModel>(p); }},
      {"naive",
       [](const ForecastModelParams& p) {
         ForecastModelParams flat = p;
         flat.season_period = 1;
         return std::make_unique<SeasonalNaiveModel>(flat);
       }},
  };
  return kModels;
}

Status checkParams(const ForecastModelParams& p) {
  auto out_of_range = [](const char* field, int value, int min, int max) -> Status {
    if (value >= min && value <= max) return {};
    return makeError("invalid", std::string("forecast model parameter ") + field + " = " +
                                    std::to_string(value) + " is outside [" + std::to_string(min) +
                                    ", " + std::to_string(max) + "]");
  };
  for (Status s : {out_of_range("max_horizon", p.max_horizon, 1, 10000),
                   out_of_range("error_window", p.error_window, 2, 1000000),
                   out_of_range("fit_window", p.fit_window, 4, 1000000),
                   out_of_range("warmup", p.warmup, 1, 1000000),
                   out_of_range("refit_every", p.refit_every, 1, 1000000),
                   out_of_range("season_period", p.season_period, 1, 10000000),
                   out_of_range("fit_horizon", p.fit_horizon, 0, 10000),
                   out_of_range("fit_seasons", p.fit_seasons, 3, 1000),
                   out_of_range("refit_seasons", p.refit_seasons, 1, 1000),
                   out_of_range("detection_window", p.detection_window, 64, 10000000)}) {
    if (!s.ok()) return s;
  }
  return {};
}

}  // namespace

void ForecastModel::pointForecast(std::vector<double>& out) const {
  const Forecast f = forecast(static_cast<int>(out.size()), 0.9);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = i < f.point.size() ? f.point[i] : 0.0;
}

Result<std::unique_ptr<ForecastModel>> makeForecastModel(const std::string& name,
                                                         const ForecastModelParams& params) {
  for (const auto& [model_name, factory] : registry()) {
    if (model_name != name) continue;
    if (Status status = checkParams(params); !status.ok()) return status.error();
    return factory(params);
  }
  std::string known;
  for (const std::string& n : forecastModelNames()) known += (known.empty() ? "" : ", ") + n;
  return makeError("invalid", "unknown forecast model '" + name + "' (known: " + known + ")");
}

std::vector<std::string> forecastModelNames() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

}  // namespace pso::controller::engine
