// The web app end to end against a real node (HLS/DASH on) in headless Chromium: a streamer signs
// up, creates a stream and goes live with the fake camera; a viewer in another context finds it,
// watches over WebRTC, signs up from the watch page, chats, reacts and tips (development top-up),
// the owner deletes the message from the watch page, and the streamer's dashboard shows the tip
// alert. Then WebRTC is taken away from the viewer (WHEP refused as if the node were full, or the
// media path blocked so ICE never connects) and the player falls back to LL-HLS by itself and keeps playing; with HLS blocked too it
// plays DASH. Playback is proven by picture size and advancing currentTime, never by the UI alone.
// Screenshots of each page at desktop and phone sizes go to test-artifacts/screenshots/.
import { randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { OnAirNode } from '@onair/signaling';
import type { Player, Publisher, StreamPlayer } from '@onair/client-sdk';
import { launchBrowser } from '../support/browser.js';
import { createUserAndStream, startTestNode, waitFor, type TestStream } from '../support/onair-node.js';
import { openSdkPage, publishFakeCamera } from '../support/sdk-page.js';

declare global {
  interface Window {
    onairPlayer?: Player;
    onairStreamPlayer?: StreamPlayer;
    onairPublisher?: Publisher;
  }
}

const SHOTS = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let node: OnAirNode;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  node = await startTestNode({ HLS_MODE: 'always', HLS_MAX_RENDITIONS: '2', HLS_PRESET: 'ultrafast', HLS_POSTER_INTERVAL_MS: '2000' });
  browser = await launchBrowser();
  await mkdir(SHOTS, { recursive: true });
});

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await browser?.close();
  await node?.close();
});

async function newPage(viewport = DESKTOP): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
}

const user = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;

async function signUp(page: Page, username: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
}

interface Sample {
  currentTime: number;
  videoWidth: number;
  transport: string | undefined;
  state: string | undefined;
  fallbacks: string[];
  indicator: string;
}

const sample = (page: Page): Promise<Sample> =>
  page.evaluate(() => {
    const v = document.querySelector<HTMLVideoElement>('video.player')!;
    const p = window.onairStreamPlayer;
    return {
      currentTime: v.currentTime,
      videoWidth: v.videoWidth,
      transport: p?.transport,
      state: p?.state,
      fallbacks: [...(p?.fallbacks ?? [])],
      indicator: document.querySelector('.latency')?.textContent ?? '',
    };
  });

/** Waits for a picture on `transport`, then asserts currentTime advances by over 2 s in 4 s. */
async function expectPlaying(page: Page, transport: string, timeoutMs = 60_000): Promise<Sample> {
  const ok = await page
    .waitForFunction(
      (t) => {
        const v = document.querySelector<HTMLVideoElement>('video.player');
        return (
          window.onairStreamPlayer?.transport === t &&
          window.onairStreamPlayer.state === 'playing' &&
          (v?.videoWidth ?? 0) > 0 &&
          (v?.currentTime ?? 0) > 0
        );
      },
      transport,
      { timeout: timeoutMs, polling: 250 },
    )
    .then(
      () => true,
      () => false,
    );
  if (!ok) {
    await shot(page, `no-picture-${transport}`);
    expect.fail(`no ${transport} picture after ${timeoutMs} ms: ${JSON.stringify(await sample(page))}`);
  }
  const a = await sample(page);
  await page.waitForTimeout(4000);
  const b = await sample(page);
  expect(b.transport).toBe(transport);
  expect(b.videoWidth).toBeGreaterThan(0);
  expect(b.currentTime - a.currentTime, `${transport}: currentTime must advance`).toBeGreaterThan(2);
  return b;
}

/** A stream published from an SDK page (fake camera, H.264), live with its HLS ladder running. */
let shared: TestStream | undefined;
async function liveStream(): Promise<TestStream> {
  if (shared) return shared;
  const s = await createUserAndStream(node.url, 'Fallback stream');
  const { context, page } = await openSdkPage(browser, node.url, 'publisher');
  contexts.push(context);
  await publishFakeCamera(page, `${node.url}/whip/${s.id}`, s.streamKey);
  await waitFor('the HLS ladder to run', () => node.ladders?.get(s.id)?.state === 'running', 45_000);
  shared = s;
  return s;
}

/** Makes every WHEP offer of this context fail as a full node answers. */
async function refuseWhep(context: BrowserContext): Promise<void> {
  await context.route('**/whep/**', (route) =>
    route.fulfill({
      status: 503,
      headers: { 'retry-after': '5', 'content-type': 'application/json' },
      body: JSON.stringify({ error: { code: 'node_full', message: 'this node is full (test)' } }),
    }),
  );
}

describe('the web app against a real node', () => {
  it('sign up, create a stream, go live; another person watches, chats, reacts and tips; the streamer sees the tip alert', async () => {
    // The streamer signs up, creates a stream and goes live with the fake camera.
    const streamer = await newPage();
    await streamer.goto(`${node.url}/dashboard`);
    await shot(streamer, 'dashboard-signed-out-desktop');
    await signUp(streamer, user('streamer'));
    await streamer.getByRole('heading', { name: 'New stream' }).waitFor();
    const title = `Web app ${randomBytes(2).toString('hex')}`;
    await streamer.getByLabel('Title').fill(title);
    await streamer.getByLabel('Category').fill('Music');
    await streamer.getByLabel('Tags').fill('e2e, live music');
    await streamer.getByRole('button', { name: 'Create stream' }).click();
    await streamer.getByRole('button', { name: 'Go live' }).click();
    await streamer.waitForFunction(() => window.onairPublisher?.state === 'connected', undefined, { timeout: 20_000 });
    await streamer.getByRole('status').getByText('Live').waitFor();
    const watchLink = await streamer.getByRole('link', { name: 'Open the watch page' }).getAttribute('href');
    const id = decodeURIComponent(watchLink?.split('/').pop() ?? '');
    expect(await streamer.getByLabel('WHIP URL').inputValue()).toBe(`${node.url}/whip/${id}`);
    expect(await streamer.getByLabel('RTMP server').inputValue()).toBe(`rtmp://127.0.0.1:${node.rtmp!.port}/live`);

    // A viewer (another context) finds it in the directory by searching, and watches over WebRTC.
    const viewer = await newPage();
    await viewer.goto(node.url);
    await viewer.getByLabel('Search', { exact: true }).fill(title);
    await viewer.getByRole('link', { name: title }).waitFor({ timeout: 20_000 });
    await viewer.getByRole('link', { name: title }).click();
    await viewer.waitForURL(`${node.url}/watch/${id}`);
    const webrtc = await expectPlaying(viewer, 'webrtc', 30_000);
    expect(webrtc.indicator).toBe('Low latency');

    // The viewer signs up from the watch page and chats.
    await viewer.getByRole('button', { name: 'Sign in to chat' }).click();
    await signUp(viewer, user('viewer'));
    const message = `hello from the viewer ${randomBytes(2).toString('hex')}`;
    await viewer.getByLabel('Chat message', { exact: true }).fill(message);
    await viewer.getByRole('button', { name: 'Send', exact: true }).click();
    await viewer.getByRole('log').getByText(message).waitFor({ timeout: 10_000 });

    // The owner, on the watch page in the streamer's context, sees it with moderation actions.
    const ownerView = await streamer.context().newPage();
    await ownerView.goto(`${node.url}/watch/${id}`);
    await ownerView.getByRole('log').getByText(message).waitFor({ timeout: 15_000 });

    // Reactions: the viewer's clicks come back to everyone as floating bursts.
    for (let i = 0; i < 3; i++) await viewer.getByRole('button', { name: 'React 🔥' }).click();
    await ownerView.locator('.reaction-burst[data-emoji="🔥"]').first().waitFor({ state: 'attached', timeout: 10_000 });
    await viewer.locator('.reaction-burst').first().waitFor({ state: 'attached', timeout: 10_000 });
    await shot(viewer, 'watch-webrtc-chat-reactions-desktop');

    // The owner deletes the message; it disappears for the viewer.
    await ownerView.getByRole('button', { name: new RegExp(`^Delete \\(.*${message.slice(0, 20)}`) }).click();
    await viewer.getByRole('log').getByText(message).waitFor({ state: 'detached', timeout: 10_000 });
    await ownerView.close();

    // Tips: top up test funds, tip $5 with a message.
    await viewer.getByRole('button', { name: 'Tip', exact: true }).click();
    const dialog = viewer.getByRole('dialog');
    await dialog.getByText(/Balance: \$0\.00/).waitFor();
    await dialog.getByRole('button', { name: /test funds/ }).click();
    await dialog.getByText(/Balance: \$20\.00/).waitFor();
    await dialog.getByRole('button', { name: '$5.00' }).click();
    await dialog.getByLabel('Message').fill('great stream!');
    await shot(viewer, 'watch-tip-dialog-desktop');
    await dialog.getByRole('button', { name: 'Send tip' }).click();
    await dialog.getByText(/Thank you! You tipped \$5\.00/).waitFor({ timeout: 15_000 });
    await dialog.getByText(/Balance: \$15\.00/).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();

    // The streamer's dashboard shows the animated tip alert and counts the tip.
    const alert = streamer.locator('.tip-alert').filter({ hasText: /tipped \$5\.00/ });
    await alert.waitFor({ timeout: 15_000 });
    expect(await alert.textContent()).toContain('great stream!');
    await streamer.locator('[data-stat="tips"]').getByText('$5.00').waitFor();
    await shot(streamer, 'dashboard-live-tip-alert-desktop');
    await viewer
      .locator('.tip-alert')
      .filter({ hasText: /tipped \$5\.00/ })
      .waitFor({ timeout: 15_000 });

    // The viewer count reached the dashboard's chart.
    await streamer.waitForFunction(() => Number(document.querySelector('[data-stat="viewers"]')?.textContent) >= 1, undefined, {
      timeout: 15_000,
    });

    await streamer.getByRole('button', { name: 'Stop' }).click();
    await streamer.getByRole('status').getByText('Offline').waitFor();
    await viewer.getByText('Stream ended', { exact: true }).waitFor({ timeout: 30_000 });
  }, 240_000);

  it('falls back to LL-HLS when WHEP is refused (node full) and keeps playing', async () => {
    const s = await liveStream();
    const viewer = await newPage();
    await refuseWhep(viewer.context());
    await viewer.goto(`${node.url}/watch/${s.id}`);
    const hls = await expectPlaying(viewer, 'hls');
    expect(hls.indicator).toBe('Standard');
    expect(hls.fallbacks[0]).toBe('webrtc: node_full');
    // The quality menu lists Auto and each rendition; pinning one keeps playing.
    const options = await viewer.getByLabel('Quality').locator('option').allTextContents();
    expect(options[0]).toBe('Auto');
    expect(options.slice(1).every((o) => /^\d+p$/.test(o))).toBe(true);
    expect(options.length).toBe(node.ladders!.get(s.id)!.ladder.length + 1);
    await viewer.getByLabel('Quality').selectOption({ index: options.length - 1 });
    await expectPlaying(viewer, 'hls');
    await shot(viewer, 'watch-hls-fallback-desktop');
  }, 120_000);

  it('falls back to LL-HLS when the WebRTC media path is blocked (UDP and TCP to the SFU denied)', async () => {
    const s = await liveStream();
    const viewer = await newPage();
    // A firewall between viewer and SFU: the signalling (HTTPS) works, but no ICE candidate of the
    // server is reachable. The page drops them all, so ICE can never connect.
    await viewer.context().addInitScript(() => {
      const proto = RTCPeerConnection.prototype;
      const setRemote = proto.setRemoteDescription;
      proto.setRemoteDescription = function (this: RTCPeerConnection, desc?: RTCSessionDescriptionInit) {
        const sdp = desc?.sdp
          ?.split('\r\n')
          .filter((l) => !l.startsWith('a=candidate:'))
          .join('\r\n');
        return setRemote.call(this, desc ? { type: desc.type, sdp } : desc) as Promise<void>;
      } as typeof proto.setRemoteDescription;
      proto.addIceCandidate = (() => Promise.resolve()) as typeof proto.addIceCandidate;
    });
    await viewer.goto(`${node.url}/watch/${s.id}`);
    const hls = await expectPlaying(viewer, 'hls', 60_000);
    expect(hls.fallbacks[0]).toBe('webrtc: webrtc_connect_timeout');
    expect(hls.indicator).toBe('Standard');
    await shot(viewer, 'watch-hls-after-webrtc-timeout-desktop');
  }, 120_000);

  it('falls back to DASH when WebRTC and HLS both fail', async () => {
    const s = await liveStream();
    const viewer = await newPage();
    await refuseWhep(viewer.context());
    await viewer.context().route('**/hls/**', (route) => route.abort('connectionrefused'));
    await viewer.goto(`${node.url}/watch/${s.id}`);
    const dash = await expectPlaying(viewer, 'dash');
    expect(dash.fallbacks.slice(0, 2)).toEqual(['webrtc: node_full', 'hls: network_error']);
    expect(dash.indicator).toBe('Standard');
  }, 120_000);

  it('renders every page at desktop and phone sizes without sideways scrolling, and is keyboard reachable', async () => {
    const s = await liveStream();
    await waitFor('the thumbnail', async () => (await fetch(`${node.url}/api/streams/${s.id}/thumbnail.jpg`)).status === 200, 20_000);
    for (const [size, viewport] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      const page = await newPage(viewport);
      await page.goto(node.url);
      await page.getByRole('link', { name: 'Fallback stream' }).waitFor({ timeout: 15_000 });
      await page.waitForFunction(
        () => [...document.querySelectorAll<HTMLImageElement>('img.thumb')].some((i) => i.complete && i.naturalWidth > 0),
        undefined,
        { timeout: 15_000 },
      );
      await checkLayout(page, `directory-${size}`);

      // Keyboard: Tab reaches the skip link, then the navigation and the search box.
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
      await page.getByLabel('Search', { exact: true }).focus();
      await page.keyboard.type('Fallback');
      await page.getByRole('link', { name: 'Fallback stream' }).waitFor();

      await page.goto(`${node.url}/watch/${s.id}`);
      await expectPlaying(page, 'webrtc', 30_000);
      await checkLayout(page, `watch-${size}`);

      await page.goto(`${node.url}/dashboard`);
      await page.getByRole('button', { name: 'Sign up' }).waitFor();
      await checkLayout(page, `dashboard-signin-${size}`);
      await signUp(page, user(`shots_${size}`));
      await page.getByLabel('Title').fill(`Screenshot stream ${size}`);
      await page.getByRole('button', { name: 'Create stream' }).click();
      await page.getByRole('button', { name: 'Go live' }).waitFor();
      await checkLayout(page, `dashboard-stream-${size}`);
      await page.context().close();
    }
    for (const name of ['directory', 'watch', 'dashboard-signin', 'dashboard-stream']) {
      for (const size of ['desktop', 'phone']) expect((await stat(`${SHOTS}${name}-${size}.png`)).size).toBeGreaterThan(5000);
    }
  }, 180_000);
});

/** Screenshots the page and asserts nothing makes it scroll sideways. */
async function checkLayout(page: Page, name: string): Promise<void> {
  await shot(page, name);
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth, `${name}: no horizontal scrolling`).toBeLessThanOrEqual(innerWidth + 1);
}
