// End to end through the web app in a real browser: a streamer signs up on /dashboard, creates a
// stream and goes live with the fake camera over WHIP; a viewer in another browser context finds it
// on / and plays it on /watch/:id over WHEP. Playback is proven by what cannot lie (picture size,
// advancing currentTime, rising framesDecoded) and the negotiated codec is the one the streamer
// chose. When the streamer stops, the viewer's page says the stream ended.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startNode } from '@onair/signaling';
import { loadConfig } from '@onair/platform';
import type { Player, Publisher } from '@onair/client-sdk';
import { launchBrowser, screenshot } from '../support/browser.js';

declare global {
  interface Window {
    onairPlayer?: Player;
    onairPublisher?: Publisher;
  }
}

type Node = Awaited<ReturnType<typeof startNode>>;

let node: Node;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  node = await startNode(
    loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: ':memory:', LOG_LEVEL: 'warn', MEDIASOUP_WORKERS: '1', HLS_MODE: 'off' }),
  );
  browser = await launchBrowser();
});

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await browser?.close();
  await node?.close();
});

async function newPage(viewport = { width: 1280, height: 800 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  return page;
}

/** Signs up on /dashboard and creates a stream through the forms; returns the stream id. */
async function createStreamInDashboard(page: Page, title: string): Promise<string> {
  await page.goto(`${node.url}/dashboard`);
  await page.getByLabel('Username').fill(`streamer_${randomBytes(4).toString('hex')}`);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('heading', { name: 'New stream' }).waitFor();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Category').fill('Testing');
  await page.getByLabel('Tags').fill('e2e, webrtc');
  await page.getByLabel('Language').selectOption('en');
  await page.getByRole('button', { name: 'Create stream' }).click();
  await page.getByRole('button', { name: 'Go live' }).waitFor();
  // The dashboard keeps no stream in browser storage: ask the API for the account's streams.
  const token = await page.evaluate(() => (JSON.parse(localStorage.getItem('onair.auth') ?? '{}') as { token: string }).token);
  const mine = (await (await fetch(`${node.url}/api/me/streams`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
    items: { id: string; title: string }[];
  };
  return mine.items.find((s) => s.title === title)!.id;
}

interface PlaybackSample {
  currentTime: number;
  videoWidth: number;
  packetsReceived: number;
  framesDecoded: number;
  codec: string | undefined;
  connectionState: string | undefined;
}

function samplePlayback(page: Page): Promise<PlaybackSample> {
  return page.evaluate(async () => {
    const video = document.querySelector('video')!;
    const pc = window.onairPlayer?.pc;
    const stats = await pc?.getStats();
    let packetsReceived = 0;
    let framesDecoded = 0;
    let codecId: string | undefined;
    stats?.forEach((s: { type: string; kind?: string; packetsReceived?: number; framesDecoded?: number; codecId?: string }) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        packetsReceived = s.packetsReceived ?? 0;
        framesDecoded = s.framesDecoded ?? 0;
        codecId = s.codecId;
      }
    });
    const codec = codecId ? (stats?.get(codecId) as { mimeType?: string } | undefined)?.mimeType : undefined;
    return {
      currentTime: video.currentTime,
      videoWidth: video.videoWidth,
      packetsReceived,
      framesDecoded,
      codec,
      connectionState: pc?.connectionState,
    };
  });
}

describe('publish from the dashboard and watch in another browser', () => {
  it('shows Offline with a Retry button for a stream that is not live', async () => {
    const streamer = await newPage();
    const id = await createStreamInDashboard(streamer, 'Not live yet');
    const viewer = await newPage({ width: 390, height: 844 }); // phone width
    await viewer.goto(`${node.url}/watch/${id}`);
    await viewer.getByText('Offline', { exact: true }).waitFor();
    await viewer.getByRole('button', { name: 'Retry' }).waitFor();
    await screenshot(viewer, 'watch-offline-phone');
  });

  for (const [codec, label, mimeType] of [
    ['h264', 'H.264', 'video/H264'],
    ['vp8', 'VP8', 'video/VP8'],
  ] as const) {
    it(`plays what the streamer publishes with ${label}, then shows the end`, async () => {
      // The streamer goes live from the dashboard with the chosen codec.
      const streamer = await newPage();
      const title = `E2E ${label} ${randomBytes(2).toString('hex')}`;
      const id = await createStreamInDashboard(streamer, title);
      await streamer.getByLabel('Video codec').selectOption(codec);
      await streamer.getByRole('button', { name: 'Go live' }).click();
      await streamer.waitForFunction(() => window.onairPublisher?.state === 'connected', undefined, { timeout: 15_000 });
      await streamer.getByRole('status').getByText('Live').waitFor();
      await screenshot(streamer, `dashboard-live-${codec}`);

      // A viewer (another context: no shared storage) finds the stream in the directory...
      const viewer = await newPage();
      await viewer.goto(node.url);
      await viewer.getByRole('link', { name: title }).waitFor({ timeout: 12_000 });
      await screenshot(viewer, `directory-${codec}`);

      // ...and watches it.
      await viewer.getByRole('link', { name: title }).click();
      await viewer.waitForURL(`${node.url}/watch/${id}`);
      const picture = await viewer
        .waitForFunction(() => (document.querySelector('video')?.videoWidth ?? 0) > 0 && !!window.onairPlayer, undefined, {
          timeout: 15_000,
        })
        .then(
          () => true,
          () => false,
        );
      if (!picture) {
        await screenshot(viewer, `watch-no-picture-${codec}`);
        expect.fail(`no picture after 15 s; viewer state: ${JSON.stringify(await samplePlayback(viewer))}`);
      }
      const first = await samplePlayback(viewer);
      await viewer.waitForTimeout(2000);
      const second = await samplePlayback(viewer);
      await screenshot(viewer, `watch-playing-${codec}`);

      expect(second.videoWidth).toBeGreaterThan(0);
      expect(second.currentTime - first.currentTime).toBeGreaterThan(1);
      expect(second.framesDecoded).toBeGreaterThan(first.framesDecoded);
      expect(second.codec?.toLowerCase()).toBe(mimeType.toLowerCase());

      // The streamer stops; the viewer's page says so.
      await streamer.getByRole('button', { name: 'Stop' }).click();
      await streamer.getByRole('status').getByText('Offline').waitFor();
      await viewer.getByText('Stream ended', { exact: true }).waitFor({ timeout: 20_000 });
      await screenshot(viewer, `watch-ended-${codec}`);
      const endReason = await viewer.evaluate(() => window.onairPlayer?.endReason ?? null);
      console.info(`[${codec}] viewer ended by ${endReason ?? 'the directory status'}`);
    }, 90_000);
  }
});
