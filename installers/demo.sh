#!/usr/bin/env bash
# The demo behind `make demo`: one pso-controller and three pso-agents on
# loopback, each agent running a real process-pool whose demand replays a
# trace from config/demo/ at 300x. Before the controller starts, the eight days
# before each trace (config/demo/<system>-history.csv) are imported, compressed
# by the same 300x so they end where the live replay begins; the controller's
# forecasters learn them at their first cycle. Prints the decisions as they
# happen, then a decision the engine took before its load arrived, the
# predictive decisions against the HPA rule recorded beside them per system,
# and exports every recorded cycle as scenarios (JSONL and Markdown lessons)
# to demo-out/. DEMO_SECONDS sets the run length (default 120).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
seconds=${DEMO_SECONDS:-120}
out="$root/demo-out"
run="$out/run"
controller_bin="$build/controller/service/pso-controller"
agent_bin="$build/agent/pso-agent"
psoctl_bin="$build/controller/cli/psoctl"
for b in "$controller_bin" "$agent_bin" "$psoctl_bin"; do
  [ -x "$b" ] || { echo "demo: $b is missing; run 'make build' first" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$run"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# A fresh bearer token for the demo's operator directive.
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
echo "$token" > "$run/api-tokens"
cp "$root/config/demo/controller.yaml" "$run/controller.yaml"

# History first, with the controller stopped (docs/operations.md, "Importing
# history"). The agents replay their trace from its first point at `speed`
# trace seconds per second; the history ends one trace step before that point
# and is compressed by the same factor with its last sample at now, so the
# replay continues it within the second or two the controller and the agents
# take to start (a fraction of a 2 s cycle).
systems=(web api batch)
for s in "${systems[@]}"; do
  speed=$(sed -n 's/^ *speed: *\([0-9.]*\).*/\1/p' "$root/config/demo/agent-$s.yaml")
  "$psoctl_bin" import --db "$run/controller.db" --system "$s" \
    --trace "$root/config/demo/$s-history.csv" --time-scale "${speed:-300}" \
    | sed 's/^/history: /'
done

# Port 0: the controller picks free ports and prints them on its first line.
(cd "$run" && exec "$controller_bin" --config controller.yaml --db controller.db \
  --bind tcp://127.0.0.1:0 --http 127.0.0.1:0 >controller.out 2>controller.log) &
pids+=($!)
zmq="" http=""
for _ in $(seq 1 100); do
  line=$(grep -m1 '^pso-controller listening' "$run/controller.out" 2>/dev/null || true)
  if [ -n "$line" ]; then
    zmq=$(sed -n 's/.* zmq=\([^ ]*\).*/\1/p' <<<"$line")
    http=$(sed -n 's/.* http=\([^ ]*\).*/\1/p' <<<"$line")
    break
  fi
  sleep 0.1
done
[ -n "$zmq" ] || { echo "demo: the controller did not start; see $run/controller.log" >&2; tail -5 "$run/controller.log" >&2; exit 1; }
export PSO_API="http://$http" PSO_TOKEN="$token"
echo "controller: zmq $zmq, http $PSO_API (logs in demo-out/run/)"

declare -A agent_pid
# Where the live replay's trace time starts (for the summary's trace clock).
replay_start_ms=$(date +%s%3N)
for s in "${systems[@]}"; do
  "$agent_bin" --config "$root/config/demo/agent-$s.yaml" --controller "$zmq" \
    --spool "$run/agent-$s.db" 2>"$run/agent-$s.log" &
  pids+=($!)
  agent_pid[$s]=$!
done

workers() { pgrep -c -P "${agent_pid[$1]}" 2>/dev/null || echo 0; }

# The first cycle that decides every system: their forecasters learned the
# imported history before it, and the models it names were chosen on it.
for _ in $(seq 1 50); do
  first=$("$psoctl_bin" --json cycles --limit 1 2>/dev/null || true)
  [ "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["cycles"][0]["decisions"]))' \
    <<<"$first" 2>/dev/null)" = "${#systems[@]}" ] && break
  sleep 0.2
done
grep -h 'warm start:' "$run/controller.log" | sed 's/^[^]]*] /controller: /' || true
python3 -c '
import json, sys
c = json.load(sys.stdin)["cycles"][0]
print("first cycle %s: %s" % (c["id"], "; ".join(
    "%s %s" % (d["system"], d["forecast_model"]) for d in c["decisions"])))' <<<"$first" || true

start=$(date +%s)
held=0
while :; do
  sleep 10
  elapsed=$(( $(date +%s) - start ))
  echo
  echo "== t+${elapsed}s  worker processes: web $(workers web), api $(workers api), batch $(workers batch)"
  "$psoctl_bin" cycles --limit 1 || true
  if [ $held -eq 0 ] && [ $elapsed -ge $((seconds / 2)) ]; then
    echo "-- operator: hold api at 5 replicas for 20s"
    "$psoctl_bin" directive scale api --replicas 5 --reason "demo: operator hold" --hold 20s || true
    held=1
  fi
  [ $elapsed -ge "$seconds" ] && break
done

echo
"$psoctl_bin" systems
echo
"$psoctl_bin" directives --limit 10
"$psoctl_bin" scenarios export --format jsonl --out "$out/scenarios.jsonl"
"$psoctl_bin" scenarios export --format markdown --out "$out/lessons"
mkdir -p "$out/business-case"
for s in "${systems[@]}"; do
  "$psoctl_bin" --json scenarios business-case --db "$run/controller.db" --system "$s" \
    --period week >"$out/business-case/$s.json" || rm -f "$out/business-case/$s.json"
done
trace_start=$(sed -n 2p "$root/config/demo/web.csv" | cut -d, -f1)
python3 "$root/installers/demo_report.py" "$out/scenarios.jsonl" "$out/business-case" \
  "$replay_start_ms" "$speed" "$trace_start"
echo
echo "scenario events:"
"$psoctl_bin" scenarios list --json | python3 -c '
import json, sys, collections
docs = json.load(sys.stdin)["scenarios"]
events = collections.Counter(e for d in docs for e in d["events"])
levels = collections.Counter(d["level"] for d in docs)
print("  %d scenarios; events: %s; levels: %s" % (len(docs), dict(events) or "none", dict(levels)))'
echo "demo-out/scenarios.jsonl and demo-out/lessons/ hold the exported scenarios."
