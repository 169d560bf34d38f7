// A bare player page for HLS/DASH tests, served by Playwright (no server) at an origin of the
// caller's choice. `otherOriginThan(nodeUrl)` gives http://localhost:<port> for a node at
// http://127.0.0.1:<port>: a different origin, so every request to the node is cross-origin as from
// a third-party site and CORS is exercised, not assumed; still loopback and a secure context, so
// Chromium's private-network rules and the camera permission behave as on a real deployment.
// Loads hls.js and dash.js from node_modules, nothing else.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext } from 'playwright-core';

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

/** What `playOverHttp` saw: media time played over the sampled window, and the player's fatal error if any. */
export interface HttpPlayback {
  advancedS: number;
  fatal: string | undefined;
}

/**
 * Plays `url` with hls.js (LL-HLS, `lowLatencyMode`) or dash.js in a fresh context of `browser` at
 * another origin than the node, waits for a picture, then reports how far playback advanced over
 * `sampleMs` and the player's fatal error, if any. The context is left to the caller (`contexts`).
 */
export async function playOverHttp(
  browser: Browser,
  nodeUrl: string,
  player: 'hls.js' | 'dash.js',
  url: string,
  contexts: BrowserContext[],
  sampleMs = 6000,
): Promise<HttpPlayback> {
  const context = await browser.newContext({ viewport: { width: 800, height: 600 }, permissions: ['local-network-access'] });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(await servePlayerPage(context, otherOriginThan(nodeUrl)));
  await page.evaluate(
    ({ player, url }) => {
      const w = window as any;
      const video = document.querySelector('video')!;
      if (player === 'hls.js') {
        const hls = new w.Hls({ lowLatencyMode: true });
        hls.on(w.Hls.Events.ERROR, (_e: unknown, d: { fatal: boolean; details: string }) => {
          if (d.fatal) w.fatal = d.details;
        });
        hls.loadSource(url);
        hls.attachMedia(video);
      } else {
        const dash = w.dashjs.MediaPlayer().create();
        dash.on(w.dashjs.MediaPlayer.events.ERROR, (e: { error?: { message?: string } }) => {
          w.fatal = e.error?.message ?? 'dash.js error';
        });
        dash.initialize(video, url, true);
      }
    },
    { player, url },
  );
  await page.waitForFunction(
    () => {
      const v = document.querySelector('video')!;
      return v.videoWidth > 0 && v.currentTime > 0;
    },
    undefined,
    { timeout: 30_000 },
  );
  const a = await page.evaluate(() => document.querySelector('video')!.currentTime);
  await page.waitForTimeout(sampleMs);
  const b = await page.evaluate(() => ({
    t: document.querySelector('video')!.currentTime,
    fatal: (window as any).fatal as string | undefined,
  }));
  return { advancedS: b.t - a, fatal: b.fatal };
}
