#!/usr/bin/env bash
# Runs every benchmark under tests/bench and prints its figures.
set -euo pipefail
build=${1:-build}
"$build/tests/bench/core_bench" "${@:2}"
