#!/usr/bin/env bash
# Runs every benchmark under tests/bench and prints its figures.
set -euo pipefail
build=${1:-build}
"$build/tests/bench/core_bench" "${@:2}"
"$build/tests/bench/export_bench"
"$build/tests/bench/forecast_bench" "${@:2}"
"$build/tests/bench/replay_bench"
# The synthetic cases at their own step and at a 15 s cycle (about 3 minutes;
# the development traces too without --only: half an hour, docs/design-notes.md).
"$build/tests/bench/replay_bench" --compare-step 15 --synthetic --only syn_
# Sample chunks: bytes per sample and codec throughput (PSO_TRACES_DIR adds the traces).
"$build/tests/bench/chunk_codec_bench" ${PSO_TRACES_DIR:+--traces "$PSO_TRACES_DIR"}
# The telemetry store alone: 1,000 agents x 10 series for 10 minutes of samples.
"$build/tests/bench/sample_store_bench" --agents 1000 --seconds 600
# A week of 100 systems at 15 s replayed from a controller database (budget 60 s).
"$build/tests/bench/fleet_replay_bench"
# A minute of 1 s sampling, compared with prometheus-node-exporter when installed.
"$build/tests/bench/agent_footprint_bench" --seconds "${PSO_FOOTPRINT_SECONDS:-60}"
# A thousand agents for a minute, then a restart's reconnect storm
# (docs/scale.md has the 10,000-agent runs and their commands).
"$build/tests/bench/fleet_bench" --agents "${PSO_FLEET_AGENTS:-1000}" --seconds 60 --restart
