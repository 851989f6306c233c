#include "agent/command_demand_source.h"

#include "agent/proc_text.h"
#include "agent/subprocess.h"

namespace pso::agent {
namespace {

constexpr std::size_t kMaxOutput = 64 * 1024;

// Series the agent itself produces for a system; a command cannot overwrite them.
bool reservedMetric(std::string_view name) {
  return name == "demand" || name == "replicas" || name == "health_score";
}

}  // namespace

CommandDemandSource::CommandDemandSource(std::string system, const DemandSourceConfig& config)
    : system_(std::move(system)),
      command_(config.command),
      metric_(config.metric),
      rate_mode_(config.rate),
      timeout_(config.timeout) {
  std::string joined;
  for (const std::string& arg : command_) joined += (joined.empty() ? "" : " ") + arg;
  what_ = "command '" + joined + "'";
}

Result<double> CommandDemandSource::read(int64_t now_ms) {
  line_count_ = 0;
  Result<CommandOutcome> outcome = runCommand(command_, timeout_, kMaxOutput);
  if (!outcome) return makeError("command", what_ + ": " + outcome.error().message);
  if (!outcome->succeeded()) {
    return makeError(outcome->timed_out ? "timeout" : "command",
                     what_ + ": " + outcome->describe(timeout_));
  }
  std::optional<double> bare;
  LineCursor lines(outcome->output);
  std::string_view line;
  while (lines.next(line)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view rest = line;
    std::string_view first = nextToken(rest);
    if (first.empty()) continue;
    std::string_view second = nextToken(rest);
    double value = 0.0;
    const bool number_only = second.empty() && parseDouble(first, value);
    if (number_only && line_count_ == 0 && !bare) {
      bare = value;
      continue;
    }
    if (number_only || bare || !parseDouble(second, value) || !nextToken(rest).empty()) {
      return makeError("malformed", what_ + " output line " + std::to_string(lines.number()) +
                                        ": expected one number or 'name value' lines, got '" +
                                        std::string(line.substr(0, 80)) + "'");
    }
    if (line_count_ == lines_.size()) lines_.emplace_back();
    lines_[line_count_].first.assign(first);
    lines_[line_count_].second = value;
    ++line_count_;
  }
  double demand = 0.0;
  std::string_view name = metric_;
  if (bare) {
    demand = *bare;
  } else if (line_count_ == 0) {
    return makeError("malformed", what_ + " printed no value");
  } else if (metric_.empty()) {
    if (line_count_ > 1) {
      return makeError("invalid", what_ + " printed " + std::to_string(line_count_) +
                                      " values; set 'metric' to choose the demand");
    }
    demand = lines_[0].second;
    name = lines_[0].first;
  } else {
    bool found = false;
    for (std::size_t i = 0; i < line_count_ && !found; ++i) {
      if (lines_[i].first == metric_) {
        demand = lines_[i].second;
        found = true;
      }
    }
    if (!found) return makeError("no_match", what_ + " printed no line '" + metric_ + " <value>'");
  }
  if (!useRate(rate_mode_, {}, name)) return demand;
  return rate_.update(demand, now_ms, what_);
}

void CommandDemandSource::appendMetrics(std::vector<SamplePoint>& out) {
  for (std::size_t i = 0; i < line_count_; ++i) {
    if (reservedMetric(lines_[i].first)) continue;
    out.push_back(SamplePoint{{system_, lines_[i].first}, lines_[i].second});
  }
}

namespace {

Result<std::unique_ptr<DemandSource>> buildCommandDemandSource(const DemandSourceConfig& config,
                                                               const DemandSourceContext& context) {
  return std::unique_ptr<DemandSource>(
      std::make_unique<CommandDemandSource>(context.system, config));
}

}  // namespace

void registerCommandDemandSource(DemandSourceRegistry& registry) {
  using D = DemandSourceConfig;
  namespace checks = common::checks;
  registry.add(DemandSourceKind{
      .name = "command",
      .keys = {{"command", &D::command, "argv printing one number or \"name value\" lines",
                checks::required()},
               {"metric", &D::metric, "which \"name value\" line is the demand"},
               demandTimeoutKey(),
               demandRateKey()},
      .build = &buildCommandDemandSource,
  });
}

}  // namespace pso::agent
