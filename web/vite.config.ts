// Builds the web app into web/dist, which the node serves (index.html for every page, files under
// /assets/). The SDK is compiled from source. `npm run dev -w web` proxies the API and media
// endpoints to a node on the default address.
import { defineConfig } from 'vite';

const here = (path: string) => decodeURIComponent(new URL(path, import.meta.url).pathname);
const node = 'http://127.0.0.1:8080';

export default defineConfig({
  root: here('.'),
  base: '/',
  resolve: {
    alias: { '@onair/client-sdk': here('../client-sdk/src/index.ts') },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // hls.js and dash.js are lazy chunks, loaded only when a player falls back from WebRTC.
    chunkSizeWarningLimit: 1000,
  },
  server: {
    proxy: { '/api': node, '/whip': node, '/whep': node, '/hls': node, '/dash': node, '/ws': { target: node, ws: true } },
  },
});
