// SRT ingest end to end on a node with SRT_PASSPHRASE: a real ffmpeg pushes MPEG-TS (H.264 with
// B-frames + AAC) in caller mode to the node's one SRT port, with the stream key in `streamid` as
// plain `<key>` and as `#!::r=<key>,m=publish`; the stream goes live and a Chromium WHEP viewer
// decodes frames, and hls.js and dash.js play its LL-HLS and DASH. A wrong key, a missing passphrase and a second publisher are refused during the
// handshake without spawning an encoder; garbage datagrams leave the node and the listener working;
// an encoder that drops off (killed: no goodbye) and reconnects within PUBLISHER_TIMEOUT_MS resumes
// the same broadcast, its WebRTC viewer and HLS packager untouched; stopping the encoder takes the
// stream offline and leaves no encoder running.
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import type { OnAirNode } from '@onair/signaling';
import { contributionEncoders } from '@onair/sfu';
import { launchBrowser } from '../support/browser.js';
import { createUserAndStream, startTestNode, waitFor, type TestStream } from '../support/onair-node.js';
import { playOverHttp } from '../support/player-page.js';
import { killEncoders, pushEncoder } from '../support/push-encoder.js';
import { openSdkPage, playWithReconnect, waitForDecodedFrames } from '../support/sdk-page.js';

const PASSPHRASE = 'onair-test-passphrase';
const PUBLISHER_TIMEOUT_MS = 5000;
let node: OnAirNode;
let browser: Browser;
const contexts: BrowserContext[] = [];
let stream: TestStream & { srt: string };

const srtUrl = (streamid: string, passphrase: string | undefined = PASSPHRASE) =>
  `${stream.srt}?streamid=${encodeURIComponent(streamid)}${passphrase ? `&passphrase=${passphrase}` : ''}&pkt_size=1316`;

async function streamLive(id: string): Promise<boolean> {
  const res = await fetch(`${node.url}/api/streams/${id}`);
  return ((await res.json()) as { live: boolean }).live;
}

beforeAll(async () => {
  node = await startTestNode({
    HLS_MODE: 'always',
    SRT_PASSPHRASE: PASSPHRASE,
    SRT_LATENCY_MS: '60', // below libsrt's 120; an encoder that asks for more gets its own
    INGEST_CONNECTIONS_PER_ADDRESS: '2',
    PUBLISHER_TIMEOUT_MS: String(PUBLISHER_TIMEOUT_MS),
    LOG_LEVEL: process.env.SRT_TEST_LOG ?? 'warn',
  });
  browser = await launchBrowser();
  const s = await createUserAndStream(node.url, 'srt test');
  const res = await fetch(`${node.url}/api/me/streams`, { headers: { authorization: `Bearer ${s.token}` } });
  const { items } = (await res.json()) as { items: { id: string; ingest: { srt: string | null } }[] };
  const srt = items.find((i) => i.id === s.id)?.ingest.srt;
  if (!srt) throw new Error('no SRT URL in the stream view (is libsrt-gnutls-dev installed?)');
  stream = { ...s, srt };
});

afterAll(async () => {
  killEncoders();
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await browser?.close();
  await node?.close();
});

describe('SRT ingest', () => {
  it('listens on one port that the ingest URL names', () => {
    expect(stream.srt).toBe(`srt://127.0.0.1:${node.srt!.port}`);
  });

  it('refuses a wrong key and a caller without the passphrase, spawning no encoder', async () => {
    const before = contributionEncoders.spawned;
    const wrong = pushEncoder(srtUrl(`sk_${randomBytes(32).toString('base64url')}`), 'mpegts');
    expect(await wrong.exited).not.toBe(0);
    const noPass = pushEncoder(srtUrl(stream.streamKey, ''), 'mpegts');
    expect(await noPass.exited).not.toBe(0);
    expect(contributionEncoders.spawned).toBe(before);
    expect(node.media.isBroadcasting(stream.id)).toBe(false);
    expect(await streamLive(stream.id)).toBe(false);
  });

  it('a plain-key publisher with B-frames goes live: Chromium decodes it over WHEP, hls.js and dash.js play it; a second publisher is refused; stop -> offline', async () => {
    const publisher = pushEncoder(srtUrl(stream.streamKey), 'mpegts');
    await waitFor('the stream to be live', () => streamLive(stream.id), 25_000);
    const { context, page } = await openSdkPage(browser, node.url, 'srt viewer');
    contexts.push(context);
    await playWithReconnect(page, `${node.url}/whep/${stream.id}`);
    const sample = await waitForDecodedFrames(page, 20_000);
    // One of the three simulcast layers of the 640x360 source, as the viewer's bandwidth estimate allows.
    expect([320, 426, 640]).toContain(sample.videoWidth);
    // The same renditions over LL-HLS (hls.js) and DASH (dash.js): at least 2 s of media in 6 s each.
    for (const [player, url] of [
      ['hls.js', `${node.url}/hls/${stream.id}/index.m3u8`],
      ['dash.js', `${node.url}/dash/${stream.id}/manifest.mpd`],
    ] as const) {
      const played = await playOverHttp(browser, node.url, player, url, contexts);
      expect(played.fatal, player).toBeUndefined();
      expect(played.advancedS, player).toBeGreaterThan(2);
    }

    const before = contributionEncoders.spawned;
    const second = pushEncoder(srtUrl(`#!::r=${stream.streamKey},m=publish`), 'mpegts');
    expect(await second.exited).not.toBe(0);
    expect(contributionEncoders.spawned).toBe(before);
    expect(await streamLive(stream.id)).toBe(true);

    publisher.child.kill('SIGKILL'); // no goodbye: SRT notices the silence, the node its end
    await waitFor('the stream to go offline', async () => !(await streamLive(stream.id)), 15_000);
    await waitFor('no contribution encoder left', () => contributionEncoders.running === 0, 5000);
  }, 120_000);

  it('garbage datagrams on the SRT port change nothing', async () => {
    const sock = createSocket('udp4');
    for (let i = 0; i < 50; i++) sock.send(randomBytes(1 + (i % 1400)), node.srt!.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 500));
    sock.close();
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });

  it('refuses HEVC with a log line and ends the stream instead of leaving it stuck', async () => {
    const before = contributionEncoders.spawned;
    const hevc = pushEncoder(srtUrl(stream.streamKey), 'mpegts', '320x180', 'libx265');
    await waitFor(
      'the HEVC publisher to be turned away',
      () => hevc.child.exitCode !== null || hevc.child.signalCode !== null,
      20_000,
    ).catch(() => hevc.child.kill('SIGKILL'));
    await waitFor('the stream to be free again', () => !node.media.isBroadcasting(stream.id), 10_000);
    expect(contributionEncoders.spawned).toBe(before);
    expect(await streamLive(stream.id)).toBe(false);
  });

  it('an encoder that drops off and reconnects within the publisher timeout resumes the same broadcast', async () => {
    const startedAt = async () => ((await (await fetch(`${node.url}/api/streams/${stream.id}`)).json()) as { startedAt: string }).startedAt;
    let publisher = pushEncoder(srtUrl(stream.streamKey), 'mpegts');
    await waitFor('the stream to be live', () => streamLive(stream.id), 25_000);
    const { context, page } = await openSdkPage(browser, node.url, 'srt reconnect viewer');
    contexts.push(context);
    await playWithReconnect(page, `${node.url}/whep/${stream.id}`);
    await waitForDecodedFrames(page, 20_000);
    await waitFor('the HLS ladder to run', () => node.ladders?.get(stream.id)?.state === 'running', 20_000);
    // The ladder is the simulcast layers remuxed by the contribution encoder: no ffmpeg of its own.
    expect(node.ladders!.get(stream.id)!.encoderPid).toBeUndefined();
    expect(node.ladders!.get(stream.id)!.ladder.map((r) => r.name)).toEqual(['360p', '240p', '180p']);
    const before = {
      startedAt: await startedAt(),
      viewer: node.media.inspect(stream.id)!.viewers[0]!.sessionId,
      packager: node.ladders!.sink(stream.id)!,
    };
    const generation = before.packager.generation;

    publisher.child.kill('SIGKILL'); // no goodbye: over UDP the node only sees the silence
    await publisher.exited;
    await new Promise((r) => setTimeout(r, 1500)); // an encoder's reconnect delay (OBS waits 2 s)
    const offline: number[] = [];
    publisher = pushEncoder(srtUrl(stream.streamKey), 'mpegts');
    const until = Date.now() + 8000;
    while (Date.now() < until) {
      if (!(await streamLive(stream.id))) offline.push(Date.now());
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(offline).toEqual([]);
    expect(await startedAt()).toBe(before.startedAt); // the same broadcast, not a new directory entry
    expect(contributionEncoders.running).toBe(1);
    // The WebRTC viewer kept its session (no WHEP reconnect) and decodes the new encoder's frames.
    expect(node.media.inspect(stream.id)!.viewers.map((v) => v.sessionId)).toEqual([before.viewer]);
    const sample = await waitForDecodedFrames(page, 20_000);
    expect(sample.reconnects).toBe(0);
    // HLS viewers keep their playlists: the same packager, the new encoder after a discontinuity.
    await waitFor('the HLS ladder to run again', () => node.ladders?.get(stream.id)?.state === 'running', 20_000);
    expect(node.ladders!.sink(stream.id)).toBe(before.packager);
    expect(before.packager.generation).toBeGreaterThan(generation);

    publisher.child.kill('SIGINT'); // a stop, not a drop: offline without waiting for the timeout
    const stoppedAt = Date.now();
    await waitFor('the stream to go offline', async () => !(await streamLive(stream.id)), 15_000);
    expect(Date.now() - stoppedAt).toBeLessThan(PUBLISHER_TIMEOUT_MS);
    await waitFor('no contribution encoder left', () => contributionEncoders.running === 0, 5000);
    await context.close();
  }, 120_000);

  it('the Access Control form #!::r=<key>,m=publish publishes too', async () => {
    const publisher = pushEncoder(srtUrl(`#!::r=${stream.streamKey},m=publish`), 'mpegts');
    await waitFor('the stream to be live', () => streamLive(stream.id), 25_000);
    expect(
      node.media
        .inspect(stream.id)
        ?.producers.map((p) => p.mimeType)
        .sort(),
    ).toEqual(['audio/opus', 'video/H264']);
    // ffmpeg asks for no latency of its own when sending (libsrt's peer latency 0): the listener's decides.
    expect(node.srt!.latencyOf(stream.id)).toBe(60);
    publisher.child.kill('SIGINT');
    await waitFor('the stream to go offline', async () => !(await streamLive(stream.id)), 15_000);
    await waitFor('no contribution encoder left', () => contributionEncoders.running === 0, 5000);
  });

  it('an address publishing INGEST_CONNECTIONS_PER_ADDRESS streams has its next caller refused before any key lookup or encoder', async () => {
    const second = await createUserAndStream(node.url, 'srt second stream');
    const third = await createUserAndStream(node.url, 'srt third stream');
    const first = pushEncoder(srtUrl(stream.streamKey), 'mpegts', '320x180');
    const next = pushEncoder(srtUrl(second.streamKey), 'mpegts', '320x180');
    await waitFor('two streams live from 127.0.0.1', async () => (await streamLive(stream.id)) && (await streamLive(second.id)), 25_000);
    const before = contributionEncoders.spawned;
    const refused = pushEncoder(srtUrl(third.streamKey), 'mpegts', '320x180');
    expect(await refused.exited).not.toBe(0);
    expect(contributionEncoders.spawned).toBe(before);
    expect(await streamLive(third.id)).toBe(false);
    // A slot freed takes a new caller.
    next.child.kill('SIGINT');
    await waitFor('the second stream offline', async () => !(await streamLive(second.id)), 15_000);
    const again = pushEncoder(srtUrl(third.streamKey), 'mpegts', '320x180');
    await waitFor('the third stream live', () => streamLive(third.id), 25_000);
    for (const p of [first, again]) p.child.kill('SIGINT');
    await waitFor('both offline', async () => !(await streamLive(stream.id)) && !(await streamLive(third.id)), 15_000);
    await waitFor('no contribution encoder left', () => contributionEncoders.running === 0, 5000);
  }, 120_000);

  it('an encoder asking for more latency than SRT_LATENCY_MS gets its own (libsrt agrees on the larger)', async () => {
    const publisher = pushEncoder(`${srtUrl(stream.streamKey)}&latency=250000`, 'mpegts'); // ffmpeg's latency is in microseconds
    await waitFor('the stream to be live', () => streamLive(stream.id), 25_000);
    expect(node.srt!.latencyOf(stream.id)).toBe(250);
    publisher.child.kill('SIGINT');
    await waitFor('the stream to go offline', async () => !(await streamLive(stream.id)), 15_000);
    expect(node.srt!.latencyOf(stream.id)).toBeUndefined();
    await waitFor('no contribution encoder left', () => contributionEncoders.running === 0, 5000);
  });
});
