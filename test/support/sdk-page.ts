// A blank page on a node's origin that loads the built client SDK (client-sdk/dist, built by
// `npm run build`) as `window.onairSdk`, so browser tests drive WHIP/WHEP exactly as an app would:
// publish the fake camera, play with reconnects, and read playback facts that cannot lie (picture
// size, framesDecoded from getStats). The page is served by Playwright's router, never by the node.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type * as Sdk from '@onair/client-sdk';

declare global {
  interface Window {
    onairSdk?: typeof Sdk;
    testPublisher?: Sdk.Publisher;
    testViewer?: Sdk.ReconnectingPlayer;
    testViewerLog?: string[];
  }
}

const SDK_DIR = fileURLToPath(new URL('../../client-sdk/dist/', import.meta.url));
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>OnAir SDK test</title>
<script type="importmap">{"imports":{"@onair/client-sdk":"/sdk-test/sdk/index.js"}}</script>
<script type="module">import * as sdk from '@onair/client-sdk'; window.onairSdk = sdk;</script>
</head><body><video width="320" height="180" muted autoplay playsinline></video></body></html>`;

/** Opens a context and a page at `${origin}/sdk-test/` with the SDK loaded. The caller closes the context. */
export async function openSdkPage(browser: Browser, origin: string, label: string): Promise<{ context: BrowserContext; page: Page }> {
  // A 307 to another node makes the redirected request's origin opaque, which Chromium's Local Network
  // Access treats as a public site reaching loopback; public nodes never meet this, loopback tests do.
  const context = await browser.newContext({ viewport: { width: 400, height: 300 }, permissions: ['local-network-access'] });
  await context.route(`${origin}/sdk-test/**`, async (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/sdk-test/') return route.fulfill({ contentType: 'text/html', body: PAGE });
    const m = /^\/sdk-test\/sdk\/([\w.-]+\.js)$/.exec(path);
    const body = m ? await readFile(SDK_DIR + m[1]).catch(() => undefined) : undefined;
    return body ? route.fulfill({ contentType: 'text/javascript', body }) : route.fulfill({ status: 404, body: '' });
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${label} page error] ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) console.error(`[${label} console] ${msg.text()}`);
  });
  await page.goto(`${origin}/sdk-test/`);
  await page.waitForFunction(() => !!window.onairSdk, undefined, { timeout: 10_000 });
  return { context, page };
}

/** Publishes the fake camera and microphone over WHIP (H.264) and waits until connected. */
export async function publishFakeCamera(page: Page, whipUrl: string, streamKey: string): Promise<void> {
  await page.evaluate(
    async ({ whipUrl, streamKey }) => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
      window.testPublisher = await window.onairSdk!.publish({ whipUrl, streamKey, stream, videoCodec: 'h264' });
    },
    { whipUrl, streamKey },
  );
  await page.waitForFunction(() => window.testPublisher?.state === 'connected', undefined, { timeout: 15_000 });
}

/** Plays over WHEP with reconnects (short media timeout, so a dead node is noticed in about 2 s). */
export async function playWithReconnect(page: Page, whepUrl: string): Promise<void> {
  await page.evaluate(async (whepUrl) => {
    const video = document.querySelector('video')!;
    window.testViewerLog = [];
    window.testViewer = await window.onairSdk!.playWithReconnect({
      whepUrl,
      video,
      mediaTimeoutMs: 1500,
      retryDelayMs: 250,
      maxAttempts: 60,
    });
    window.testViewer.onState((state, detail) => window.testViewerLog!.push(`${Date.now()} ${state} ${detail ?? ''}`));
  }, whepUrl);
}

export interface PlaybackSample {
  /** Node the session lives on (origin of the WHEP session URL). */
  sessionOrigin: string | undefined;
  state: string | undefined;
  reconnects: number;
  videoWidth: number;
  framesDecoded: number;
}

export function samplePlayback(page: Page): Promise<PlaybackSample> {
  return page.evaluate(async () => {
    const viewer = window.testViewer;
    const player = viewer?.player;
    let framesDecoded = 0;
    const stats = await player?.pc.getStats().catch(() => undefined);
    stats?.forEach((s: { type: string; kind?: string; framesDecoded?: number }) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') framesDecoded = s.framesDecoded ?? 0;
    });
    return {
      sessionOrigin: player ? new URL(player.sessionUrl).origin : undefined,
      state: viewer?.state,
      reconnects: viewer?.reconnects ?? 0,
      videoWidth: document.querySelector('video')!.videoWidth,
      framesDecoded,
    };
  });
}

/** Waits until the current session decodes frames (framesDecoded rises over 1 s); returns the later sample. */
export async function waitForDecodedFrames(page: Page, timeoutMs: number): Promise<PlaybackSample> {
  const until = Date.now() + timeoutMs;
  let last: PlaybackSample | undefined;
  while (Date.now() < until) {
    const a = await samplePlayback(page);
    await page.waitForTimeout(500);
    const b = await samplePlayback(page);
    last = b;
    if (b.state === 'playing' && b.videoWidth > 0 && b.sessionOrigin === a.sessionOrigin && b.framesDecoded > a.framesDecoded) return b;
  }
  throw new Error(
    `no decoded frames within ${timeoutMs} ms; last sample ${JSON.stringify(last)}; log ${JSON.stringify(await page.evaluate(() => window.testViewerLog))}`,
  );
}
