# OnAir node image: Debian 12 + Node 24 LTS, the mediasoup worker built by the project's own install step.
FROM node:24-bookworm
WORKDIR /app
# The system packages come from the one list in scripts/setup.sh (worker build toolchain, ffmpeg).
COPY scripts ./scripts
COPY package.json ./
RUN bash scripts/setup.sh system start && rm -rf /var/lib/apt/lists/*
COPY package-lock.json ./
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
