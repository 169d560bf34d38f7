// A bare player page for HLS/DASH tests, served by Playwright (no server) at an origin of the
// caller's choice. `otherOriginThan(nodeUrl)` gives http://localhost:<port> for a node at
// http://127.0.0.1:<port>: a different origin, so every request to the node is cross-origin as from
// a third-party site and CORS is exercised, not assumed; still loopback and a secure context, so
// Chromium's private-network rules and the camera permission behave as on a real deployment.
// Loads hls.js and dash.js from node_modules, nothing else.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';

/** http://localhost:<port> for http://127.0.0.1:<port>: same machine, different origin. */
export function otherOriginThan(nodeUrl: string): string {
  const u = new URL(nodeUrl);
  if (u.hostname !== '127.0.0.1') throw new Error(`expected a node on 127.0.0.1, got ${nodeUrl}`);
  return `http://localhost:${u.port}`;
}
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const SCRIPTS: Record<string, string> = {
  '/player/hls.js': here('../../node_modules/hls.js/dist/hls.min.js'),
  '/player/dash.js': here('../../node_modules/dashjs/dist/modern/umd/dash.all.min.js'),
};
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>player</title>
<script src="/player/hls.js"></script><script src="/player/dash.js"></script></head>
<body style="margin:0;background:#000"><video id="v" muted autoplay playsinline style="width:640px"></video></body></html>`;

/** Serves the page at `${origin}/player/` (and its scripts) in this context; returns its URL. */
export async function servePlayerPage(context: BrowserContext, origin: string): Promise<string> {
  await context.route(`${origin}/player/**`, async (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/player/') return route.fulfill({ contentType: 'text/html', body: PAGE });
    const file = SCRIPTS[path];
    if (!file) return route.fulfill({ status: 404, body: '' });
    return route.fulfill({ contentType: 'text/javascript', body: await readFile(file) });
  });
  return `${origin}/player/`;
}
