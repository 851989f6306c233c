#!/usr/bin/env bash
# Runs every benchmark under tests/bench and prints its figures.
set -euo pipefail
build=${1:-build}
"$build/tests/bench/core_bench" "${@:2}"
"$build/tests/bench/export_bench"
"$build/tests/bench/forecast_bench" "${@:2}"
"$build/tests/bench/replay_bench"
# A minute of 1 s sampling, compared with prometheus-node-exporter when installed.
"$build/tests/bench/agent_footprint_bench" --seconds "${PSO_FOOTPRINT_SECONDS:-60}"
