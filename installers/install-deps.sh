#!/usr/bin/env bash
# Installs the Debian packages PSO-PRIME needs to build, test and run its demo.
# Idempotent: installs only what is missing, so `make demo` and `make test` can
# call it every time. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev
  libboost-dev libcurl4-openssl-dev libssl-dev libspdlog-dev libsqlite3-dev
  libgtest-dev libgmock-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libsnappy-dev liblzma-dev
  libpq-dev
  sqlite3 python3 procps faketime
  help2man systemd
  libxml2-utils chromium prometheus postgresql-15
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# node and npm run the LMS validator tests; any install of them will do (a
# nodesource nodejs bundles npm, where Debian ships it as its own package).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

# The LMS export tests validate GIFT and xAPI files with real third-party
# validators (gift-pegjs, xapi-validation) pinned in tests/tools/node, check
# cmi5.xml against the cmi5 schema with xmllint (libxml2-utils) and launch a
# cmi5 AU in Debian's chromium driven by playwright-core (pinned there too;
# it drives /usr/bin/chromium over CDP, so no browser download and no
# chromedriver); the
# install-files check validates the Kubernetes manifests and Containerfiles
# with the tools pinned in installers/validate. The remote_write tests send
# to a real Prometheus (Debian's prometheus, started by the test on loopback
# with its remote-write receiver on). The store tests run on PostgreSQL too
# (Debian's postgresql-15 binaries; tests/tools/pg-cluster.sh starts a
# throw-away cluster on loopback for the run) and the controller links libpq
# (libpq-dev) for its PostgreSQL store backend.
install_node_tools() {
  local repo tools
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  for tools in "$repo/tests/tools/node" "$repo/installers/validate"; do
    if [ -f "$tools/node_modules/.package-lock.json" ] &&
       [ ! "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]; then
      continue
    fi
    echo "install-deps: installing the validators in ${tools#"$repo"/} (npm ci)"
    npm ci --prefix "$tools" --no-audit --no-fund
  done
}

if [ ${#missing[@]} -eq 0 ]; then
  # Likewise the store tests start their own PostgreSQL cluster; the
# package's default cluster (15/main on port 5432) is not wanted.
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && command -v systemctl >/dev/null 2>&1; then
  "${sudo_cmd[@]}" systemctl disable --now postgresql >/dev/null 2>&1 || true
fi
install_node_tools
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-deps: missing packages (${missing[*]}) and not root; install them and retry" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The remote_write tests start their own Prometheus on loopback; the
# package's own service (on 0.0.0.0:9090, enabled at install) is not wanted.
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1; then
  "${sudo_cmd[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
# Likewise the store tests start their own PostgreSQL cluster; the
# package's default cluster (15/main on port 5432) is not wanted.
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && command -v systemctl >/dev/null 2>&1; then
  "${sudo_cmd[@]}" systemctl disable --now postgresql >/dev/null 2>&1 || true
fi
install_node_tools
