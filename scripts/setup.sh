#!/usr/bin/env bash
# Prepares this machine for OnAir and then runs it: the one path behind `npm start`, `npm test` and
# `.ci/run`, so a fresh clone needs no other instructions.
#
#   scripts/setup.sh start [args]   system packages, Node, npm dependencies, build; then runs one node
#   scripts/setup.sh test  [args]   the same plus the test prerequisites and servers; then vitest run [args]
#   scripts/setup.sh prepare [start|test] everything but the final run (used by verify-fresh-machine.sh)
#   scripts/setup.sh check [start|test]   only reports what is missing (exit 3 when something is); installs nothing
#   scripts/setup.sh system [start|test]  only the system packages (used by the Dockerfile)
#
# It owns the list of system packages (one list, below). It installs with apt-get when it may (root,
# or passwordless sudo) and otherwise stops at once with the exact command to run. It never
# downloads anything but Debian packages and npm packages (Node 24 comes from the npm registry's
# `node` package when the machine's Node is older than 22). A second run finds everything in place
# and does no apt work, no `npm ci` and no worker build.
#
# Environment: ONAIR_SETUP_INSTALL=never makes a missing prerequisite an error instead of an install.
set -euo pipefail
HERE="${BASH_SOURCE[0]}"; case "$HERE" in */*) HERE="${HERE%/*}" ;; *) HERE=. ;; esac
ROOT="$(cd "$HERE/.." && pwd)"   # builtins only: the prerequisite check runs with a bare PATH
cd "$ROOT"

MODE="${1:-start}"
[ $# -gt 0 ] && shift
PROFILE="$MODE"
case "$MODE" in
  check|system|prepare) PROFILE="${1:-start}"; [ $# -gt 0 ] && shift ;;
  start|test) ;;
  *) echo "usage: scripts/setup.sh start|test [args] | prepare|check|system [start|test]" >&2; exit 64 ;;
esac
case "$PROFILE" in start|test) ;; *) echo "setup: unknown profile '$PROFILE' (start or test)" >&2; exit 64 ;; esac

NODE_PIN="24.21.0"          # the Node LTS fetched from the npm registry when the machine's is older than 22
NODE_MIN_MAJOR=22
TOOLS="$ROOT/.tools"        # gitignored: the fetched Node and the cached mediasoup worker

step_no=0
step() { step_no=$((step_no + 1)); printf 'setup [%d] %s (at %s)\n' "$step_no" "$*" "$(elapsed)"; }
note() { printf '        %s\n' "$*"; }
fail() { printf 'setup: %s\n' "$*" >&2; exit "${FAIL_CODE:-1}"; }
elapsed() { local t=$SECONDS; printf '%dm%02ds' $((t / 60)) $((t % 60)); }

# ---------------------------------------------------------------------------------------------
# System prerequisites: "probe|debian-package|what it is for". A probe is cmd:NAME (on PATH),
# pc:MODULE (pkg-config) or font:FILE-GLOB (under /usr/share/fonts).
WORKER_BUILD=(
  "cmd:cc|build-essential|mediasoup worker build"
  "cmd:c++|build-essential|mediasoup worker build"
  "cmd:make|build-essential|mediasoup worker build"
  "cmd:pkg-config|pkg-config|mediasoup worker build"
  "cmd:meson|meson|mediasoup worker build"
  "cmd:ninja|ninja-build|mediasoup worker build"
  "cmd:autoconf|autoconf|libsrtp build"
  "cmd:flatc|flatbuffers-compiler|mediasoup worker build"
  "pc:openssl|libssl-dev|mediasoup worker build"
  "pc:libuv|libuv1-dev|mediasoup worker build"
  "pc:libsrtp2|libsrtp2-dev|mediasoup worker build"
  "pc:usrsctp|libusrsctp-dev|mediasoup worker build"
  "pc:absl_flat_hash_map|libabsl-dev|mediasoup worker build"
  "pc:nlohmann_json|nlohmann-json3-dev|mediasoup worker build"
  "pc:catch2|catch2|mediasoup worker build"
  "pc:flatbuffers|libflatbuffers-dev|mediasoup worker build"
)
RUNTIME=(
  "cmd:ffmpeg|ffmpeg|HLS/DASH ladder, thumbnails"
  "cmd:ffprobe|ffmpeg|HLS/DASH ladder"
  "cmd:cc|build-essential|SRT ingest helper (compiled on first use)"
  "cmd:pkg-config|pkg-config|SRT ingest helper"
  "pc:srt|libsrt-gnutls-dev|SRT ingest helper (the libsrt build Debian's ffmpeg already uses)"
)
TESTING=(
  "cmd:chromium|chromium|browser tests"
  "cmd:nginx|nginx-light|HTTP cache tests"
  "font:truetype/dejavu/DejaVuSans.ttf|fonts-dejavu-core|screenshots"
  "font:truetype/noto/NotoColorEmoji.ttf|fonts-noto-color-emoji|emoji in screenshots"
)
# The servers the tests use, installed unless the tests are pointed at other servers with
# TEST_DATABASE_URL / TEST_REDIS_URL / TEST_NATS_URL. "port|package|name|probe|url variable".
SERVERS=(
  "5432|postgresql|PostgreSQL|cmd:pg_ctlcluster|TEST_DATABASE_URL"
  "6379|redis-server|Redis|cmd:redis-server|TEST_REDIS_URL"
  "4222|nats-server|NATS|cmd:nats-server|TEST_NATS_URL"
)

worker_present() {
  [ -n "${MEDIASOUP_WORKER_BIN:-}" ] && return 0
  local ms="$ROOT/node_modules/mediasoup/worker/out/Release"
  [ -x "$ms/mediasoup-worker" ] && [ -f "$ms/.onair-built-for" ]
}

# The stamp scripts/install-mediasoup-worker.sh gives a worker: mediasoup version + build recipe checksum.
worker_version() {
  local ms; ms="$(sed -n 's/^ *"mediasoup": *"\([0-9.]*\)".*/\1/p' package.json | head -1)"
  echo "$ms+$(cat scripts/build-mediasoup-worker.sh scripts/mediasoup-patches/* | cksum | cut -d' ' -f1)"
}
worker_cached() { [ -x "$TOOLS/mediasoup-worker/$(worker_version)/mediasoup-worker" ]; }

probe() {
  local kind="${1%%:*}" what="${1#*:}"
  case "$kind" in
    cmd) command -v "$what" >/dev/null 2>&1 || [ -x "/usr/sbin/$what" ] ;;
    pc) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$what" ;;
    font) compgen -G "/usr/share/fonts/$what" >/dev/null ;;
  esac
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

required() {
  local list=()
  worker_present || worker_cached || list+=("${WORKER_BUILD[@]}")
  list+=("${RUNTIME[@]}")
  if [ "$PROFILE" = test ]; then
    list+=("${TESTING[@]}")
    local s port pkg name probe_ var
    for s in "${SERVERS[@]}"; do
      IFS='|' read -r port pkg name probe_ var <<<"$s"
      [ -n "${!var:-}" ] || list+=("$probe_|$pkg|$name for the tests")
    done
  fi
  printf '%s\n' "${list[@]}"
}

missing_packages() {
  local line probe_ pkg why
  while IFS='|' read -r probe_ pkg why; do
    [ -z "$probe_" ] && continue
    probe "$probe_" || printf '%s|%s|%s\n' "$pkg" "${probe_#*:}" "$why"
  done < <(required)
}

can_install() {
  [ "${ONAIR_SETUP_INSTALL:-auto}" = never ] && return 1
  command -v apt-get >/dev/null 2>&1 || return 1
  [ "$(id -u)" = 0 ] && return 0
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

system_packages() {
  step "system packages ($PROFILE): checking"
  local missing pkgs
  missing="$(missing_packages)"
  if [ -z "$missing" ]; then note "all present"; return 0; fi
  pkgs="$(cut -d'|' -f1 <<<"$missing" | sort -u | tr '\n' ' ')"
  pkgs="${pkgs% }"
  if [ "$MODE" = check ] || ! can_install; then
    local how
    if command -v apt-get >/dev/null 2>&1; then
      how="run this, then the same npm command again:
    sudo apt-get update && sudo apt-get install -y --no-install-recommends $pkgs"
    else
      how="this is not a Debian/Ubuntu system: install your distribution's equivalents of these Debian packages: $pkgs"
    fi
    FAIL_CODE=3 fail "missing prerequisites:
$(while IFS='|' read -r pkg what why; do printf '    %-24s (%s, for %s)\n' "$what" "$pkg" "$why"; done <<<"$missing")
  To install them, $how"
  fi
  note "installing with apt-get: $pkgs (about 1-2 min)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # shellcheck disable=SC2086
  as_root apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  missing="$(missing_packages)"
  [ -z "$missing" ] || fail "apt-get installed $pkgs, yet still missing: $(cut -d'|' -f2 <<<"$missing" | tr '\n' ' ')"
  note "installed"
}

# ---------------------------------------------------------------------------------------------
# Node: the machine's when it is 22 or newer, else Node $NODE_PIN from the npm registry under .tools/.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

select_node() {
  step "Node.js"
  command -v npm >/dev/null 2>&1 || fail "npm is not on PATH: install Node.js 22 or newer (24 LTS recommended) with npm"
  local have machine; have="$(node_major)"; machine="$(node --version 2>/dev/null || echo none)"
  if [ "$have" -ge "$NODE_MIN_MAJOR" ]; then note "using the machine's Node $(node --version)"; return 0; fi
  local dir="$TOOLS/node-$NODE_PIN" bin
  bin="$dir/node_modules/node/bin"
  if [ ! -x "$bin/node" ] || [ "$("$bin/node" --version 2>/dev/null)" != "v$NODE_PIN" ]; then
    note "the machine's Node is $(node --version 2>/dev/null || echo missing) (OnAir needs $NODE_MIN_MAJOR+): fetching Node $NODE_PIN from the npm registry (package node@$NODE_PIN, about 15 s)"
    rm -rf "$dir"; mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node@$NODE_PIN" >/dev/null 2>"$dir/install.log" \
      || fail "could not fetch node@$NODE_PIN from the npm registry (see $dir/install.log)"
  fi
  export PATH="$bin:$PATH"
  note "using Node $(node --version) from $bin for install, build, start and tests (the machine has $machine)"
}

# ---------------------------------------------------------------------------------------------
# npm dependencies: `npm ci` when node_modules is missing or was installed from another lockfile.
lock_hash() { cat package-lock.json package.json | cksum | cut -d' ' -f1; }

npm_dependencies() {
  step "npm dependencies"
  local stamp="node_modules/.onair-lock" want; want="$(lock_hash)"
  if [ -d node_modules ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && worker_present; then
    note "up to date"; return 0
  fi
  if worker_present || worker_cached; then
    note "npm ci (about 1 min)"
  else
    note "npm ci, then the mediasoup worker is built from source (about 1 min + 4 min on 2 cores)"
  fi
  npm ci --no-audit --no-fund --loglevel=error
  worker_present || fail "npm ci finished but the mediasoup worker was not built (see the output above)"
  echo "$want" > "$stamp"
}

# ---------------------------------------------------------------------------------------------
build() {
  step "build: TypeScript (incremental) and the web app (when its sources changed)"
  [ -f proto/gen/channel.js ] || npm run build --silent -w proto
  node node_modules/typescript/bin/tsc -b
  local stale=yes
  if [ -f web/dist/index.html ] && [ -z "$(find web/src web/index.html web/vite.config.ts web/package.json client-sdk/src \
      -newer web/dist/index.html -print -quit 2>/dev/null)" ]; then stale=""; fi
  if [ -n "$stale" ]; then npm run build --silent -w web >/dev/null; note "web app built"; else note "web app up to date"; fi
}

services() {
  step "servers for the tests (PostgreSQL, Redis, NATS)"
  if [ -n "${TEST_DATABASE_URL:-}" ]; then note "PostgreSQL: TEST_DATABASE_URL given"
  else
    local pg; pg="$(pg_port)"
    if ! port_open "$pg"; then
      [ "$(id -u)" = 0 ] || fail "PostgreSQL is not running on 127.0.0.1:$pg: start it (sudo pg_ctlcluster <version> main start) or set TEST_DATABASE_URL"
      local v; v="$(ls /etc/postgresql | sort -V | tail -1)"
      note "starting PostgreSQL $v (port $pg)"
      pg_ctlcluster --skip-systemctl-redirect "$v" main start
      for _ in $(seq 1 30); do port_open "$pg" && break; sleep 1; done
    fi
    # A password for TCP logins (Debian's default pg_hba asks for one; trust ignores it) and database test.
    if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && [ -S "/var/run/postgresql/.s.PGSQL.$pg" ]; then
      su postgres -c "psql -p $pg -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
      su postgres -c "psql -p $pg -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\"" | grep -q 1 || su postgres -c "createdb -p $pg test"
    fi
    port_open "$pg" || fail "PostgreSQL did not start on 127.0.0.1:$pg"
    export TEST_DATABASE_URL="postgres://postgres:postgres@127.0.0.1:$pg/test"
  fi
  if [ -n "${TEST_REDIS_URL:-}" ]; then note "Redis: TEST_REDIS_URL given"
  else
    if ! port_open 6379; then
      note "starting Redis (nothing kept on disk)"
      mkdir -p /var/lib/redis /var/log/redis
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/onair-tests.log >/dev/null
      for _ in $(seq 1 20); do port_open 6379 && break; sleep 0.5; done
    fi
    export TEST_REDIS_URL="redis://127.0.0.1:6379"
  fi
  if [ -n "${TEST_NATS_URL:-}" ]; then note "NATS: TEST_NATS_URL given"
  else
    if ! port_open 4222; then
      note "starting NATS with JetStream"
      mkdir -p /var/lib/nats-server
      local nats; nats="$(command -v nats-server || echo /usr/sbin/nats-server)"
      # Matched by its own pid file, not by executable: another nats-server on the machine (another
      # network namespace, a service on another port) is not this one.
      start-stop-daemon --start --oknodo --background --make-pidfile --pidfile /run/onair-tests-nats.pid --exec "$nats" -- \
        -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
      for _ in $(seq 1 20); do port_open 4222 && break; sleep 0.5; done
    fi
    export TEST_NATS_URL="nats://127.0.0.1:4222"
  fi
  local s port name var
  for s in "${SERVERS[@]:1}"; do # PostgreSQL is checked above, on its cluster's port
    IFS='|' read -r port _ name _ var <<<"$s"
    if [ "${!var}" = "$(default_url "$port")" ] && ! port_open "$port"; then fail "$name did not start on 127.0.0.1:$port"; fi
  done
  note "PostgreSQL, Redis and NATS answer"
}

# The port of the newest local PostgreSQL cluster (Debian layout), 5432 when there is none.
pg_port() {
  local v conf port=""
  v="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1 || true)"
  conf="/etc/postgresql/$v/main/postgresql.conf"
  [ -n "$v" ] && [ -f "$conf" ] && port="$(sed -n 's/^[[:space:]]*port[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$conf" | head -1)"
  echo "${port:-5432}"
}

default_url() {
  case "$1" in
    6379) echo "redis://127.0.0.1:6379" ;;
    4222) echo "nats://127.0.0.1:4222" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
case "$MODE" in
  check) system_packages; note "nothing missing for '$PROFILE'"; exit 0 ;;
  system) system_packages; exit 0 ;;
esac

select_node
system_packages
npm_dependencies
build
if [ "$MODE" = prepare ]; then
  [ "$PROFILE" = test ] && services
  step "prepared for '$PROFILE' in $(elapsed)"; exit 0
fi
if [ "$MODE" = test ]; then
  services
  step "lint and format check (biome check)"
  node node_modules/@biomejs/biome/bin/biome check --max-diagnostics=50 . || fail "biome check found problems (npm run lint shows them; npm run format fixes formatting)"
  step "tests: vitest run $* (setup took $(elapsed))"
  exec node node_modules/vitest/vitest.mjs run "$@"
fi
step "starting OnAir (setup took $(elapsed))"
exec node signaling/dist/main.js "$@"
