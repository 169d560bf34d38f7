// HLS and DASH of a browser-published stream, played by real players in headless Chromium: a page
// publishes the fake camera over WHIP; hls.js (low-latency mode) and dash.js play the node's LL-HLS
// and DASH from another origin. Playback is proven by the picture size and an advancing currentTime;
// the ladder is visible in the multivariant playlist and the MPD; a player pinned to the lowest
// rendition keeps playing; killing ffmpeg mid-stream costs a discontinuity, not the playback; ending
// the stream ends the playlists and kills ffmpeg.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { OnAirNode } from '@onair/signaling';
import { launchBrowser, screenshot } from '../support/browser.js';
import { createUserAndStream, startTestNode, waitFor, type TestStream } from '../support/onair-node.js';
import { otherOriginThan, servePlayerPage } from '../support/player-page.js';

declare global {
  interface Window {
    Hls: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    dashjs: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    hls?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    dash?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    fatal?: string;
    publisherPc?: RTCPeerConnection;
  }
}

let node: OnAirNode;
let browser: Browser;
let stream: TestStream;
let publisher: Page;
const contexts: BrowserContext[] = [];

async function newPlayerPage(): Promise<Page> {
  // The page is fulfilled by Playwright, so Chromium cannot place its origin in the loopback address
  // space and asks the local-network-access permission for requests to the node; grant it.
  const context = await browser.newContext({ viewport: { width: 800, height: 600 }, permissions: ['local-network-access'] });
  contexts.push(context);
  const url = await servePlayerPage(context, otherOriginThan(node.url));
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  page.on('console', (msg) => msg.type() === 'error' && console.error(`[page console] ${msg.text()}`));
  await page.goto(url);
  return page;
}

async function publishFromBrowser(page: Page, whipUrl: string, streamKey: string): Promise<void> {
  await page.evaluate(
    async ({ whipUrl, streamKey }) => {
      const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 30 }, audio: true });
      const pc = new RTCPeerConnection();
      for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
        setTimeout(resolve, 2000);
      });
      const res = await fetch(whipUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamKey}` },
        body: pc.localDescription!.sdp,
      });
      if (res.status !== 201) throw new Error(`WHIP answered ${res.status}: ${await res.text()}`);
      await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
      window.publisherPc = pc;
    },
    { whipUrl, streamKey },
  );
}

interface Sample {
  currentTime: number;
  videoWidth: number;
  videoHeight: number;
  fatal: string | undefined;
}

const sample = (page: Page): Promise<Sample> =>
  page.evaluate(() => {
    const v = document.querySelector('video')!;
    return { currentTime: v.currentTime, videoWidth: v.videoWidth, videoHeight: v.videoHeight, fatal: window.fatal };
  });

/** Waits for a picture, then asserts currentTime advances by at least 2 s over 4 s (a busy CI machine may stall briefly). */
async function expectPlaying(page: Page, what: string, timeoutMs = 25_000): Promise<Sample> {
  const ok = await page
    .waitForFunction(
      () => {
        const v = document.querySelector('video')!;
        return v.videoWidth > 0 && v.currentTime > 0;
      },
      undefined,
      { timeout: timeoutMs },
    )
    .then(
      () => true,
      () => false,
    );
  if (!ok) {
    await screenshot(page, `no-picture-${what}`);
    expect.fail(`${what}: no picture after ${timeoutMs} ms: ${JSON.stringify(await sample(page))}`);
  }
  const a = await sample(page);
  await page.waitForTimeout(4000);
  const b = await sample(page);
  expect(b.fatal, `${what}: fatal player error`).toBeUndefined();
  expect(b.videoWidth, what).toBeGreaterThan(0);
  expect(b.currentTime - a.currentTime, `${what}: currentTime must advance`).toBeGreaterThan(2);
  return b;
}

async function playHls(page: Page, url: string): Promise<void> {
  await page.evaluate((url) => {
    const hls = new window.Hls({ lowLatencyMode: true });
    hls.on(window.Hls.Events.ERROR, (_e: unknown, d: { fatal: boolean; details: string }) => {
      if (d.fatal) window.fatal = d.details;
    });
    hls.loadSource(url);
    hls.attachMedia(document.querySelector('video'));
    window.hls = hls;
  }, url);
}

beforeAll(async () => {
  node = await startTestNode({ HLS_MODE: 'always', HLS_POSTER_INTERVAL_MS: '2000' });
  browser = await launchBrowser();
  stream = await createUserAndStream(node.url, 'HLS and DASH');
  const context = await browser.newContext();
  contexts.push(context);
  const publisherUrl = await servePlayerPage(context, node.url); // the camera needs a secure origin
  publisher = await context.newPage();
  await publisher.goto(publisherUrl);
  await publishFromBrowser(publisher, `${node.url}/whip/${stream.id}`, stream.streamKey);
  await waitFor('the HLS ladder to run', () => node.ladders?.get(stream.id)?.state === 'running', 30_000);
});

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await browser?.close();
  await node?.close();
});

describe('HLS and DASH of a stream published from a browser', () => {
  it('advertises the adaptive ladder in the multivariant playlist and the MPD', async () => {
    const master = await fetch(`${node.url}/hls/${stream.id}/index.m3u8`);
    expect(master.status).toBe(200);
    const text = await master.text();
    const variants = text.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF'));
    expect(variants.length).toBe(node.ladders!.get(stream.id)!.ladder.length);
    expect(variants.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/RESOLUTION=\d+x480/);
    expect(text).toMatch(/TYPE=AUDIO/);
    const mpd = await (await fetch(`${node.url}/dash/${stream.id}/manifest.mpd`)).text();
    expect(mpd).toContain('type="dynamic"');
    expect((mpd.match(/<Representation[^>]*height="\d+"/g) ?? []).length).toBe(variants.length);
  });

  it('plays in hls.js in low-latency mode, and keeps playing when forced to the lowest rendition', async () => {
    const page = await newPlayerPage();
    await playHls(page, `${node.url}/hls/${stream.id}/index.m3u8`);
    await expectPlaying(page, 'hls.js');
    const levels = await page.evaluate(() => (window.hls.levels as { height: number }[]).map((l) => l.height));
    expect(levels.length).toBeGreaterThanOrEqual(2);
    const lowest = Math.min(...levels);
    await page.evaluate(() => {
      const lowestIndex = (window.hls.levels as { bitrate: number }[]).reduce(
        (best, l, i, all) => (l.bitrate < all[best]!.bitrate ? i : best),
        0,
      );
      window.hls.currentLevel = lowestIndex;
    });
    await page.waitForFunction((h) => document.querySelector('video')!.videoHeight === h, lowest, { timeout: 15_000 });
    const after = await expectPlaying(page, 'hls.js at the lowest rendition');
    expect(after.videoHeight).toBe(lowest);
    await screenshot(page, 'hls-lowest-rendition');
  });

  it('plays in dash.js (low-latency DASH)', async () => {
    const page = await newPlayerPage();
    await page.evaluate((url) => {
      const player = window.dashjs.MediaPlayer().create();
      player.updateSettings({ streaming: { delay: { liveDelay: 2 }, liveCatchup: { enabled: true } } });
      player.on(window.dashjs.MediaPlayer.events.ERROR, (e: { error?: { message?: string } }) => {
        window.fatal = e.error?.message ?? 'dash.js error';
      });
      player.initialize(document.querySelector('video'), url, true);
      window.dash = player;
    }, `${node.url}/dash/${stream.id}/manifest.mpd`);
    await expectPlaying(page, 'dash.js');
    await screenshot(page, 'dash-playing');
    // HTTP players count as viewers in the directory (no WebRTC viewer and no channel here).
    await waitFor(
      'the HTTP players in the viewer count',
      async () => {
        const s = (await (await fetch(`${node.url}/api/streams/${stream.id}`)).json()) as { viewerCount: number };
        return s.viewerCount >= 1;
      },
      10_000,
    );
  });

  it('serves a fresh poster JPEG for the directory', async () => {
    const res = await fetch(`${node.url}/api/streams/${stream.id}/thumbnail.jpg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const jpeg = Buffer.from(await res.arrayBuffer());
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const item = (await (await fetch(`${node.url}/api/streams/${stream.id}`)).json()) as { thumbnail: string | null };
    expect(item.thumbnail).toBe(`${node.url}/api/streams/${stream.id}/thumbnail.jpg`);
  });

  it('keeps playing after ffmpeg is killed mid-stream, across a discontinuity', async () => {
    const page = await newPlayerPage();
    await playHls(page, `${node.url}/hls/${stream.id}/index.m3u8`);
    await expectPlaying(page, 'hls.js before the crash');
    const ladder = node.ladders!.get(stream.id)!;
    const killed = ladder.encoderPid!;
    process.kill(killed, 'SIGKILL');
    await waitFor('ffmpeg to be restarted', () => (ladder.encoderPid ?? killed) !== killed, 10_000);
    const media = await (await fetch(`${node.url}/hls/${stream.id}/index.m3u8`)).text();
    const firstVariant = media.split('\n').find((l) => l && !l.startsWith('#'))!;
    const variantUrl = new URL(firstVariant, `${node.url}/hls/${stream.id}/index.m3u8`).toString();
    await waitFor(
      'a discontinuity in the media playlist',
      async () => (await (await fetch(variantUrl)).text()).includes('#EXT-X-DISCONTINUITY'),
      20_000,
    );
    await page.waitForTimeout(3000);
    await expectPlaying(page, 'hls.js after the crash');
  });

  it('ends the playlists and kills ffmpeg when the stream ends', async () => {
    const ladder = node.ladders!.get(stream.id)!;
    const pid = ladder.encoderPid!;
    const master = await (await fetch(`${node.url}/hls/${stream.id}/index.m3u8`)).text();
    const variantUrl = new URL(
      master.split('\n').find((l) => l && !l.startsWith('#'))!,
      `${node.url}/hls/${stream.id}/index.m3u8`,
    ).toString();
    await publisher.evaluate(() => window.publisherPc!.close());
    await waitFor('ENDLIST', async () => (await (await fetch(variantUrl)).text()).includes('#EXT-X-ENDLIST'), 20_000);
    await waitFor('ffmpeg to exit', () => spawnSync('kill', ['-0', String(pid)]).status !== 0, 5_000);
    expect(ladder.state).toBe('ended');
  });
});
