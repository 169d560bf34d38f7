// The glass-to-glass benches' browser page: served by Playwright from the node's own origin (so WHIP,
// WHEP, HLS and DASH requests are same-origin), loading the compiled g2g-page module, the client SDK
// build, and hls.js / dash.js from node_modules. Measures nothing itself.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
/** Compiled page modules (this folder of dist) and the client SDK's build. */
const APP_DIR = here('./');
const SDK_DIR = here('../../../../client-sdk/dist/');
const VENDOR: Record<string, string> = {
  'hls.js': here('../../../../node_modules/hls.js/dist/hls.min.js'),
  'dash.js': here('../../../../node_modules/dashjs/dist/modern/umd/dash.all.min.js'),
};

const PAGE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>OnAir g2g bench</title>
<script type="importmap">{"imports":{"@onair/client-sdk":"/bench/sdk/index.js"}}</script>
<script src="/bench/vendor/hls.js"></script><script src="/bench/vendor/dash.js"></script>
<script type="module" src="/bench/app/g2g-page.js"></script></head><body style="margin:0;background:#000"></body></html>`;

async function serveBenchPage(context: BrowserContext, origin: string): Promise<void> {
  await context.route(`${origin}/bench/**`, async (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/bench/g2g.html') return route.fulfill({ contentType: 'text/html', body: PAGE_HTML });
    const vendor = /^\/bench\/vendor\/([\w.-]+)$/.exec(path);
    if (vendor && VENDOR[vendor[1]!]) return route.fulfill({ contentType: 'text/javascript', body: await readFile(VENDOR[vendor[1]!]!) });
    const m = /^\/bench\/(app|sdk)\/([\w.-]+\.js)$/.exec(path);
    if (!m) return route.fulfill({ status: 404, body: '' });
    const body = await readFile((m[1] === 'app' ? APP_DIR : SDK_DIR) + m[2]).catch(() => undefined);
    return body ? route.fulfill({ contentType: 'text/javascript', body }) : route.fulfill({ status: 404, body: '' });
  });
}

export async function openBenchPage(context: BrowserContext, origin: string, label: string): Promise<Page> {
  await serveBenchPage(context, origin);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${label} page error] ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) console.error(`[${label} console] ${msg.text()}`);
  });
  await page.goto(`${origin}/bench/g2g.html`);
  await page.waitForFunction(() => !!window.g2g);
  return page;
}
