// RTMP ingest end to end: a real ffmpeg pushes H.264 with B-frames + AAC over RTMP (as OBS's x264
// default does) to the node's one RTMP port; the stream goes live in the directory, a Chromium WHEP
// viewer decodes frames (the node re-encoded to B-frame-free H.264 + Opus) and hls.js plays the
// LL-HLS ladder and dash.js the low-latency DASH made from the same encode (the layers remuxed,
// with AAC, by the same ffmpeg). The re-encoded source is one three-layer simulcast
// producer: a viewer whose downlink is capped drops to a lower layer and climbs back when it is
// lifted. A wrong key, a second publisher and garbage bytes are refused without spawning an encoder;
// one that drops off and reconnects within PUBLISHER_TIMEOUT_MS resumes the same broadcast; a
// publisher that stops takes the stream offline, and one that stalls does so after
// PUBLISHER_TIMEOUT_MS. No encoder is left running.
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { types } from 'mediasoup';
import type { OnAirNode } from '@onair/signaling';
import { contributionEncoders } from '@onair/sfu';
import { launchBrowser } from '../support/browser.js';
import { createUserAndStream, startTestNode, waitFor, type TestStream } from '../support/onair-node.js';
import { playOverHttp } from '../support/player-page.js';
import { killEncoders, pushEncoder, type EncoderPush } from '../support/push-encoder.js';
import { openSdkPage, playWithReconnect, samplePlayback, waitForDecodedFrames } from '../support/sdk-page.js';

const PUBLISHER_TIMEOUT_MS = 5000;
let node: OnAirNode;
let browser: Browser;
const contexts: BrowserContext[] = [];

/** ffmpeg as the streamer's encoder: x264 with 2 B-frames + AAC as FLV over RTMP. */
const pushRtmp = (url: string): EncoderPush => pushEncoder(url, 'flv');

/** The WebRTC transport of the stream's one viewer (the media plane keeps it private; tests may look). */
function viewerTransport(streamId: string): types.WebRtcTransport {
  const internals = node.media as unknown as { streams: Map<string, { viewers: Map<string, { transport: types.WebRtcTransport }> }> };
  const [viewer] = internals.streams.get(streamId)?.viewers.values() ?? [];
  if (!viewer) throw new Error('no viewer');
  return viewer.transport;
}

async function streamLive(id: string): Promise<boolean> {
  const res = await fetch(`${node.url}/api/streams/${id}`);
  return ((await res.json()) as { live: boolean }).live;
}

async function createWithIngest(): Promise<TestStream & { rtmp: string }> {
  const s = await createUserAndStream(node.url, 'rtmp test');
  const res = await fetch(`${node.url}/api/me/streams`, { headers: { authorization: `Bearer ${s.token}` } });
  const { items } = (await res.json()) as { items: { id: string; ingest: { whip: string; rtmp: string | null } }[] };
  const rtmp = items.find((i) => i.id === s.id)?.ingest.rtmp;
  if (!rtmp) throw new Error('no RTMP URL in the stream view');
  return { ...s, rtmp };
}

beforeAll(async () => {
  node = await startTestNode({
    HLS_MODE: 'always',
    HLS_MAX_RENDITIONS: '2',
    PUBLISHER_TIMEOUT_MS: String(PUBLISHER_TIMEOUT_MS),
    LOG_LEVEL: process.env.RTMP_TEST_LOG ?? 'warn',
    MEDIASOUP_LOG_LEVEL: process.env.RTMP_TEST_MS_LOG ?? 'error',
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  killEncoders();
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await browser?.close();
  await node?.close();
});

describe('RTMP ingest', () => {
  let stream: TestStream & { rtmp: string };
  let publisher: EncoderPush;
  let viewerPage: Page;
  beforeAll(async () => {
    stream = await createWithIngest();
  });

  it('listens on an ephemeral port that the ingest URLs name', async () => {
    expect(node.rtmp?.port).toBeGreaterThan(0);
    expect(stream.rtmp).toBe(`rtmp://127.0.0.1:${node.rtmp!.port}/live`);
  });

  it('refuses a wrong key at publish, logs nothing more than a refusal, and spawns no encoder', async () => {
    const before = contributionEncoders.spawned;
    const wrong = pushRtmp(`${stream.rtmp}/sk_${randomBytes(32).toString('base64url')}`);
    const code = await wrong.exited;
    expect(code).not.toBe(0);
    expect(contributionEncoders.spawned).toBe(before);
    expect(await streamLive(stream.id)).toBe(false);
    expect(node.media.isBroadcasting(stream.id)).toBe(false);
  });

  it('a publisher with B-frames goes live as one three-layer simulcast producer; Chromium decodes it over WHEP', async () => {
    publisher = pushRtmp(`${stream.rtmp}/${stream.streamKey}`);
    await waitFor('the stream to be live', () => streamLive(stream.id), 20_000);
    const inspected = node.media.inspect(stream.id)!;
    expect(inspected.producers.map((p) => `${p.kind} ${p.mimeType}`).sort()).toEqual(['audio audio/opus', 'video video/H264']);
    expect(inspected.producers.find((p) => p.kind === 'video')?.layers).toHaveLength(3);
    const { context, page } = await openSdkPage(browser, node.url, 'rtmp viewer');
    contexts.push(context);
    viewerPage = page;
    await playWithReconnect(page, `${node.url}/whep/${stream.id}`);
    const sample = await waitForDecodedFrames(page, 20_000);
    expect(sample.videoWidth).toBeGreaterThan(0);
  });

  it('a bandwidth-capped viewer drops to a lower layer and climbs back when the cap is lifted', async () => {
    const height = () => viewerPage.evaluate(() => document.querySelector('video')!.videoHeight);
    // Loopback bandwidth estimation climbs to the top layer (the source's 360 lines).
    await waitFor('the viewer to reach the top layer', async () => (await height()) === 360, 30_000);
    // The viewer's downlink capped (mediasoup's own cap on its transport, as a slow link would).
    const transport = viewerTransport(stream.id);
    await transport.setMaxOutgoingBitrate(450_000); // room for the lowest layer only (measured: ~0.3 / 0.6 / 1.2 Mbps)
    await waitFor('a lower layer under the cap', async () => (await height()) < 360, 20_000);
    const capped = await height();
    expect([180, 240]).toContain(capped);
    await transport.setMaxOutgoingBitrate(0); // lifted
    // On a loaded machine the delay-based estimate reads jitter as congestion and climbs slowly.
    await waitFor('a higher layer again', async () => (await height()) > capped, 90_000);
    expect((await samplePlayback(viewerPage)).state).toBe('playing');
  }, 180_000);

  it('the HLS ladder is the simulcast layers remuxed: no second decode, no ladder ffmpeg, renditions at the layer sizes', async () => {
    await waitFor('the ladder to run', () => node.ladders?.get(stream.id)?.state === 'running', 30_000);
    const ladder = node.ladders!.get(stream.id)!;
    // HLS_MAX_RENDITIONS=2: the top two of the three layers (360 lines, 2/3 of it).
    expect(ladder.ladder.map((r) => r.name)).toEqual(['360p', '240p']);
    expect(ladder.encoderPid).toBeUndefined();
    expect(node.ladders!.encoderPids()).toEqual([]);
    expect(contributionEncoders.running).toBe(1);
    const res = await fetch(`${node.url}/hls/${stream.id}/index.m3u8`);
    expect(res.status).toBe(200);
    const multivariant = await res.text();
    expect(multivariant).toContain('RESOLUTION=640x360');
    expect(multivariant).toContain('mp4a.40.2'); // AAC for HLS, made from the same decode as WebRTC's Opus
    await waitFor('a poster from the contribution encoder', () => node.ladders?.get(stream.id)?.poster !== undefined, 20_000);
  });

  it('hls.js plays the LL-HLS ladder of the RTMP stream', async () => {
    // Over 6 s at least 2 s of media: a busy CI machine may stall the ladder briefly.
    const played = await playOverHttp(browser, node.url, 'hls.js', `${node.url}/hls/${stream.id}/index.m3u8`, contexts);
    expect(played.fatal).toBeUndefined();
    expect(played.advancedS).toBeGreaterThan(2);
  });

  it('dash.js plays the low-latency DASH of the same renditions', async () => {
    const played = await playOverHttp(browser, node.url, 'dash.js', `${node.url}/dash/${stream.id}/manifest.mpd`, contexts);
    expect(played.fatal).toBeUndefined();
    expect(played.advancedS).toBeGreaterThan(2);
  });

  it('refuses a second publisher while the stream is live, without an encoder', async () => {
    const before = contributionEncoders.spawned;
    const second = pushRtmp(`${stream.rtmp}/${stream.streamKey}`);
    expect(await second.exited).not.toBe(0);
    expect(contributionEncoders.spawned).toBe(before);
    expect(await streamLive(stream.id)).toBe(true);
  });

  it('an address holds at most INGEST_CONNECTIONS_PER_ADDRESS connections (8): the next is closed at once', async () => {
    const held = node.rtmp!.connectionCount; // all from 127.0.0.1, as these are
    const sockets = Array.from({ length: 10 - held }, () => connect(node.rtmp!.port, '127.0.0.1'));
    const closedAt = await Promise.all(
      sockets.map(
        (s) =>
          new Promise<boolean>((resolve) => {
            s.once('close', () => resolve(true));
            s.once('error', () => {});
            setTimeout(() => resolve(false), 1000);
          }),
      ),
    );
    expect(closedAt.filter(Boolean)).toHaveLength(2); // 10 asked, 8 held
    expect(node.rtmp!.connectionCount).toBe(8);
    for (const s of sockets) s.destroy();
    await waitFor('the connections released', () => node.rtmp!.connectionCount === held, 5000);
    const later = connect(node.rtmp!.port, '127.0.0.1');
    const stayed = await new Promise<boolean>((resolve) => {
      later.once('close', () => resolve(false));
      setTimeout(() => resolve(true), 500);
    });
    later.destroy();
    expect(stayed).toBe(true);
  });

  it('closes a connection that sends garbage; the node keeps answering', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const sock = connect(node.rtmp!.port, '127.0.0.1', () => sock.write(randomBytes(4000)));
      sock.on('error', () => {});
      sock.on('data', () => {});
      sock.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 5000);
    });
    expect(closed).toBe(true);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    expect(await streamLive(stream.id)).toBe(true);
  });

  it('an encoder that drops off and reconnects within the publisher timeout resumes the same broadcast', async () => {
    const startedAt = async () => ((await (await fetch(`${node.url}/api/streams/${stream.id}`)).json()) as { startedAt: string }).startedAt;
    const before = await startedAt();
    const offline: number[] = [];
    publisher.child.kill('SIGKILL'); // no deleteStream: the TCP connection just ends
    await publisher.exited;
    publisher = pushRtmp(`${stream.rtmp}/${stream.streamKey}`);
    const until = Date.now() + 8000;
    while (Date.now() < until) {
      if (!(await streamLive(stream.id))) offline.push(Date.now());
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(offline).toEqual([]);
    expect(await startedAt()).toBe(before); // the same broadcast, not a new one
    expect(contributionEncoders.running).toBe(1);
    const sample = await waitForDecodedFrames(viewerPage, 20_000);
    expect(sample.videoWidth).toBeGreaterThan(0);
  }, 60_000);

  it('takes the stream offline when the publisher stops, and stops its encoder', async () => {
    publisher.child.kill('SIGINT');
    await publisher.exited;
    await waitFor('the stream to go offline', async () => !(await streamLive(stream.id)), 10_000);
    await waitFor('no contribution encoder left', () => contributionEncoders.running === 0, 5000);
    expect(node.media.isBroadcasting(stream.id)).toBe(false);
  });

  it('takes a stalled publisher offline after the publisher timeout', async () => {
    const stalled = pushRtmp(`${stream.rtmp}/${stream.streamKey}`);
    await waitFor('the stream to be live again', () => streamLive(stream.id), 20_000);
    stalled.child.kill('SIGSTOP'); // the TCP connection stays open; no more media
    const stoppedAt = Date.now();
    await waitFor('the stalled stream to go offline', async () => !(await streamLive(stream.id)), PUBLISHER_TIMEOUT_MS + 10_000);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(PUBLISHER_TIMEOUT_MS - 500);
    stalled.child.kill('SIGKILL');
    await waitFor('no contribution encoder left', () => contributionEncoders.running === 0, 5000);
  });
});
