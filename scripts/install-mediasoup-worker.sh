#!/bin/sh
# Provides the mediasoup C++ worker for node_modules/mediasoup (run by the root postinstall).
# mediasoup's own postinstall is denied in package.json (allowScripts) because offline it falls back
# to pip and meson wraps that download sources. Order of preference:
#   1. MEDIASOUP_WORKER_BIN set: the operator brings a worker; nothing to do.
#   2. A worker already built for this exact mediasoup version: nothing to do.
#   3. mediasoup's prebuilt worker, when its release host answers within a few seconds.
#   4. An offline build against Debian 12's libraries (scripts/build-mediasoup-worker.sh), with
#      libsrtp compiled on OpenSSL (the Debian libsrtp2 on NSS costs ~75 % more CPU per packet).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MS="$ROOT/node_modules/mediasoup"
[ -d "$MS" ] || { echo "install-mediasoup-worker: mediasoup is not installed yet; skipping"; exit 0; }
if [ -n "${MEDIASOUP_WORKER_BIN:-}" ]; then
  echo "install-mediasoup-worker: MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN given; skipping"; exit 0
fi
# The stamp names the mediasoup version and our build recipe, so a changed recipe rebuilds the worker.
VERSION="$(node -p "require('$MS/package.json').version")+$(cksum < "$ROOT/scripts/build-mediasoup-worker.sh" | cut -d' ' -f1)"
OUT="$MS/worker/out/Release"
STAMP="$OUT/.onair-built-for"
if [ -x "$OUT/mediasoup-worker" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
  echo "install-mediasoup-worker: worker for mediasoup $VERSION present"; exit 0
fi
mkdir -p "$OUT"
if [ -z "${ONAIR_SKIP_PREBUILT_WORKER:-}" ] && node "$ROOT/scripts/fetch-prebuilt-worker.mjs" "$MS" "$OUT"; then
  echo "$VERSION" > "$STAMP"; exit 0
fi
echo "install-mediasoup-worker: building the worker from source against Debian's libraries (~3 min on 2 cores)"
sh "$ROOT/scripts/build-mediasoup-worker.sh" "$MS"
echo "$VERSION" > "$STAMP"
