// Dependency outages are not deaths: two node processes (an origin-only node and an edge that relays
// the stream to a WebRTC viewer) share a private Redis (the registry) and a private NATS (the bus).
// Redis is killed and comes back empty (it runs without persistence), then NATS is restarted; after
// each, the stream stays live in the directory on both nodes, the relayed viewer's frames keep
// rising, no node ended a stream or closed the link, and chat crosses the nodes again. Last, the
// machine's PostgreSQL restarts while chat flows: chat keeps crossing the nodes and video plays on.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelClient, registerUser } from '../../test/support/channel-client.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { PrivateNatsServer } from '../../test/support/nats-server.js';
import { restartPostgres } from '../../test/support/postgres-restart.js';
import { NodeProcess } from '../../test/support/node-process.js';
import { PrivateRedis } from '../../test/support/redis-server.js';
import { createUserAndStream, waitFor, type TestStream } from '../../test/support/onair-node.js';
import { publish, watch, type Publisher, type Viewer } from '../../test/support/werift-peers.js';

const run = randomBytes(3).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis and NATS restarts under a two-node cluster with a relayed viewer', () => {
  let database: TestDatabase;
  let redis: PrivateRedis;
  let nats: PrivateNatsServer;
  const nodes: NodeProcess[] = [];
  let origin: NodeProcess;
  let edge: NodeProcess;
  let stream: TestStream;
  let publisher: Publisher;
  let viewer: Viewer;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    redis = await PrivateRedis.start();
    nats = await PrivateNatsServer.start();
    const common = {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      DATABASE_URL: database.url!,
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      JWT_SECRET: `restart-drill-${run}-0123456789abcdef`,
      MEDIASOUP_WORKERS: '1',
      CASCADE: 'on',
      CASCADE_REGISTRY_PREFIX: `onair:drill:${run}:`,
      CASCADE_HEARTBEAT_MS: '300',
      CASCADE_NODE_TTL_MS: '1200',
      HLS_MODE: 'off',
      PASSWORD_SCRYPT_LOG2N: '14',
    };
    origin = await NodeProcess.start(`drill-${run}-origin`, { ...common, NODE_ID: `o${run}`, NODE_SERVES_VIEWERS: 'false' });
    nodes.push(origin);
    edge = await NodeProcess.start(`drill-${run}-edge`, { ...common, NODE_ID: `e${run}` });
    nodes.push(edge);
    stream = await createUserAndStream(origin.url, 'restart drill');
    publisher = await publish(origin.url, stream.id, stream.streamKey, 'vp8');
    await waitFor('live in the directory', async () => (await live(origin.url)) === true, 15_000);
    // The origin takes no viewers: it sends this one (307) to the edge, which relays the stream.
    viewer = await watch(origin.url, stream.id);
    await viewer.connected;
    expect(viewer.location.startsWith(edge.url)).toBe(true);
    await waitFor('relayed video', () => viewer.received.video > 50, 15_000);
  }, 120_000);

  afterAll(async () => {
    await viewer?.stop();
    await publisher?.stop();
    for (const n of nodes) await n.stop().catch(() => {});
    await redis?.kill();
    await nats?.stop();
    await database?.dispose();
  });

  const live = async (base: string) => ((await (await fetch(`${base}/api/streams/${stream.id}`)).json()) as { live: boolean }).live;

  /** Over `ms`: the viewer's video never stalls for more than 2 s and the stream stays live on both nodes. */
  async function keepsPlaying(ms: number): Promise<void> {
    const end = Date.now() + ms;
    let last = viewer.received.video;
    let lastRiseAt = Date.now();
    while (Date.now() < end) {
      await sleep(250);
      if (viewer.received.video > last) {
        last = viewer.received.video;
        lastRiseAt = Date.now();
      }
      expect(Date.now() - lastRiseAt, 'the relayed video stalled').toBeLessThan(2000);
    }
    expect(await live(origin.url)).toBe(true);
    expect(await live(edge.url)).toBe(true);
    expect(origin.running && edge.running).toBe(true);
  }

  it('Redis killed and back empty: no stream ends, the relayed viewer keeps playing, the registry is rebuilt', async () => {
    await redis.kill();
    await keepsPlaying(2500); // Redis down for longer than the node TTL
    await redis.resume(); // empty: no node records, no holdings
    await keepsPlaying(5000); // several TTLs with an empty registry being rebuilt
    const check = new Redis(redis.url);
    await waitFor('both nodes registered again', async () => (await check.keys(`onair:drill:${run}:node:*`)).length >= 2, 5000);
    check.disconnect();
  }, 60_000);

  it('NATS restarted: the relayed viewer keeps playing and chat crosses the nodes again', async () => {
    await nats.stop();
    await keepsPlaying(3000);
    await nats.resume();
    await keepsPlaying(3000);
    const user = await registerUser(origin.url);
    const onEdge = await ChannelClient.connect(edge.url, stream.id);
    const onOrigin = await ChannelClient.connect(origin.url, stream.id, user.token);
    try {
      await waitFor(
        'chat from the origin to reach the edge',
        async () => {
          onOrigin.chat(`after the restart ${onOrigin.frames.length}`);
          await sleep(500);
          return onEdge.chatMessages.some((m) => m.text?.startsWith('after the restart'));
        },
        15_000,
      );
    } finally {
      await Promise.all([onEdge.close(), onOrigin.close()]);
    }
  }, 60_000);

  it('PostgreSQL restarted while chat flows: chat keeps crossing the nodes, the viewer keeps playing', async () => {
    const user = await registerUser(origin.url);
    const onEdge = await ChannelClient.connect(edge.url, stream.id);
    const onOrigin = await ChannelClient.connect(origin.url, stream.id, user.token);
    try {
      let n = 0;
      let sending = true;
      // Within the per-user limit (5 per 10 s): one message every 2.2 s while PostgreSQL restarts.
      const sender = (async () => {
        while (sending) {
          onOrigin.chat(`during the restart ${++n}`);
          await sleep(2200);
        }
      })();
      const [restarted] = await Promise.all([restartPostgres().then(() => true), keepsPlaying(4000)]);
      expect(restarted).toBe(true);
      await keepsPlaying(2000);
      sending = false;
      await sender;
      const got = onEdge.chatMessages.filter((m) => m.text?.startsWith('during the restart')).length;
      expect(got, `${got} of ${n} messages crossed`).toBe(n);
      expect(onOrigin.errors.filter((e) => e.code === 'internal')).toEqual([]);
    } finally {
      await Promise.all([onEdge.close(), onOrigin.close()]);
    }
  }, 90_000);
});
