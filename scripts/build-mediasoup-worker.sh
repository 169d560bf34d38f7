#!/bin/sh
# Builds the mediasoup 3.13.x C++ worker offline against Debian 12's libraries.
# Needs (apt): build-essential pkg-config meson ninja-build libssl-dev libuv1-dev libusrsctp-dev
#   libabsl-dev nlohmann-json3-dev catch2 libflatbuffers-dev flatbuffers-compiler autoconf
# Each meson subproject that would download sources is replaced by one that finds the Debian library
# with pkg-config. libsrtp is the exception: Debian builds it on NSS, which sets up a crypto context
# per packet; we compile libsrtp 2.x on OpenSSL from the source that the mediasoup 3.8.4 npm package
# ships (fetched from the npm registry), which cut worker CPU per forwarded packet from 23 us to 13 us.
# Usage: build-mediasoup-worker.sh node_modules/mediasoup
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
MS="$(cd "$1" && pwd)"
W="$MS/worker"
WORK="${TMPDIR:-/tmp}/onair-mediasoup-build"
mkdir -p "$WORK"

build_openssl_libsrtp() {
  prefix="$WORK/libsrtp-openssl"
  [ -f "$prefix/lib/libsrtp2.a" ] && return 0
  echo "build-mediasoup-worker: compiling libsrtp on OpenSSL"
  ( cd "$WORK" && rm -rf src384 && mkdir src384 && cd src384 \
    && npm pack --silent mediasoup@3.8.4 >/dev/null \
    && tar xzf mediasoup-3.8.4.tgz --wildcards 'package/worker/deps/libsrtp/srtp/*' --exclude='*/fuzzer/corpus/*' \
    && cd package/worker/deps/libsrtp/srtp \
    && ./configure --quiet --enable-openssl --prefix="$prefix" CFLAGS="-O3 -fPIC -w" \
    && make -s -j"$(nproc)" libsrtp2.a \
    && mkdir -p "$prefix/lib" "$prefix/include/srtp2" \
    && cp libsrtp2.a "$prefix/lib/" && cp include/srtp.h crypto/include/auth.h crypto/include/cipher.h \
         crypto/include/crypto_types.h "$prefix/include/srtp2/" )
  rm -rf "$WORK/src384"
}

if [ -z "${ONAIR_DEBIAN_LIBSRTP:-}" ] && build_openssl_libsrtp; then
  SRTP_PREFIX="$WORK/libsrtp-openssl"
else
  echo "build-mediasoup-worker: using Debian's libsrtp2 (NSS)"; SRTP_PREFIX=""
fi

cd "$W/subprojects"
shim() { mkdir -p "$1"; : > "$1/empty.c"; cat > "$1/meson.build"; rm -f "$1.wrap"; }
shim openssl <<'M'
project('openssl', 'c')
openssl_dep = dependency('openssl')
libcrypto_dep = dependency('libcrypto')
libssl_dep = dependency('libssl')
libcrypto_lib = static_library('crypto_shim', 'empty.c')
libssl_lib = static_library('ssl_shim', 'empty.c')
M
shim nlohmann_json <<'M'
project('nlohmann_json', 'cpp')
nlohmann_json_dep = dependency('nlohmann_json')
M
shim libuv <<'M'
project('libuv', 'c')
libuv_dep = dependency('libuv')
libuv = static_library('uv_shim', 'empty.c')
M
printf "%s\n" "option('build_tests', type: 'boolean', value: false)" "option('build_benchmarks', type: 'boolean', value: false)" > libuv/meson_options.txt
if [ -n "$SRTP_PREFIX" ]; then
shim libsrtp2 <<M
project('libsrtp2', 'c')
libsrtp2_dep = declare_dependency(
  compile_args: ['-I$SRTP_PREFIX/include/srtp2'],
  link_args: ['$SRTP_PREFIX/lib/libsrtp2.a', '-lcrypto'])
libsrtp2 = static_library('srtp2_shim', 'empty.c')
M
else
shim libsrtp2 <<'M'
project('libsrtp2', 'c')
_srtp = dependency('libsrtp2')
# mediasoup includes <srtp.h>; Debian installs it as /usr/include/srtp2/srtp.h
libsrtp2_dep = declare_dependency(dependencies: _srtp, compile_args: ['-I' + _srtp.get_variable(pkgconfig: 'includedir') / 'srtp2'])
libsrtp2 = static_library('srtp2_shim', 'empty.c')
M
fi
printf "%s\n" "option('crypto-library', type: 'string', value: 'openssl')" "option('crypto-library-kdf', type: 'feature', value: 'disabled')" "option('tests', type: 'feature', value: 'disabled')" > libsrtp2/meson_options.txt
shim usrsctp <<'M'
project('usrsctp', 'c')
usrsctp_dep = dependency('usrsctp')
usrsctp = static_library('usrsctp_shim', 'empty.c')
M
printf "%s\n" "option('sctp_build_programs', type: 'boolean', value: false)" > usrsctp/meson_options.txt
shim abseil-cpp <<'M'
project('abseil-cpp', 'c', 'cpp')
absl_container_dep = declare_dependency(dependencies: [dependency('absl_flat_hash_map'), dependency('absl_flat_hash_set'), dependency('absl_inlined_vector'), dependency('absl_btree')])
absl_strings_dep = declare_dependency(dependencies: [dependency('absl_strings'), dependency('absl_str_format')])
absl_types_dep = declare_dependency(dependencies: [dependency('absl_optional'), dependency('absl_variant'), dependency('absl_span'), dependency('absl_any')])
absl_container_lib = static_library('absl_container_shim', 'empty.c')
M
shim catch2 <<'M'
project('catch2', 'cpp')
catch2_dep = dependency('catch2')
M
if [ -f flatbuffers.wrap ] || [ -d flatbuffers ]; then
shim flatbuffers <<'M'
project('flatbuffers', 'c', 'cpp')
flatbuffers_dep = dependency('flatbuffers')
flatbuffers_lib = static_library('flatbuffers_shim', 'empty.c')
M
fi
cd "$W"
# mediasoup 3.13's BIO callback answers 1 to every post-operation BIO_ctrl() because it tests
# `operationType == BIO_CB_RETURN` while OpenSSL passes BIO_CB_CTRL|BIO_CB_RETURN. Debian's OpenSSL is
# built with kernel TLS, asks BIO_get_ktls_send() on the outgoing BIO, gets 1, skips allocating its
# DTLS write buffer and dereferences NULL at the first ServerHello: the worker dies on every WebRTC
# connection. Return the real result for every post-operation callback.
sed -i 's/(operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1/(operationType \& BIO_CB_RETURN) ? static_cast<long>(ret) : 1/' src/RTC/DtlsTransport.cpp
grep -q 'operationType & BIO_CB_RETURN' src/RTC/DtlsTransport.cpp || { echo "build-mediasoup-worker: DTLS BIO patch did not apply" >&2; exit 1; }
# WHEP viewers keep their own payload types and header extension ids: WebRtcTransport rewrites each
# outgoing RTP packet with the numbering OnAir stores on the consumer (sfu/src/viewer-numbering.ts).
if ! grep -q OnAirRemapRtp src/RTC/WebRtcTransport.cpp; then
  python3 - "$HERE/mediasoup-patches/viewer-numbering.cpp" src/RTC/WebRtcTransport.cpp <<'PY'
import sys
helper, target = open(sys.argv[1]).read(), sys.argv[2]
src = open(target).read()
fn = "\tvoid WebRtcTransport::SendRtpPacket(\n\t  RTC::Consumer* /*consumer*/, RTC::RtpPacket* packet, RTC::Transport::onSendCallback* cb)"
old = "\t\tconst uint8_t* data = packet->GetData();\n\t\tauto intLen         = static_cast<int>(packet->GetSize());\n\n\t\tif (!this->srtpSendSession->EncryptRtp(&data, &intLen))"
new = "\t\tconst uint8_t* data = OnAirRemapRtp(consumer, packet->GetData(), packet->GetSize());\n\t\tauto intLen         = static_cast<int>(packet->GetSize());\n\n\t\tif (!this->srtpSendSession->EncryptRtp(&data, &intLen))"
at = src.index(fn)
body = src.index(old, at)
src = src[:body] + new + src[body + len(old):]
src = src[:at] + helper + fn.replace("/*consumer*/", "consumer") + src[at + len(fn):]
if "#include <cstring>" not in src:
    src = src.replace('#include "RTC/WebRtcTransport.hpp"', '#include "RTC/WebRtcTransport.hpp"\n#include <algorithm>\n#include <cstring>', 1)
open(target, "w").write(src)
PY
fi
grep -q 'OnAirRemapRtp(consumer, packet->GetData()' src/RTC/WebRtcTransport.cpp || { echo "build-mediasoup-worker: viewer numbering patch did not apply" >&2; exit 1; }
# Debian 12 ships meson 1.0.1; mediasoup asks for >= 1.1.0 but builds fine with 1.0.1.
sed -i "s/meson_version: '>= 1.1.0'/meson_version: '>= 1.0.0'/" meson.build
rm -rf out/build
meson setup --wrap-mode=nodownload --buildtype release -Db_ndebug=true out/build >/dev/null
# Generate the FlatBuffers headers first: libwebrtc objects include FBS/*.h without a declared dependency.
if [ -d fbs ]; then meson compile -C out/build flatbuffers-generator >/dev/null; fi
ninja -C out/build mediasoup-worker | tail -1
mkdir -p out/Release
# Rename into place: running workers keep the old file (cp onto a running binary fails).
cp out/build/mediasoup-worker out/Release/mediasoup-worker.new
mv -f out/Release/mediasoup-worker.new out/Release/mediasoup-worker
rm -rf out/build
echo "build-mediasoup-worker: built $W/out/Release/mediasoup-worker (libsrtp: ${SRTP_PREFIX:-debian})"
