#pragma once

// Shell completion generated from psoctl's own CLI11 definition, so a new
// command or option is offered as soon as it exists.

#include <CLI/CLI.hpp>
#include <string>

namespace pso::cli {

/// A bash completion script for `app` (named by its name, e.g. psoctl): a
/// table of each command path's subcommands and options, and a function that
/// walks the words typed so far to the deepest command named and offers what
/// that command takes. An option whose type name lists its values (as
/// CLI::IsMember prints them, "TEXT:{json,wide,name}") also completes them.
/// Load it with
/// `source <(psoctl completion bash)`.
std::string bashCompletion(const CLI::App& app);

}  // namespace pso::cli
