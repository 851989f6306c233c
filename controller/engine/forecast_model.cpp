#include "controller/engine/forecast_model.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

#include "controller/engine/ets_model.h"
#include "controller/engine/holt_model.h"
#include "controller/engine/holt_winters_model.h"
#include "controller/engine/model_selector.h"
#include "controller/engine/seasonal_naive_model.h"

namespace pso::controller::engine {

namespace {

using Factory = std::function<std::unique_ptr<ForecastModel>(const ForecastModelParams&)>;
/// Fills in the params a registered name implies, before they are checked.
using Preset = std::function<void(ForecastModelParams&)>;

struct Registered {
  std::string name;
  Factory make;
  Preset preset;  ///< empty: the params are used as given
};

std::unique_ptr<ForecastModel> makeHoltWinters(const ForecastModelParams& p) {
  return std::make_unique<HoltWintersModel>(p);
}

/// The one place forecast models are registered by name. The Holt-Winters
/// variants are one class: its saved state carries the variant, so any of
/// the three names restores any Holt-Winters state.
const std::vector<Registered>& registry() {
  static const std::vector<Registered> kModels = {
      {"holt", [](const ForecastModelParams& p) { return std::make_unique<HoltModel>(p); }, {}},
      {"holt-winters", makeHoltWinters, {}},
      {"holt-winters-mult", makeHoltWinters,
       [](ForecastModelParams& p) { p.seasonality = Seasonality::kMultiplicative; }},
      // Weekly on top of daily is the usual second season: 7 x the first.
      {"holt-winters-2s", makeHoltWinters,
       [](ForecastModelParams& p) {
         if (p.second_season_period == 0 && p.season_period > 1) {
           p.second_season_period = 7 * p.season_period;
         }
       }},
      {"ets", [](const ForecastModelParams& p) { return std::make_unique<EtsModel>(p); }, {}},
      {"auto", [](const ForecastModelParams& p) { return std::make_unique<AutoModel>(p); }, {}},
      {"seasonal-naive",
       [](const ForecastModelParams& p) { return std::make_unique<SeasonalNaiveModel>(p); },
       {}},
      {"naive",
       [](const ForecastModelParams& p) {
         ForecastModelParams flat = p;
         flat.season_period = 1;
         return std::make_unique<SeasonalNaiveModel>(flat);
       },
       {}},
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
                   out_of_range("error_stride", p.error_stride, 1, 10000),
                   out_of_range("fit_window", p.fit_window, 4, 1000000),
                   out_of_range("warmup", p.warmup, 1, 1000000),
                   out_of_range("refit_every", p.refit_every, 1, 1000000),
                   out_of_range("season_period", p.season_period, 1, 10000000),
                   out_of_range("fit_horizon", p.fit_horizon, 0, 10000),
                   out_of_range("fit_seasons", p.fit_seasons, 3, 1000),
                   out_of_range("refit_seasons", p.refit_seasons, 1, 1000),
                   out_of_range("detection_window", p.detection_window, 64, 10000000),
                   out_of_range("second_season_period", p.second_season_period, 0, 10000000)}) {
    if (!s.ok()) return s;
  }
  if (p.second_season_period > 0) {
    const int first = p.season_period;
    if (first < 2 || p.second_season_period < 2 * first || p.second_season_period % first != 0) {
      return makeError("invalid", "forecast model parameter second_season_period = " +
                                      std::to_string(p.second_season_period) +
                                      " must be a multiple of season_period = " +
                                      std::to_string(first) + " (at least twice it, and >= 2)");
    }
    if (p.seasonality == Seasonality::kMultiplicative) {
      return makeError("invalid",
                       "a second season (second_season_period) needs additive seasonality");
    }
  }
  return {};
}

}  // namespace

int64_t firstFitAt(const ForecastModelParams& params) {
  const int64_t warmup = std::max(1, params.warmup);
  return warmup + std::max(0, params.refit_phase) % warmup;
}

int errorStrideFor(double step_s) {
  const int fallback = ForecastModelParams{}.error_stride;
  if (!(step_s > 0.0) || !std::isfinite(step_s)) return fallback;
  const double steps = std::round(kScoredOriginSpacingS / step_s);
  return static_cast<int>(std::clamp(steps, static_cast<double>(fallback), 10000.0));
}

void ForecastModel::pointForecast(std::vector<double>& out) const {
  const Forecast f = forecast(static_cast<int>(out.size()), 0.9);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = i < f.point.size() ? f.point[i] : 0.0;
}

Result<std::unique_ptr<ForecastModel>> makeForecastModel(const std::string& name,
                                                         const ForecastModelParams& params) {
  for (const Registered& entry : registry()) {
    if (entry.name != name) continue;
    ForecastModelParams chosen = params;
    if (entry.preset) entry.preset(chosen);
    if (Status status = checkParams(chosen); !status.ok()) return status.error();
    return entry.make(chosen);
  }
  std::string known;
  for (const std::string& n : forecastModelNames()) known += (known.empty() ? "" : ", ") + n;
  return makeError("invalid", "unknown forecast model '" + name + "' (known: " + known + ")");
}

std::vector<std::string> forecastModelNames() {
  std::vector<std::string> names;
  for (const Registered& entry : registry()) names.push_back(entry.name);
  return names;
}

}  // namespace pso::controller::engine
