# OnAir node image: Debian 12 + Node 20, the mediasoup worker built by the project's own install step.
FROM node:20-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential pkg-config meson ninja-build autoconf libssl-dev libuv1-dev libsrtp2-dev libusrsctp-dev \
      libabsl-dev nlohmann-json3-dev catch2 libflatbuffers-dev flatbuffers-compiler ffmpeg \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY proto/package.json proto/
COPY platform/package.json platform/
COPY sfu/package.json sfu/
COPY hls-fallback/package.json hls-fallback/
COPY origin-cascade/package.json origin-cascade/
COPY signaling/package.json signaling/
COPY client-sdk/package.json client-sdk/
COPY web/package.json web/
COPY bench/package.json bench/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
EXPOSE 8080 40000-40100/udp 40000-40100/tcp
CMD ["node", "signaling/dist/main.js"]
