#!/usr/bin/env bash
# Runs the test suite many times and at several hours of the day, to show it
# does not depend on luck, load or the wall clock:
#   test-repeat.sh [BUILD_DIR]
# REPEAT runs in a row (default 20), then one run per time of day in HOURS
# (default "00:30 06:30 12:30 18:30", UTC) under Debian's faketime. Every
# process a test starts (controller, agents, psoctl) inherits the same offset,
# so they agree on the time; the monotonic clock is left alone so timeouts and
# deadlines keep their real length. Exits non-zero if any run failed and says
# which.
set -uo pipefail
build=${1:-build}
repeat=${REPEAT:-20}
hours=${HOURS:-"00:30 06:30 12:30 18:30"}
jobs=${JOBS:-$(nproc)}

if [ -n "$hours" ] && ! command -v faketime >/dev/null 2>&1; then
  echo "test-repeat: faketime is missing (installers/install-deps.sh installs it)" >&2
  exit 1
fi

failed=()
run_suite() {
  local label=$1
  shift
  local log
  log=$(mktemp)
  if "$@" ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 600 >"$log" 2>&1; then
    echo "test-repeat: $label: $(grep -E 'tests passed' "$log" | tail -1)"
  else
    echo "test-repeat: $label: FAILED"
    grep -E '^\s+[0-9]+ - |tests passed|\(Failed\)|\(Timeout\)' "$log" | tail -20
    failed+=("$label")
  fi
  rm -f "$log"
}

for ((i = 1; i <= repeat; i++)); do
  run_suite "run $i of $repeat"
done

for hm in $hours; do
  now=$(date -u +%s)
  target=$(date -u -d "$(date -u +%F) $hm" +%s)
  offset=$((target - now))
  spec="${offset}s"
  [ "$offset" -ge 0 ] && spec="+${offset}s"
  shown=$(FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$spec" date -u +%H:%M)
  run_suite "faketime $hm UTC (clock reads $shown)" \
    env FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -m -f "$spec"
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "test-repeat: ${#failed[@]} run(s) failed: ${failed[*]}"
  exit 1
fi
echo "test-repeat: every run passed ($repeat in a row${hours:+, and at $hours UTC})"
