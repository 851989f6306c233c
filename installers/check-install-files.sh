#!/usr/bin/env bash
# Checks what `cmake --install` lays out, offline, with the tools each kind of
# file has: installs BUILD_DIR into a scratch root, then
#   - the systemd units: `systemd-analyze verify` (with ExecStart pointed at
#     the scratch root's binary; any message fails) and `systemd-analyze security --offline`,
#     whose exposure must stay at or below PSO_MAX_EXPOSURE (default 2.0);
#   - the Kubernetes manifests: installers/validate/check-manifests.mjs (the
#     API's JSON schemas, from the kubernetes-models npm package);
#   - the Containerfiles: dockerfile-utils' linter;
#   - the layout: binaries, configs, units and examples where the packages
#     and docs/install.md say they are.
# Prints one line per check and "N passed, N failed" at the end.
#
#   installers/check-install-files.sh BUILD_DIR
#
# Needs systemd-analyze (package systemd) and node with installers/validate's
# modules (installers/install-deps.sh installs both).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: check-install-files.sh BUILD_DIR}
max_exposure=${PSO_MAX_EXPOSURE:-2.0}
validate="$root/installers/validate"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

passed=0
failed=0
check() {  # check NAME COMMAND...: runs it, output kept for a failure
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    sed 's/^/     /' <<<"$out" | tail -20
    failed=$((failed + 1))
  fi
}

if ! DESTDIR="$stage" cmake --install "$build" >"$stage.log" 2>&1; then
  echo "FAIL cmake --install $build"; tail -5 "$stage.log"; rm -f "$stage.log"
  echo "0 passed, 1 failed"; exit 1
fi
rm -f "$stage.log"

# The configured install paths, as the units name them.
unit_dir=$(dirname "$(find "$stage" -name pso-agent.service -print -quit)")
bindir=$(sed -n 's#^ExecStart=\(.*\)/pso-agent .*#\1#p' "$unit_dir/pso-agent.service")
confdir=$(sed -n 's#^ExecStart=.* --config \(.*\)/agent.yaml$#\1#p' "$unit_dir/pso-agent.service")
docdir=$(dirname "$(find "$stage" -type d -name pso-agent -path '*/doc/*' -print -quit)")

layout() {
  local missing=0 f
  for f in "$bindir/pso-agent" "$bindir/pso-controller" "$bindir/psoctl" \
           "$confdir/agent.yaml" "$confdir/controller.yaml"; do
    [ -e "$stage$f" ] || { echo "missing $f"; missing=1; }
  done
  for f in pso-agent/install.md pso-controller/install.md \
           pso-agent/examples/systemd/cgroup-actuator.conf \
           pso-agent/examples/systemd/systemd-actuator.rules \
           pso-controller/examples/controller-pools-alerts.yaml; do
    [ -e "$docdir/$f" ] || { echo "missing $docdir/$f"; missing=1; }
  done
  local examples
  examples=$(find "$docdir/pso-agent/examples" -maxdepth 1 -name 'agent-*.yaml' | wc -l)
  [ "$examples" -eq "$(ls "$root"/config/examples/agent-*.yaml | wc -l)" ] ||
    { echo "$examples agent examples installed"; missing=1; }
  return $missing
}
check "layout: binaries, /etc/pso configs, units, docs and examples" layout

for unit in pso-controller pso-agent; do
  binary=$(sed -n "s#^ExecStart=\([^ ]*\).*#\1#p" "$unit_dir/$unit.service")
  # verify needs the executable where ExecStart names it: a copy of the unit
  # points at the scratch root's.
  mkdir -p "$stage/verify"
  sed "s#^ExecStart=$binary#ExecStart=$stage$binary#" "$unit_dir/$unit.service" >"$stage/verify/$unit.service"
  # verify exits 0 after an unknown key or a bad value ("ignoring"): any
  # message at all is a finding.
  verify() { local out; out=$(systemd-analyze verify --man=no "$1" 2>&1); echo "$out"; [ -z "$out" ]; }
  check "systemd-analyze verify $unit.service" verify "$stage/verify/$unit.service"
  exposure() {
    local out score
    out=$(systemd-analyze security --offline=true "$unit_dir/$1.service" 2>&1) || { echo "$out"; return 1; }
    score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
    echo "exposure $score"
    awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s != "" && s <= m) }'
  }
  score=$(exposure "$unit" | tail -1)
  check "systemd-analyze security $unit.service: $score (at most $max_exposure)" exposure "$unit"
done

if [ -d "$validate/node_modules" ]; then
  check "Kubernetes manifests against the API's schemas" node "$validate/check-manifests.mjs" "$root/installers/kubernetes"
  for file in "$root"/installers/containers/*.Containerfile; do
    lint() { local out; out=$(node "$validate/node_modules/dockerfile-utils/bin/dockerfile-utils" lint "$1"); echo "$out"; [ -z "$out" ]; }
    check "dockerfile-utils lint $(basename "$file")" lint "$file"
  done
else
  echo "FAIL $validate/node_modules is missing (run installers/install-deps.sh)"
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
