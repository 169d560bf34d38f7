// What the directory shows of a cascaded stream. Viewers an edge serves over a relay count in the
// stream's viewerCount (the origin adds what its relays report in the registry). And when a stream's
// origin node crashes while nobody relays the stream, no node holds a link that could notice, so the
// node that sweeps the dead node out of the registry must mark its streams offline; otherwise the
// directory would list a dead stream as live forever. Two node processes share real PostgreSQL,
// Redis and NATS; werift peers publish and watch. A node that restarts under the same NODE_ID ends
// what its previous run left live.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistry, type NodeRecord } from '@onair/origin-cascade';
import { createTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { TEST_NATS_URL } from '../../test/support/nats-server.js';
import { NodeProcess } from '../../test/support/node-process.js';
import { createUserAndStream, waitFor } from '../../test/support/onair-node.js';
import { publish, watch, type Publisher } from '../../test/support/werift-peers.js';

const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const record = (nodeId: string): NodeRecord => ({
  nodeId,
  url: `http://${nodeId}`,
  region: 'r',
  viewers: 0,
  maxViewers: 10,
  servesViewers: true,
  relayHost: '127.0.0.1',
  heartbeatAtMs: Date.now(),
});

describe("the node registry hands a dead node's origin streams to exactly one sweeper", () => {
  const prefix = `onair:test:${randomBytes(3).toString('hex')}:`;
  const registries: NodeRegistry[] = [];
  afterAll(async () => {
    const redis = new Redis(TEST_REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    for (const r of registries) await r.close();
  });

  it('reports the streams the dead node originated, not those it relayed, and only once', async () => {
    const open = async () => {
      const r = await NodeRegistry.connect(TEST_REDIS_URL, prefix, 300);
      registries.push(r);
      return r;
    };
    const [dying, a, b] = [await open(), await open(), await open()];
    await dying.heartbeat(record('dying'));
    await dying.hold('s-origin', { nodeId: 'dying', role: 'origin', path: ['dying'], downstream: 0 });
    await dying.hold('s-ended', { nodeId: 'dying', role: 'origin', path: ['dying'], downstream: 0 });
    await dying.release('s-ended', 'dying');
    await dying.hold('s-relayed', { nodeId: 'dying', role: 'relay', path: ['x', 'dying'], downstream: 0 });
    await a.heartbeat(record('a'));
    const sweep = async (r: NodeRegistry) => r.sweepDeadNodes((await r.readIndex()).dead);
    expect(await sweep(a)).toEqual([]); // alive: nothing to sweep
    await new Promise((r) => setTimeout(r, 450)); // the dying node's record expires
    await a.heartbeat(record('a'));
    const swept = await Promise.all([sweep(a), sweep(b), sweep(a)]);
    expect(swept.flat()).toEqual([{ nodeId: 'dying', originStreams: ['s-origin'] }]);
    expect([...(await b.liveNodes()).keys()]).toEqual(['a']);
  });
});

describe('the directory and a cascaded stream', () => {
  const run = randomBytes(3).toString('hex');
  const prefix = `onair:test:${run}:`;
  let database: TestDatabase;
  const nodes: NodeProcess[] = [];
  let publisher: Publisher | undefined;
  let common: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    common = {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      DATABASE_URL: database.url!,
      NATS_URL: TEST_NATS_URL,
      REDIS_URL: TEST_REDIS_URL,
      JWT_SECRET: `dead-origin-secret-${run}-0123456789abcdef`,
      MEDIASOUP_WORKERS: '1',
      CASCADE: 'on',
      CASCADE_REGISTRY_PREFIX: prefix,
      CASCADE_HEARTBEAT_MS: '300',
      CASCADE_NODE_TTL_MS: '1200',
      HLS_MODE: 'off',
    };
    // The origin sends WebRTC viewers to the other node, which relays the stream from it.
    nodes.push(await NodeProcess.start(`dead-origin-${run}-1`, { ...common, NODE_ID: `o${run}`, NODE_SERVES_VIEWERS: 'false' }));
    // Node 2's record outlives it by 30 s, so its restart below happens while the old record is
    // still current: only the restarted node itself can end what its crashed run left live.
    nodes.push(await NodeProcess.start(`dead-origin-${run}-2`, { ...common, NODE_ID: `w${run}`, CASCADE_NODE_TTL_MS: '30000' }));
  }, 90_000);

  afterAll(async () => {
    await publisher?.stop().catch(() => {});
    for (const n of nodes) await n.stop();
    const redis = new Redis(TEST_REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await database?.dispose();
  });

  const streamOn = async (url: string, id: string) =>
    (await (await fetch(`${url}/api/streams/${id}`)).json()) as { live: boolean; viewerCount: number };
  const liveOn = async (url: string, id: string) => (await streamOn(url, id)).live;

  it('counts the viewers an edge serves over a relay, then the surviving edge marks the stream offline when its origin crashes', async () => {
    const [origin, survivor] = nodes as [NodeProcess, NodeProcess];
    const stream = await createUserAndStream(origin.url, 'dies with its node');
    publisher = await publish(origin.url, stream.id, stream.streamKey);
    await waitFor('the stream is live', () => liveOn(survivor.url, stream.id), 20_000);
    const viewers = [await watch(survivor.url, stream.id), await watch(survivor.url, stream.id)];
    await Promise.all(viewers.map((v) => v.connected));
    await waitFor('2 relayed viewers in the directory', async () => (await streamOn(origin.url, stream.id)).viewerCount === 2, 15_000);
    await viewers[0]!.stop();
    await waitFor('1 relayed viewer in the directory', async () => (await streamOn(origin.url, stream.id)).viewerCount === 1, 15_000);
    await viewers[1]!.stop();
    await waitFor('no viewers left', async () => (await streamOn(origin.url, stream.id)).viewerCount === 0, 15_000);
    await origin.kill();
    const killedAt = Date.now();
    await waitFor('the stream is offline', async () => !(await liveOn(survivor.url, stream.id)), 10_000);
    // TTL 1.2 s + one heartbeat 0.3 s, with room for a loaded machine
    expect(Date.now() - killedAt).toBeLessThan(8_000);
    await publisher.stop().catch(() => {});
    publisher = undefined;
  }, 60_000);

  it('a node restarted under the same id ends the streams its previous run left live', async () => {
    // Only node 2 is left: crash it while live, then start it again at once, long before its old
    // record expires (so no sweep could end the stream).
    const survivor = nodes[1]!;
    const stream = await createUserAndStream(survivor.url, 'dies and comes back');
    publisher = await publish(survivor.url, stream.id, stream.streamKey);
    await waitFor('the stream is live', () => liveOn(survivor.url, stream.id), 20_000);
    await survivor.kill();
    await publisher.stop().catch(() => {});
    publisher = undefined;
    const again = await NodeProcess.start(`dead-origin-${run}-2b`, { ...common, NODE_ID: `w${run}`, CASCADE_NODE_TTL_MS: '30000' });
    nodes.push(again);
    await waitFor('the stream is offline', async () => !(await liveOn(again.url, stream.id)), 10_000);
  }, 90_000);
});
