#!/bin/sh
# Provides the mediasoup C++ worker for node_modules/mediasoup (run by the root postinstall).
# mediasoup's own postinstall is denied in package.json (allowScripts): offline it falls back to pip
# and meson wraps that download sources, and its prebuilt worker lacks the two patches OnAir needs
# (DTLS with a kernel-TLS OpenSSL; WHEP viewers' own payload types and extension ids). So:
#   1. MEDIASOUP_WORKER_BIN set: the operator brings a worker (built with scripts/build-mediasoup-worker.sh).
#   2. A worker already built for this mediasoup version and build recipe: nothing to do.
#   3. Otherwise build it against Debian 12's libraries (scripts/build-mediasoup-worker.sh), with
#      libsrtp compiled on OpenSSL (the Debian libsrtp2 on NSS costs ~75 % more CPU per packet).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MS="$ROOT/node_modules/mediasoup"
[ -d "$MS" ] || { echo "install-mediasoup-worker: mediasoup is not installed yet; skipping"; exit 0; }
if [ -n "${MEDIASOUP_WORKER_BIN:-}" ]; then
  echo "install-mediasoup-worker: MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN given; skipping"; exit 0
fi
# The stamp names the mediasoup version and our build recipe, so a changed recipe rebuilds the worker.
VERSION="$(node -p "require('$MS/package.json').version")+$(cat "$ROOT/scripts/build-mediasoup-worker.sh" "$ROOT"/scripts/mediasoup-patches/* | cksum | cut -d' ' -f1)"
OUT="$MS/worker/out/Release"
STAMP="$OUT/.onair-built-for"
# A copy outside node_modules (gitignored .tools/) survives `npm ci`, which empties node_modules.
CACHE="$ROOT/.tools/mediasoup-worker/$VERSION"
if [ -x "$OUT/mediasoup-worker" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
  echo "install-mediasoup-worker: worker for mediasoup $VERSION present"; exit 0
fi
mkdir -p "$OUT"
if [ -x "$CACHE/mediasoup-worker" ]; then
  cp "$CACHE/mediasoup-worker" "$OUT/mediasoup-worker"
  echo "$VERSION" > "$STAMP"
  echo "install-mediasoup-worker: worker for mediasoup $VERSION restored from .tools/"; exit 0
fi
echo "install-mediasoup-worker: building the worker from source against Debian's libraries (~4 min on 2 cores)"
sh "$ROOT/scripts/build-mediasoup-worker.sh" "$MS"
mkdir -p "$CACHE" && cp "$OUT/mediasoup-worker" "$CACHE/mediasoup-worker.tmp" && mv "$CACHE/mediasoup-worker.tmp" "$CACHE/mediasoup-worker"
echo "$VERSION" > "$STAMP"
