// Past broadcasts and live rewind in real players, checked against the clock painted into the
// picture (the glass-to-glass bench's sender page publishes it over WHIP): during the live stream,
// hls.js on the DVR playlist seeks back 10 s and shows a picture 10 s older (±1.5 s), and "Live"
// (a seek to the live edge) brings it back; once the stream has ended, hls.js plays the VOD playlist
// and dash.js the static MPD, and after a seek to 10 s both show the picture painted 10 s after the
// broadcast's start (±1 s), the same clock the chat replay's offsets use.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { OnAirNode } from '@onair/signaling';
import { launchBrowser, screenshot } from '../support/browser.js';
import { createUserAndStream, startTestNode, waitFor, type TestStream } from '../support/onair-node.js';
import { otherOriginThan, servePlayerPage } from '../support/player-page.js';
import { ChannelClient, registerUser } from '../support/channel-client.js';
import { openBenchPage } from '../../bench/src/bench-page.js';
import { FRAME_HEIGHT, FRAME_WIDTH, readTimecode } from '../../bench/src/timecode.js';

const run = promisify(execFile);

declare global {
  interface Window {
    Hls: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    dashjs: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    player?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    fatal?: string;
  }
}

interface BroadcastJson {
  id: string;
  status: string;
  startedAt: string;
  durationMs: number;
  playback: { hls: string; dash: string; dvr?: string; dvrDash?: string };
}

let node: OnAirNode;
let browser: Browser;
let stream: TestStream;
let sender: Page;
let dir: string;
/** When the chat message of the live part was sent (wall clock). */
let chatSentAt = 0;
const contexts: BrowserContext[] = [];

async function broadcasts(): Promise<BroadcastJson[]> {
  return ((await (await fetch(`${node.url}/api/streams/${stream.id}/broadcasts`)).json()) as { items: BroadcastJson[] }).items;
}

async function playerPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 800, height: 600 }, permissions: ['local-network-access'] });
  contexts.push(context);
  const url = await servePlayerPage(context, otherOriginThan(node.url));
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  await page.goto(url);
  return page;
}

/** The clock painted into the frame the video element shows now (undefined: unreadable). */
async function pictureClock(page: Page): Promise<number | undefined> {
  const b64 = await page.evaluate(
    ({ w, h }) => {
      const v = document.querySelector('video')!;
      const c = document.createElement('canvas');
      c.width = w;
      c.height = h;
      const ctx = c.getContext('2d', { willReadFrequently: true })!;
      ctx.drawImage(v, 0, 0, w, h);
      const data = ctx.getImageData(0, 0, w, h).data;
      let s = '';
      for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
      return btoa(s);
    },
    { w: FRAME_WIDTH, h: FRAME_HEIGHT },
  );
  const bytes = Buffer.from(b64, 'base64');
  return readTimecode({ width: FRAME_WIDTH, height: FRAME_HEIGHT, data: new Uint8ClampedArray(bytes) } as unknown as ImageData);
}

/** Pauses, seeks to `t` (s), waits for the frame, and reads its clock (a few tries: a seek may show a frame late). */
async function seekAndRead(page: Page, t: number): Promise<{ at: number; clock: number }> {
  await page.evaluate(async (t) => {
    const v = document.querySelector('video')!;
    v.pause();
    await new Promise<void>((resolve) => {
      v.addEventListener('seeked', () => resolve(), { once: true });
      v.currentTime = t;
    });
    // the seeked frame has to be decoded and presented before it can be drawn
    await new Promise<void>((resolve) => {
      if ('requestVideoFrameCallback' in v) v.requestVideoFrameCallback(() => resolve());
      setTimeout(resolve, 1000);
    });
  }, t);
  for (let i = 0; i < 10; i++) {
    const clock = await pictureClock(page);
    const at = await page.evaluate(() => document.querySelector('video')!.currentTime);
    if (clock !== undefined) return { at, clock };
    await new Promise((r) => setTimeout(r, 300));
  }
  await screenshot(page, 'vod-unreadable-clock');
  throw new Error(`no readable clock after seeking to ${t}`);
}

async function waitForPicture(page: Page, what: string): Promise<void> {
  const ok = await page
    .waitForFunction(
      () => (document.querySelector('video')?.videoWidth ?? 0) > 0 && document.querySelector('video')!.currentTime > 0,
      undefined,
      {
        timeout: 30_000,
      },
    )
    .then(
      () => true,
      () => false,
    );
  if (!ok) {
    await screenshot(page, `vod-no-picture-${what}`);
    expect.fail(`${what}: no picture (${await page.evaluate(() => window.fatal)})`);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'onair-vod-'));
  node = await startTestNode({ HLS_MODE: 'always', HLS_POSTER_INTERVAL_MS: '0', RECORDINGS_DIR: dir, HLS_MAX_RENDITIONS: '2' });
  browser = await launchBrowser();
  stream = await createUserAndStream(node.url, 'rewind me');
  const context = await browser.newContext({ viewport: { width: 700, height: 400 } });
  contexts.push(context);
  sender = await openBenchPage(context, node.url, 'sender');
  await sender.evaluate((o) => window.g2g!.startPublishing(o), {
    whipUrl: `${node.url}/whip/${stream.id}`,
    streamKey: stream.streamKey,
    videoCodec: 'h264' as const,
    audio: true,
  });
  await waitFor('the HLS ladder to run', () => node.ladders?.get(stream.id)?.state === 'running', 40_000);
}, 90_000);

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await browser?.close();
  await node?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('live rewind and past broadcasts in players', () => {
  it('DVR: during the live stream hls.js seeks back 10 s to a picture 10 s older (±1.5 s), and Live returns to the edge', async () => {
    await waitFor('a recording', async () => (await broadcasts())[0]?.status === 'recording', 20_000);
    // 20 s recorded, so that 10 s back lies well inside the DVR window; a chat message 12 s in.
    await new Promise((r) => setTimeout(r, 12_000));
    const chatter = await registerUser(node.url);
    const channel = await ChannelClient.connect(node.url, stream.id, chatter.token);
    chatSentAt = Date.now();
    channel.chat('said twelve seconds in');
    await channel.waitForText('said twelve seconds in');
    await channel.close();
    await new Promise((r) => setTimeout(r, 8_000));
    const [b] = await broadcasts();
    expect(b!.playback.dvr).toBeDefined();
    const page = await playerPage();
    await page.evaluate((src) => {
      const hls = new window.Hls({ lowLatencyMode: false });
      window.player = hls;
      hls.on(window.Hls.Events.ERROR, (_e: unknown, d: { fatal: boolean; details: string }) => {
        if (d.fatal) window.fatal = d.details;
      });
      hls.loadSource(src);
      hls.attachMedia(document.querySelector('video'));
    }, b!.playback.dvr!);
    await waitForPicture(page, 'dvr');
    const ageOf = async (page: Page) => {
      const r = await seekAndRead(page, await page.evaluate(() => document.querySelector('video')!.currentTime));
      return { ...r, ageMs: Date.now() - r.clock };
    };
    const edge = await ageOf(page);
    const seekable = await page.evaluate(() => {
      const v = document.querySelector('video')!;
      return { start: v.seekable.start(0), end: v.seekable.end(0) };
    });
    expect(seekable.end - seekable.start, 'the DVR window holds what was recorded').toBeGreaterThan(15);
    const back = await seekAndRead(page, edge.at - 10);
    const behindMs = edge.clock - back.clock;
    console.log(`DVR: the edge picture was ${edge.ageMs} ms old; seeking back 10 s shows one painted ${behindMs} ms before it`);
    expect(Math.abs(behindMs - 10_000), `seeking back 10 s went back ${behindMs} ms in the picture`).toBeLessThanOrEqual(1500);
    // "Live": back to the live edge (hls.js's live sync position).
    await page.evaluate(() => document.querySelector('video')!.play());
    const live = await page.evaluate(() => window.player.liveSyncPosition as number);
    const again = await seekAndRead(page, live);
    const againAgeMs = Date.now() - again.clock;
    console.log(`DVR: after Live, the picture is ${againAgeMs} ms old`);
    // Back at the edge: no older than where playback began (hls.js may start a little behind its sync point), 10 s newer than the rewound picture.
    expect(againAgeMs).toBeLessThanOrEqual(edge.ageMs + 1500);
    expect(back.clock - again.clock).toBeLessThan(-8000);
    expect(await page.evaluate(() => window.fatal)).toBeUndefined();

    // In the web app: the watch page offers Rewind while live; it opens the DVR player, whose Live
    // button returns to the watch page (WebRTC at the live edge).
    const web = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    contexts.push(web.context());
    await web.goto(`${node.url}/watch/${stream.id}`);
    const rewind = web.locator('a.rewind');
    await rewind.waitFor({ state: 'visible', timeout: 15_000 });
    await rewind.click();
    await web.waitForURL(`**/broadcast/${b!.id}`);
    await web.waitForFunction(
      () => {
        const v = document.querySelector('video');
        return !!v && v.readyState >= 2 && v.seekable.length > 0 && v.seekable.end(0) - v.seekable.start(0) > 15;
      },
      undefined,
      { timeout: 20_000 },
    );
    await web.locator('button.live-button').click();
    await web.waitForURL(`**/watch/${stream.id}`);
  }, 120_000);

  it('DVR over DASH: during the live stream dash.js plays the DVR MPD and seeks back 10 s to a picture 10 s older (±1.5 s)', async () => {
    const [b] = await broadcasts();
    expect(b!.status).toBe('recording');
    expect(b!.playback.dvrDash).toBeDefined();
    const mpd = await (await fetch(b!.playback.dvrDash!)).text();
    expect(mpd).toContain('type="dynamic"');
    expect(mpd).toMatch(/timeShiftBufferDepth="PT3600\.000S"/);
    const page = await playerPage();
    await page.evaluate((src) => {
      const p = window.dashjs.MediaPlayer().create();
      window.player = p;
      p.on('error', (e: { error?: { message?: string } }) => {
        window.fatal = e.error?.message ?? 'dash.js error';
      });
      p.initialize(document.querySelector('video'), src, true);
    }, b!.playback.dvrDash!);
    await waitForPicture(page, 'dvr-dash');
    const seekable = await page.evaluate(() => {
      const v = document.querySelector('video')!;
      return { start: v.seekable.length ? v.seekable.start(0) : 0, end: v.seekable.length ? v.seekable.end(0) : 0 };
    });
    expect(seekable.end - seekable.start, 'the DVR window holds what was recorded').toBeGreaterThan(15);
    const edge = await seekAndRead(page, await page.evaluate(() => document.querySelector('video')!.currentTime));
    const back = await seekAndRead(page, edge.at - 10);
    const behindMs = edge.clock - back.clock;
    console.log(`DVR over DASH: seeking back 10 s shows a picture painted ${behindMs} ms before the edge's`);
    expect(Math.abs(behindMs - 10_000), `seeking back 10 s went back ${behindMs} ms in the picture`).toBeLessThanOrEqual(1500);
    expect(await page.evaluate(() => window.fatal)).toBeUndefined();
  }, 90_000);

  it('VOD: after the stream ends hls.js (VOD playlist) and dash.js (static MPD) seek to 10 s and show the picture painted 10 s after the start (±1 s)', async () => {
    await sender.evaluate(() => window.g2g!.stop());
    await waitFor('the broadcast to be complete', async () => (await broadcasts())[0]?.status === 'complete', 30_000);
    const [b] = await broadcasts();
    const startedAt = Date.parse(b!.startedAt);

    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', b!.playback.dash]);
    const mpdSeconds = Number((JSON.parse(stdout) as { format: { duration: string } }).format.duration);
    expect(Math.abs(mpdSeconds - b!.durationMs / 1000), `ffprobe reads the static MPD as ${mpdSeconds} s`).toBeLessThanOrEqual(1);
    const mpd = await (await fetch(b!.playback.dash)).text();
    expect(mpd).toContain('type="static"');

    for (const player of ['hls.js', 'dash.js'] as const) {
      const page = await playerPage();
      await page.evaluate(
        ({ player, hls, dash }) => {
          const video = document.querySelector('video')!;
          if (player === 'hls.js') {
            const p = new window.Hls();
            p.on(window.Hls.Events.ERROR, (_e: unknown, d: { fatal: boolean; details: string }) => {
              if (d.fatal) window.fatal = d.details;
            });
            p.loadSource(hls);
            p.attachMedia(video);
            window.player = p;
          } else {
            const p = window.dashjs.MediaPlayer().create();
            p.on('error', (e: { error?: { message?: string } }) => (window.fatal = e.error?.message ?? 'error'));
            p.initialize(video, dash, true);
            window.player = p;
          }
        },
        { player, hls: b!.playback.hls, dash: b!.playback.dash },
      );
      await waitForPicture(page, player);
      const duration = await page.evaluate(() => document.querySelector('video')!.duration);
      expect(Math.abs(duration - b!.durationMs / 1000), `${player} duration ${duration}`).toBeLessThanOrEqual(1);
      const first = await seekAndRead(page, 0.5);
      const ten = await seekAndRead(page, 10);
      const offsetMs = ten.clock - startedAt;
      console.log(
        `${player}: at ${ten.at.toFixed(2)} s the picture was painted ${offsetMs} ms after the broadcast's start (at ${first.at.toFixed(2)} s: ${first.clock - startedAt} ms)`,
      );
      expect(Math.abs(offsetMs - ten.at * 1000), `${player}: picture at ${ten.at} s painted at +${offsetMs} ms`).toBeLessThanOrEqual(1000);
      expect(Math.abs(ten.clock - first.clock - (ten.at - first.at) * 1000)).toBeLessThanOrEqual(1000);
      expect(await page.evaluate(() => window.fatal)).toBeUndefined();
    }
  }, 120_000);

  it('web app: the stream page lists the broadcast; its page replays the chat at the video time it was sent (±1 s) after a seek; a clip page plays', async () => {
    const [b] = await broadcasts();
    const startedAt = Date.parse(b!.startedAt);
    const expectedSec = (chatSentAt - startedAt) / 1000;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
    await page.goto(`${node.url}/watch/${stream.id}`);
    const link = page.locator(`.recordings a[href="/broadcast/${b!.id}"]`);
    await link.waitFor({ timeout: 15_000 });
    await link.click();
    await page.waitForFunction(() => (document.querySelector('video')?.readyState ?? 0) >= 2, undefined, { timeout: 20_000 });
    // Seek to 3 s before the message: it is not shown yet; play: it appears when the video reaches it.
    await page.evaluate(async (t) => {
      const v = document.querySelector('video')!;
      v.muted = true;
      await new Promise<void>((resolve) => {
        v.addEventListener('seeked', () => resolve(), { once: true });
        v.currentTime = t;
      });
    }, expectedSec - 3);
    await new Promise((r) => setTimeout(r, 500));
    const replayText = () => page.evaluate(() => document.querySelector('.chat-replay')?.textContent ?? '');
    expect(await replayText()).not.toContain('said twelve seconds in');
    await page.evaluate(() => document.querySelector('video')!.play());
    await page.waitForFunction(
      () => (document.querySelector('.chat-replay')?.textContent ?? '').includes('said twelve seconds in'),
      undefined,
      {
        timeout: 15_000,
        polling: 50,
      },
    );
    const shownAt = await page.evaluate(() => document.querySelector('video')!.currentTime);
    console.log(`web chat replay: sent ${expectedSec.toFixed(2)} s into the broadcast, shown at ${shownAt.toFixed(2)} s`);
    expect(Math.abs(shownAt - expectedSec)).toBeLessThanOrEqual(1);
    await screenshot(page, 'broadcast-page');

    // A clip of it has a page that plays it, with a download link.
    const viewer = await createUserAndStream(node.url, 'clipper');
    const res = await fetch(`${node.url}/api/broadcasts/${b!.id}/clips`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${viewer.token}` },
      body: JSON.stringify({ startMs: 2000, durationMs: 5000 }),
    });
    expect(res.status).toBe(201);
    const clip = (await res.json()) as { id: string };
    await page.goto(`${node.url}/clip/${clip.id}`);
    await page.waitForFunction(() => (document.querySelector('video')?.readyState ?? 0) >= 2, undefined, { timeout: 20_000 });
    await page.evaluate(() => {
      const v = document.querySelector('video')!;
      v.muted = true;
      return v.play();
    });
    await page.waitForFunction(() => document.querySelector('video')!.currentTime > 1, undefined, { timeout: 10_000 });
    expect(await page.locator('a[href$=".mp4?download=1"]').count()).toBe(1);
    await screenshot(page, 'clip-page');
  }, 90_000);
});
