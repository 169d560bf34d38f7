// Scale-out across processes: three OnAir nodes as separate OS processes on loopback sharing real
// NATS (relay negotiation), Redis (the node registry) and PostgreSQL (the catalog). Node 1 is an
// origin-only node in region "eu"; nodes 2 and 3 are edges in region "us". Headless Chromium
// publishes to node 1 over WHIP and watches over WHEP through the client SDK; playback is proven by
// framesDecoded rising. The relay tree is read back from the registry: which node relays from which.
// A stream an encoder (real ffmpeg) pushes over RTMP to the origin crosses the cascade the same way.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { TEST_NATS_URL } from '../support/nats-server.js';
import { NodeProcess } from '../support/node-process.js';
import { createUserAndStream, waitFor, type TestStream } from '../support/onair-node.js';
import { killEncoders, pushEncoder } from '../support/push-encoder.js';
import { openSdkPage, playWithReconnect, publishFakeCamera, waitForDecodedFrames } from '../support/sdk-page.js';

const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = randomBytes(3).toString('hex');
const PREFIX = `onair:test:${run}:`;
const id = (n: number) => `t${run}-n${n}`;

describe('origin -> relay -> edge across three node processes', () => {
  let database: TestDatabase;
  let redis: Redis;
  let browser: Browser;
  const nodes: NodeProcess[] = [];
  const contexts: BrowserContext[] = [];
  let stream: TestStream;
  let publisher: Page;
  let viewerOn2: Page;
  let viewerOn3: Page;
  let viewerVia1: Page;

  const page = async (origin: string, label: string) => {
    const p = await openSdkPage(browser, origin, label);
    contexts.push(p.context);
    return p.page;
  };
  /** Each holder's chain from the origin, e.g. { n3: ['n1', 'n2', 'n3'] }. */
  const relayPaths = async (streamId = stream.id): Promise<Record<string, string[]>> => {
    const all = await redis.hgetall(`${PREFIX}stream:${streamId}`);
    return Object.fromEntries(Object.entries(all).map(([nodeId, json]) => [nodeId, (JSON.parse(json) as { path: string[] }).path]));
  };

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    redis = new Redis(TEST_REDIS_URL);
    const common = {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      DATABASE_URL: database.url!,
      NATS_URL: TEST_NATS_URL,
      REDIS_URL: TEST_REDIS_URL,
      JWT_SECRET: `cascade-test-secret-${run}-0123456789abcdef`,
      MEDIASOUP_WORKERS: '1',
      CASCADE: 'on',
      CASCADE_REGISTRY_PREFIX: PREFIX,
      CASCADE_HEARTBEAT_MS: '300',
      CASCADE_NODE_TTL_MS: '1200',
      CASCADE_UPSTREAM_SILENCE_MS: '2000',
      HLS_MODE: 'off', // an ffmpeg ladder per stream would take the CPU these three nodes need
    };
    nodes.push(
      await NodeProcess.start(`cascade-${id(1)}`, {
        ...common,
        NODE_ID: id(1),
        NODE_REGION: 'eu',
        NODE_PEER_REGIONS: 'us',
        NODE_SERVES_VIEWERS: 'false',
      }),
    );
    // Node 2 relays to node 3 in plain RTP (same host, CASCADE_SRTP=auto); node 3 insists on SRTP.
    nodes.push(await NodeProcess.start(`cascade-${id(2)}`, { ...common, NODE_ID: id(2), NODE_REGION: 'us', NODE_PEER_REGIONS: 'eu' }));
    nodes.push(
      await NodeProcess.start(`cascade-${id(3)}`, {
        ...common,
        NODE_ID: id(3),
        NODE_REGION: 'us',
        NODE_PEER_REGIONS: 'eu',
        CASCADE_SRTP: 'on',
      }),
    );
    browser = await launchBrowser();
    stream = await createUserAndStream(nodes[0]!.url, 'cascade');
  }, 120_000);

  afterAll(async () => {
    killEncoders();
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    for (const n of nodes) await n.stop();
    await redis?.del(`${PREFIX}stream:${stream?.id}`, `${PREFIX}nodes`).catch(() => {});
    redis?.disconnect();
    await database?.dispose();
  });

  it('a viewer on node 3 plays what is published to node 1, relayed through node 2', async () => {
    const [n1, n2, n3] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    publisher = await page(n1.url, 'publisher');
    await publishFakeCamera(publisher, `${n1.url}/whip/${stream.id}`, stream.streamKey);

    // The first viewer in region "us" makes node 2 pull the stream from the origin (the only holder).
    viewerOn2 = await page(n2.url, 'viewer on 2');
    await waitFor(
      'stream live in the directory',
      async () => ((await (await fetch(`${n2.url}/api/streams/${stream.id}`)).json()) as { live: boolean }).live,
      15_000,
    );
    await playWithReconnect(viewerOn2, `${n2.url}/whep/${stream.id}`);
    const on2 = await waitForDecodedFrames(viewerOn2, 15_000);
    expect(on2.sessionOrigin).toBe(n2.url);

    // Node 3 is in the same region as node 2, so it relays from node 2 rather than from the origin.
    viewerOn3 = await page(n3.url, 'viewer on 3');
    await playWithReconnect(viewerOn3, `${n3.url}/whep/${stream.id}`);
    const on3 = await waitForDecodedFrames(viewerOn3, 15_000);
    expect(on3.sessionOrigin).toBe(n3.url);
    expect(await relayPaths()).toEqual({ [id(1)]: [id(1)], [id(2)]: [id(1), id(2)], [id(3)]: [id(1), id(2), id(3)] });
    const later = await waitForDecodedFrames(viewerOn3, 5000);
    expect(later.framesDecoded).toBeGreaterThan(on3.framesDecoded);
  }, 90_000);

  it('a stream pushed over RTMP to the origin plays on an edge through the relay, and goes offline there when the encoder stops', async () => {
    const [n1, n2] = nodes as [NodeProcess, NodeProcess];
    const rtmpStream = await createUserAndStream(n1.url, 'cascade rtmp');
    const mine = await fetch(`${n1.url}/api/me/streams`, { headers: { authorization: `Bearer ${rtmpStream.token}` } });
    const { items } = (await mine.json()) as { items: { id: string; ingest: { rtmp: string | null } }[] };
    const rtmpUrl = items.find((i) => i.id === rtmpStream.id)?.ingest.rtmp;
    expect(rtmpUrl).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
    const encoder = pushEncoder(`${rtmpUrl}/${rtmpStream.streamKey}`, 'flv');
    const liveOn = async (n: NodeProcess) =>
      ((await (await fetch(`${n.url}/api/streams/${rtmpStream.id}`)).json()) as { live: boolean }).live;
    await waitFor('the RTMP stream live in the directory', () => liveOn(n2), 20_000);

    const viewer = await page(n2.url, 'rtmp viewer on 2');
    await playWithReconnect(viewer, `${n2.url}/whep/${rtmpStream.id}`);
    const playing = await waitForDecodedFrames(viewer, 20_000);
    expect(playing.sessionOrigin).toBe(n2.url);
    expect(playing.videoWidth).toBeGreaterThan(0);
    expect(await relayPaths(rtmpStream.id)).toEqual({ [id(1)]: [id(1)], [id(2)]: [id(1), id(2)] });

    // The streamer stops: offline at the origin, the relay torn down, offline on the edge.
    encoder.child.kill('SIGINT');
    await encoder.exited;
    await waitFor('the RTMP stream offline on the edge', async () => !(await liveOn(n2)), 15_000);
    await waitFor('its relay gone from the registry', async () => Object.keys(await relayPaths(rtmpStream.id)).length === 0, 10_000);
    await viewer.evaluate(() => window.testViewer?.stop());
    // Node 2 is back to its one viewer in its registry record (the next test places by that load).
    const viewersOf = async (n: number) =>
      (JSON.parse((await redis.get(`${PREFIX}node:${id(n)}`)) ?? '{}') as { viewers?: number }).viewers;
    await waitFor('node 2 listing one viewer again', async () => (await viewersOf(2)) === 1, 10_000);
  }, 90_000);

  it('the origin-only node answers a WHEP POST with 307 to an edge (CORS kept), and 404 for a stream that is not live', async () => {
    const [n1] = nodes as [NodeProcess];
    const res = await fetch(`${n1.url}/whep/${stream.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', origin: 'https://player.example' },
      body: 'v=0\r\n',
      redirect: 'manual',
    });
    expect(res.status).toBe(307);
    expect([nodes[1]!.url, nodes[2]!.url].map((u) => `${u}/whep/${stream.id}`)).toContain(res.headers.get('location'));
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('Location');
    const other = await createUserAndStream(n1.url, 'never live');
    const offline = await fetch(`${nodes[2]!.url}/whep/${other.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: 'v=0\r\n',
    });
    expect(offline.status).toBe(404);
    expect(((await offline.json()) as { error: { code: string } }).error.code).toBe('stream_offline');
  });

  it('an edge sends HLS/DASH requests to the origin node with 307 (path and query kept)', async () => {
    const [n1, n2] = nodes as [NodeProcess, NodeProcess];
    for (const path of [
      `/hls/${stream.id}/index.m3u8`,
      `/hls/${stream.id}/720p/index.m3u8?_HLS_msn=3&_HLS_part=1`,
      `/dash/${stream.id}/manifest.mpd`,
    ]) {
      const res = await fetch(n2.url + path, { redirect: 'manual' });
      expect(res.status, path).toBe(307);
      expect(res.headers.get('location'), path).toBe(n1.url + path);
    }
  });

  it('when the edge a viewer is on is killed, the viewer reconnects through another edge and plays again within 5 s', async () => {
    const [n1, n2, n3] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    // Entering at the origin-only node: 307 to the less loaded edge (both hold the stream and have one viewer; ties go by id: node 2).
    viewerVia1 = await page(n1.url, 'viewer via 1');
    await playWithReconnect(viewerVia1, `${n1.url}/whep/${stream.id}`);
    const before = await waitForDecodedFrames(viewerVia1, 15_000);
    expect(before.sessionOrigin).toBe(n2.url);

    const killedAt = Date.now();
    await n2.kill();
    const after = await waitForDecodedFrames(viewerVia1, 5000);
    const resumedMs = Date.now() - killedAt;
    console.info(`[cascade] viewer playing again on ${after.sessionOrigin} ${resumedMs} ms after its edge was killed`);
    expect(after.sessionOrigin).toBe(n3.url);
    expect(after.reconnects).toBeGreaterThanOrEqual(1);
    expect(resumedMs).toBeLessThanOrEqual(5000);

    // Node 3 lost its upstream (node 2) and re-attached straight to the origin; its own viewer plays on.
    await waitFor(
      'node 3 re-attached to the origin',
      async () => JSON.stringify((await relayPaths())[id(3)]) === JSON.stringify([id(1), id(3)]),
      5000,
    );
    await waitForDecodedFrames(viewerOn3, 5000);
  }, 60_000);

  it('when the origin dies, the stream ends on every edge and in the directory, and viewers stop retrying', async () => {
    const [n1, , n3] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    await n1.kill();
    // The viewer on node 3 re-POSTs there and is told the stream is offline (its relay ended with the origin).
    await viewerOn3.waitForFunction(() => window.testViewer?.state === 'gave_up', undefined, { timeout: 10_000 });
    expect(await viewerOn3.evaluate(() => window.testViewerLog!.at(-1))).toContain('gave_up stream_offline');
    await waitFor(
      'directory offline',
      async () => ((await (await fetch(`${n3.url}/api/streams/${stream.id}`)).json()) as { live: boolean }).live === false,
      5000,
    );
    expect(await relayPaths()).toEqual({});
    const metrics = await (await fetch(`${n3.url}/metrics`)).text();
    expect(metrics).toMatch(/^onair_live_streams 0$/m);
    expect(metrics).toMatch(/^onair_webrtc_viewers 0$/m);
    await viewerVia1.evaluate(() => window.testViewer?.stop()); // its entry node is the dead origin: it would retry there
  }, 30_000);
});
