// What a streamer using an external encoder sees on the dashboard: a real ffmpeg pushes HEVC over SRT
// (as an encoder set to HEVC would) and is refused; the owner's stream view says why
// (`endedReason: unsupported_codec`) and the dashboard's OBS card, in Chromium, says what to change.
// Then the same encoder sends H.264: the card shows the stream live; it stops: the card says how the
// broadcast ended. Nothing here is faked: the refusal is the SRT listener's own.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { OnAirNode } from '@onair/signaling';
import { launchBrowser } from '../support/browser.js';
import { startTestNode, waitFor } from '../support/onair-node.js';
import { killEncoders, pushEncoder } from '../support/push-encoder.js';

let node: OnAirNode;
let browser: Browser;
let context: BrowserContext;
let dashboard: Page;
let streamId: string;
let streamKey: string;
let token: string;
let srt: string;

interface OwnedView {
  id: string;
  live: boolean;
  endedReason: string | null;
  ingest: { srt: string | null };
}

async function ownedView(): Promise<OwnedView> {
  const res = await fetch(`${node.url}/api/me/streams`, { headers: { authorization: `Bearer ${token}` } });
  const { items } = (await res.json()) as { items: OwnedView[] };
  return items.find((i) => i.id === streamId)!;
}

const encoderState = () => dashboard.locator('.encoder-status').getAttribute('data-encoder-state');
const srtUrl = () => `${srt}?streamid=${encodeURIComponent(streamKey)}&pkt_size=1316`;

beforeAll(async () => {
  node = await startTestNode({ PUBLISHER_TIMEOUT_MS: '3000', HLS_MODE: 'off', LOG_LEVEL: process.env.ENCODER_STATUS_TEST_LOG ?? 'warn' });
  browser = await launchBrowser();
  const username = `streamer_${randomBytes(3).toString('hex')}`;
  const reg = await fetch(`${node.url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'correct horse battery' }),
  });
  const auth = (await reg.json()) as { token: string; user: { id: string } };
  token = auth.token;
  const created = await fetch(`${node.url}/api/streams`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ title: 'From my encoder', tags: [], category: 'Testing', language: 'en' }),
  });
  ({ id: streamId, streamKey } = (await created.json()) as { id: string; streamKey: string });
  const view = await ownedView();
  if (!view.ingest.srt) throw new Error('no SRT URL in the stream view (is libsrt-gnutls-dev installed?)');
  srt = view.ingest.srt;
  // The streamer is signed in on the dashboard, as the web app remembers a sign-in.
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript((stored) => localStorage.setItem('onair.auth', stored), JSON.stringify(auth));
  dashboard = await context.newPage();
  await dashboard.goto(`${node.url}/dashboard`);
  await dashboard.getByRole('heading', { name: 'Go live from OBS' }).waitFor({ timeout: 20_000 });
}, 60_000);

afterAll(async () => {
  killEncoders();
  await context?.close().catch(() => {});
  await browser?.close();
  await node?.close();
});

describe("the dashboard's encoder status", () => {
  it('before any broadcast: waiting for the encoder', async () => {
    expect((await ownedView()).endedReason).toBeNull();
    expect(await encoderState()).toBe('offline');
    expect(await dashboard.locator('.encoder-status').textContent()).toContain('waiting for your encoder');
  });

  it('an encoder sending HEVC is refused, and the dashboard says so and what to change', async () => {
    const hevc = pushEncoder(srtUrl(), 'mpegts', '320x180', 'libx265');
    await waitFor('the refusal recorded', async () => (await ownedView()).endedReason === 'unsupported_codec', 20_000);
    hevc.child.kill('SIGKILL');
    expect((await ownedView()).live).toBe(false);
    await waitFor('the dashboard to show the refusal', async () => (await encoderState()) === 'refused', 10_000);
    const text = await dashboard.locator('.encoder-status').textContent();
    expect(text).toContain('OnAir takes H.264 video');
    expect(text).toContain('x264');
    // Public views do not carry it: why a stream ended is its owner's business.
    const publicView = (await (await fetch(`${node.url}/api/streams/${streamId}`)).json()) as Record<string, unknown>;
    expect(publicView).not.toHaveProperty('endedReason');
  }, 60_000);

  it('the same encoder sending H.264 goes live, and stopping it shows how the broadcast ended', async () => {
    const h264 = pushEncoder(srtUrl(), 'mpegts', '320x180');
    await waitFor('the dashboard to show the stream live', async () => (await encoderState()) === 'live', 30_000);
    expect(await dashboard.locator('.encoder-status').textContent()).toContain('Live since');
    expect((await ownedView()).endedReason).toBeNull();
    h264.child.kill('SIGINT');
    await h264.exited;
    await waitFor('the dashboard to show the end', async () => (await encoderState()) === 'offline', 20_000);
    const text = await dashboard.locator('.encoder-status').textContent();
    expect(text).toMatch(/^Offline\. The last broadcast ended at .+: the encoder (disconnected|stopped)\.$/);
  }, 60_000);
});
