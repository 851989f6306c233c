#!/usr/bin/env bash
# The demo behind `make demo`: one pso-controller and three pso-agents on
# loopback, each agent running a real process-pool whose demand replays a
# trace from config/demo/ at 300x. Prints the decisions as they happen, then
# exports every recorded cycle as scenarios (JSONL and Markdown lessons) to
# demo-out/. DEMO_SECONDS sets the run length (default 120).
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
for s in web api batch; do
  "$agent_bin" --config "$root/config/demo/agent-$s.yaml" --controller "$zmq" \
    --spool "$run/agent-$s.db" 2>"$run/agent-$s.log" &
  pids+=($!)
  agent_pid[$s]=$!
done

workers() { pgrep -c -P "${agent_pid[$1]}" 2>/dev/null || echo 0; }

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
echo
echo "scenario events:"
"$psoctl_bin" scenarios list --json | python3 -c '
import json, sys, collections
docs = json.load(sys.stdin)["scenarios"]
events = collections.Counter(e for d in docs for e in d["events"])
levels = collections.Counter(d["level"] for d in docs)
print("  %d scenarios; events: %s; levels: %s" % (len(docs), dict(events) or "none", dict(levels)))'
echo "demo-out/scenarios.jsonl and demo-out/lessons/ hold the exported scenarios."
