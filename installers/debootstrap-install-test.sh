#!/usr/bin/env bash
# Installs the packages `make package` built into a fresh Debian 12 root made
# by debootstrap (the base system only), as a new user would:
#   apt install ./pso-*.deb ./psoctl_*.deb
# then starts the controller and an agent with the configs exactly as shipped,
# as the pso user the packages made, and checks that `psoctl status` shows the
# agent; runs `systemd-analyze verify` on the installed units; then checks that
# `apt remove` leaves the controller's database and `apt purge` deletes it. Prints one line: "debootstrap-install: PASS ..." or
# "debootstrap-install: FAIL ...".
#
#   sudo installers/debootstrap-install-test.sh [PACKAGE_DIR]   (default: build-package)
#
# Needs root, debootstrap, unshare and ip; downloads the Debian base system
# (a few minutes). Works only inside a directory it creates under /var/tmp,
# runs the services in a network namespace of their own (their fixed loopback
# ports cannot clash with anything on this host), unmounts everything it
# mounted and deletes the directory at the end (KEEP=1 keeps it for a look).
set -euo pipefail

root_dir=$(cd "$(dirname "$0")/.." && pwd)
pkg_dir=${1:-$root_dir/build-package}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

say() { echo "debootstrap-install: $*" >&2; }
verdict_fail() { echo "debootstrap-install: FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || verdict_fail "needs root (debootstrap, chroot, mounts)"
for tool in debootstrap unshare ip chroot; do
  command -v "$tool" >/dev/null || verdict_fail "$tool is missing (apt-get install debootstrap iproute2)"
done
shopt -s nullglob
debs=("$pkg_dir"/pso-agent_*.deb "$pkg_dir"/pso-controller_*.deb "$pkg_dir"/psoctl_*.deb)
[ ${#debs[@]} -eq 3 ] || verdict_fail "expected the three packages in $pkg_dir (run 'make package')"

work=$(mktemp -d /var/tmp/pso-debootstrap.XXXXXX)
target="$work/root"
mounts=()
cleanup() {
  # Whatever still runs inside the root (the services) is stopped first.
  if [ -d "$target/proc" ]; then
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
      if [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$target" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
  fi
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT

say "debootstrap bookworm into $target (base system; takes a few minutes)"
debootstrap --variant=minbase bookworm "$target" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  verdict_fail "debootstrap failed; see the log (KEEP=1)"
cat >"$target/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES

mount -t proc proc "$target/proc" && mounts+=("$target/proc")
mount --rbind /dev "$target/dev" && mount --make-rslave "$target/dev" && mounts+=("$target/dev")
mount -t sysfs sysfs "$target/sys" && mounts+=("$target/sys")
mkdir -p "$target/tmp/pkgs"
cp "${debs[@]}" "$target/tmp/pkgs/"

in_root() { chroot "$target" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

say "apt install ./pso-*.deb ./psoctl_*.deb"
in_root apt-get update -qq >"$work/apt.log" 2>&1 || verdict_fail "apt-get update failed"
in_root sh -c 'cd /tmp/pkgs && apt-get install -y -q ./pso-*.deb ./psoctl_*.deb' >>"$work/apt.log" 2>&1 ||
  verdict_fail "apt install of the packages failed: $(tail -3 "$work/apt.log" | tr '\n' ' ')"

for f in /etc/pso/agent.yaml /etc/pso/controller.yaml /etc/pso/api-tokens \
         /lib/systemd/system/pso-agent.service /lib/systemd/system/pso-controller.service; do
  [ -e "$target$f" ] || verdict_fail "$f was not installed"
done
in_root getent passwd pso >/dev/null || verdict_fail "the pso user was not created"
[ "$(in_root stat -c '%U:%G %a' /var/lib/pso)" = "pso:pso 750" ] || verdict_fail "/var/lib/pso is not pso:pso 0750"
[ "$(in_root stat -c '%U:%G %a' /etc/pso/api-tokens)" = "root:pso 640" ] || verdict_fail "/etc/pso/api-tokens is not root:pso 0640"
agent_size=$(stat -c %s "$target/usr/bin/pso-agent")

# Both services as the units run them (User=pso, the shipped ExecStart),
# in a network namespace of their own with only loopback.
say "starting pso-controller and pso-agent with the shipped configs"
cat >"$work/services.sh" <<'SERVICES'
set -u
target=$1
ip link set lo up
run() { chroot "$target" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/pso runuser -u pso -- "$@"; }
run /usr/bin/pso-controller --config /etc/pso/controller.yaml >/dev/null 2>"$target/tmp/controller.log" &
controller=$!
for _ in $(seq 1 100); do
  chroot "$target" psoctl status >/dev/null 2>&1 && break
  sleep 0.2
done
run /usr/bin/pso-agent --config /etc/pso/agent.yaml 2>"$target/tmp/agent.log" &
agent=$!
result=missing
for _ in $(seq 1 150); do
  if chroot "$target" psoctl agents --json >"$target/tmp/agents.json" 2>/dev/null &&
     grep -q '"connected": *true' "$target/tmp/agents.json"; then
    result=connected
    break
  fi
  sleep 0.2
done
chroot "$target" psoctl status >"$target/tmp/status.txt" 2>&1 || true
echo "agent: $result"
kill -TERM "$agent" "$controller" 2>/dev/null
wait "$agent" "$controller" 2>/dev/null
exit 0
SERVICES
unshare --net --fork -- bash "$work/services.sh" "$target" >"$work/services.log" 2>&1 || true
grep -q "^agent: connected" "$work/services.log" ||
  verdict_fail "the agent did not show up in psoctl: $(tail -n 3 "$work/services.log" "$target/tmp/controller.log" "$target/tmp/agent.log" 2>&1 | tr '\n' ' ')"
status_line=$(tr -s ' \n' ' ' <"$target/tmp/status.txt" | cut -c1-120)
[ -s "$target/var/lib/pso/controller.db" ] || verdict_fail "the controller made no database"

# The units as installed, with their man pages: systemd-analyze verify checks
# the Documentation= man: links too. systemd and man-db come only now, so the
# packages above were installed into the base system alone.
say "systemd-analyze verify on the installed units (adds systemd and man-db to the root)"
in_root apt-get install -y -q --no-install-recommends systemd man-db >>"$work/apt.log" 2>&1 ||
  verdict_fail "apt install systemd man-db failed"
verify_out=$(in_root systemd-analyze verify /lib/systemd/system/pso-controller.service \
  /lib/systemd/system/pso-agent.service 2>&1) || verdict_fail "systemd-analyze verify: $verify_out"
[ -z "$verify_out" ] || verdict_fail "systemd-analyze verify: $(tr '\n' ' ' <<<"$verify_out")"

say "apt remove, then apt purge"
in_root apt-get remove -y -q pso-agent pso-controller psoctl >>"$work/apt.log" 2>&1 || verdict_fail "apt remove failed"
[ -s "$target/var/lib/pso/controller.db" ] || verdict_fail "apt remove deleted the controller database"
[ -e "$target/etc/pso/api-tokens" ] || verdict_fail "apt remove deleted the API tokens"
in_root apt-get purge -y -q pso-agent pso-controller psoctl >>"$work/apt.log" 2>&1 || verdict_fail "apt purge failed"
for f in /var/lib/pso/controller.db /var/lib/pso/agent-spool.db /etc/pso/api-tokens /etc/pso/controller.yaml; do
  [ ! -e "$target$f" ] || verdict_fail "apt purge left $f"
done

echo "debootstrap-install: PASS: Debian 12 base + apt install ./pso-*.deb ./psoctl_*.deb; shipped configs: controller up, agent connected, psoctl status: $status_line; systemd-analyze verify clean on both units; pso-agent $((agent_size / 1024)) KiB; remove kept controller.db, purge deleted it"
