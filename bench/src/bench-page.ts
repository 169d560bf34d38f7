// The glass-to-glass benches' browser page: served by Playwright from the node's own origin (so WHIP,
// WHEP, HLS and DASH requests are same-origin), loading the g2g-page module, the client SDK build,
// and hls.js / dash.js / Shaka Player / video.js from node_modules. The page modules are the
// compiled ones next to this file when it runs from the bench's build, or this folder's TypeScript
// transpiled on request when it runs from source (the browser tests load it so, with no bench
// build). Measures nothing itself.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { BrowserContext, Page } from 'playwright-core';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
/** This folder: bench/src, or bench/dist/bench/src in the bench's build. */
const APP_DIR = here('./');
const ROOT = here(APP_DIR.includes('/dist/bench/src/') ? '../../../../' : '../../');
const SDK_DIR = `${ROOT}client-sdk/dist/`;
const VENDOR: Record<string, string> = {
  'hls.js': `${ROOT}node_modules/hls.js/dist/hls.min.js`,
  'dash.js': `${ROOT}node_modules/dashjs/dist/modern/umd/dash.all.min.js`,
  'shaka.js': `${ROOT}node_modules/shaka-player/dist/shaka-player.compiled.js`,
  'video.js': `${ROOT}node_modules/video.js/dist/video.min.js`,
};

const PAGE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>OnAir g2g bench</title>
<script type="importmap">{"imports":{"@onair/client-sdk":"/bench/sdk/index.js"}}</script>
<script src="/bench/vendor/hls.js"></script><script src="/bench/vendor/dash.js"></script>
<script src="/bench/vendor/shaka.js"></script><script src="/bench/vendor/video.js"></script>
<script type="module" src="/bench/app/g2g-page.js"></script></head><body style="margin:0;background:#000"></body></html>`;

/** A page module: compiled JavaScript when there is some, else its TypeScript source transpiled. */
async function appModule(file: string): Promise<string | Buffer | undefined> {
  const compiled = await readFile(APP_DIR + file).catch(() => undefined);
  if (compiled) return compiled;
  const source = await readFile(APP_DIR + file.replace(/\.js$/, '.ts'), 'utf8').catch(() => undefined);
  if (source === undefined) return undefined;
  return ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
}

async function serveBenchPage(context: BrowserContext, origin: string): Promise<void> {
  await context.route(`${origin}/bench/**`, async (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/bench/g2g.html') return route.fulfill({ contentType: 'text/html', body: PAGE_HTML });
    const vendor = /^\/bench\/vendor\/([\w.-]+)$/.exec(path);
    if (vendor && VENDOR[vendor[1]!]) return route.fulfill({ contentType: 'text/javascript', body: await readFile(VENDOR[vendor[1]!]!) });
    const m = /^\/bench\/(app|sdk)\/([\w.-]+\.js)$/.exec(path);
    if (!m) return route.fulfill({ status: 404, body: '' });
    const body = m[1] === 'app' ? await appModule(m[2]!) : await readFile(SDK_DIR + m[2]).catch(() => undefined);
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
