#!/usr/bin/env bash
# Checks the README's two commands on a genuinely fresh Debian 12, as a new user would meet them:
# a bare root filesystem made with debootstrap, with only Node and npm copied in (the machine's own,
# whatever version: the setup fetches Node 24 when it is older than 22), the project cloned into it
# at HEAD (commit first: uncommitted changes are not in the clone), then inside it (chroot):
#
#   1. `npm start` until /healthz answers (apt packages, Node 24, npm ci, worker build, builds)
#   2. `npm start` again until /healthz answers (nothing to install or rebuild: seconds)
#   3. `npm test`: first what needs the network (`scripts/setup.sh prepare start` — a no-op after step
#      1 — and `system test`: the test packages, incl. PostgreSQL, Redis and NATS), then `npm test`
#      itself in a network namespace
#      of its own, so it starts the fresh system's own servers and the tests reach nothing of this
#      machine (the namespace has no network beyond its loopback, so nothing else can be installed
#      there: that is why the packages come first).
#
# Prints a step line per phase and a summary of timings. Needs root and Debian's debootstrap
# (installed when missing). Takes about 25-35 min on 2 cores; not part of `npm test`.
#
#   scripts/verify-fresh-machine.sh [--keep] [--no-tests] [--tests-only] [DIR]   (default DIR: /var/tmp/onair-fresh)
#   --keep: leave DIR for another run; --tests-only: in a DIR kept from a run, move its clone to HEAD and
#   run step 3 only (the clone's own .tools/ and node_modules stay, as on a developer's machine).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEEP=""; TESTS=yes; ONLY_TESTS=""; FRESH=/var/tmp/onair-fresh
for a in "$@"; do
  case "$a" in
    --keep) KEEP=yes ;;
    --no-tests) TESTS="" ;;
    --tests-only) ONLY_TESTS=yes; KEEP=yes ;;
    -*) echo "usage: $0 [--keep] [--no-tests] [--tests-only] [DIR]" >&2; exit 64 ;;
    *) FRESH="$a" ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "verify-fresh-machine: run as root (debootstrap, chroot, mounts)" >&2; exit 1; }

log() { printf '\nverify-fresh-machine: %s\n' "$*"; }
declare -a SUMMARY=()
timed() { # timed "label" command...: runs it, records its duration
  local label="$1"; shift; local t0=$SECONDS
  "$@"
  SUMMARY+=("$(printf '%-58s %4dm%02ds' "$label" $(((SECONDS - t0) / 60)) $(((SECONDS - t0) % 60)))")
}

NS="onair-fresh-$$"
cleanup() {
  set +e
  [ -n "${SERVER_PID:-}" ] && kill -- -"$SERVER_PID" 2>/dev/null
  # Servers the tests started inside the fresh system (its PostgreSQL, Redis, NATS) run in the namespace.
  for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  for m in dev/shm dev/pts dev sys proc; do mountpoint -q "$FRESH/$m" && umount -l "$FRESH/$m"; done
  [ -n "$KEEP" ] || rm -rf "$FRESH"
}
trap cleanup EXIT

command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
# The machine's own Debian mirror (deb822 "URIs:" or one-line "deb URL" entries), security archive aside.
MIRROR="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | grep -v '^ *#' \
  | grep -oE '^(URIs: *|deb +)https?://[^ ]+' | grep -oE 'https?://[^ ]+' | grep -v security | head -1 || true)"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

if [ ! -x "$FRESH/usr/bin/apt-get" ]; then
  log "debootstrap Debian 12 (bookworm, minbase) from $MIRROR into $FRESH"
  rm -rf "$FRESH"; mkdir -p "$FRESH"
  timed "debootstrap (bare Debian 12)" debootstrap --variant=minbase bookworm "$FRESH" "$MIRROR" >/tmp/onair-debootstrap.log
fi

log "copying Node $(node --version) and npm $(npm --version) in; cloning the project at $(git -C "$ROOT" rev-parse --short HEAD)"
NPM_DIR="$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)"
mkdir -p "$FRESH/usr/local/bin" "$FRESH/usr/local/lib/node_modules" "$FRESH/etc/ssl/certs"
cp "$(readlink -f "$(command -v node)")" "$FRESH/usr/local/bin/node"
rm -rf "$FRESH/usr/local/lib/node_modules/npm"; cp -a "$NPM_DIR" "$FRESH/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$FRESH/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$FRESH/usr/local/bin/npx"
# A machine behind a TLS-inspecting proxy (like this workplace) needs its CA bundle for the registry:
# the host's npm global config goes where the copied npm reads it ($prefix/etc/npmrc).
mkdir -p "$FRESH/usr/local/etc"
GLOBAL_NPMRC="$(npm config get globalconfig 2>/dev/null || true)"
[ -f "$GLOBAL_NPMRC" ] && cp "$GLOBAL_NPMRC" "$FRESH/usr/local/etc/npmrc"
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$FRESH/etc/ssl/certs/"
cp /etc/resolv.conf "$FRESH/etc/resolv.conf"
# As in container images: packages installed in the chroot do not start their daemons (the host's
# PostgreSQL, Redis and NATS hold the ports); the tests' own run starts them in its namespace.
printf '#!/bin/sh\nexit 101\n' > "$FRESH/usr/sbin/policy-rc.d"; chmod +x "$FRESH/usr/sbin/policy-rc.d"
if [ -n "$ONLY_TESTS" ]; then
  [ -d "$FRESH/root/onair/.git" ] || { echo "verify-fresh-machine: --tests-only needs a DIR kept by an earlier run (--keep)" >&2; exit 1; }
  git -C "$FRESH/root/onair" fetch -q "$ROOT" HEAD && git -C "$FRESH/root/onair" reset -q --hard FETCH_HEAD
else
  rm -rf "$FRESH/root/onair"; git clone -q --no-hardlinks "$ROOT" "$FRESH/root/onair"
fi

mount -t proc proc "$FRESH/proc"; mount -t sysfs sys "$FRESH/sys"
mount --bind /dev "$FRESH/dev"; mount -t devpts devpts "$FRESH/dev/pts" -o newinstance,ptmxmode=0666 || true
mount -t tmpfs -o size=2g shm "$FRESH/dev/shm"

in_fresh() { # in_fresh COMMAND: runs a shell command in the fresh system with a clean environment
  chroot "$FRESH" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 ${NODE_EXTRA_CA_CERTS:+NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS} \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c "cd /root/onair && $1"
}

PORT="$(node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
start_until_healthy() { # start_until_healthy LOG: npm start in the background until /healthz answers, then stop it
  setsid bash -c "$(declare -f in_fresh); FRESH='$FRESH'; in_fresh 'PORT=$PORT npm start'" >"$1" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 3600); do
    if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
      kill -- -"$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "npm start exited before /healthz answered:"; tail -40 "$1"; return 1; }
    sleep 1
  done
  echo "no /healthz after an hour:"; tail -40 "$1"; return 1
}

if [ -z "$ONLY_TESTS" ]; then
log "1. npm start on the fresh system (output: /tmp/onair-fresh-start-1.log)"
timed "npm start, first run, until /healthz answers" start_until_healthy /tmp/onair-fresh-start-1.log
grep '^setup \[' /tmp/onair-fresh-start-1.log || true
log "2. npm start again"
timed "npm start, second run, until /healthz answers" start_until_healthy /tmp/onair-fresh-start-2.log
grep '^setup \[\|^        ' /tmp/onair-fresh-start-2.log || true
fi

if [ -n "$TESTS" ]; then
  log "3a. npm test's system packages with the network (output: /tmp/onair-fresh-test-prepare.log)"
  timed "npm test's system packages (browser, nginx, fonts, servers)" \
    bash -c "$(declare -f in_fresh); FRESH='$FRESH'; in_fresh 'bash scripts/setup.sh prepare start && bash scripts/setup.sh system test'" >/tmp/onair-fresh-test-prepare.log 2>&1 \
    || { tail -40 /tmp/onair-fresh-test-prepare.log; exit 1; }
  log "3b. npm test in its own network namespace (output: /tmp/onair-fresh-test.log)"
  # Loopback plus one interface of its own, as a real machine has: WebRTC peers (Chromium, werift)
  # gather no candidate on loopback alone. The address is the namespace's own, reaching nothing.
  ip netns add "$NS"; ip netns exec "$NS" ip link set lo up
  # (a veth pair with both ends inside: the sandbox kernel has no dummy interfaces)
  ip netns exec "$NS" ip link add onair0 type veth peer name onair1
  ip netns exec "$NS" ip addr add 10.231.7.1/24 dev onair0
  ip netns exec "$NS" ip link set onair0 up; ip netns exec "$NS" ip link set onair1 up
  timed "npm test (servers started, lint, the whole suite)" \
    ip netns exec "$NS" bash -c "$(declare -f in_fresh); FRESH='$FRESH'; in_fresh 'CI=true npm test'" >/tmp/onair-fresh-test.log 2>&1 \
    || { tail -60 /tmp/onair-fresh-test.log; exit 1; }
  grep -E '^ *Test(s| Files) ' /tmp/onair-fresh-test.log || true
fi

log "summary (Node $(node --version) on the machine; $(nproc) cores)"
printf '  %s\n' "${SUMMARY[@]}"
