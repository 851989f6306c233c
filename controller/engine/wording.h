#pragma once

// How the engine writes numbers into its plain-words rationales, so every
// sentence reads the same way ("412", "0.35", "70%", "30 s", "1 replica").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "controller/engine/types.h"

namespace pso::controller::engine {

/// A quantity with as many decimals as its size deserves: 412, 41.2, 4.12.
std::string formatQuantity(double value);
/// A fraction as a whole percentage: 0.7 -> "70%".
std::string formatPercent(double fraction);
/// Seconds: "30 s", "1.5 s".
std::string formatSeconds(double seconds);
/// "1 replica", "5 replicas".
std::string formatReplicas(int64_t count);
/// "1 step", "3 steps".
std::string formatSteps(int64_t count);

/// The stable names of the engine's typed facts, as documents and the API
/// carry them; parse*() is the inverse (nullopt for an unknown name).
std::string_view ruleCode(DecisionRule rule);
std::optional<DecisionRule> parseDecisionRule(std::string_view code);
std::string_view guardrailCode(GuardrailKind kind);
std::optional<GuardrailKind> parseGuardrailKind(std::string_view code);
std::string_view coordinationCode(CoordinationKind kind);
std::optional<CoordinationKind> parseCoordinationKind(std::string_view code);
std::string_view alertActionCode(AlertAction action);
std::optional<AlertAction> parseAlertAction(std::string_view code);
std::string_view reactiveReasonCode(ReactiveReason reason);
std::optional<ReactiveReason> parseReactiveReason(std::string_view code);

/// The smallest whole count >= value, tolerant of floating-point noise
/// (3.0000000001 counts as 3), never below zero.
int64_t ceilCount(double value);

}  // namespace pso::controller::engine
