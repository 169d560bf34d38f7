// The cascade under a crowd and under a crash, with the project's real Cascade and NodeRegistry on
// the machine's Redis and NATS (the media plane is the scale simulation's model: relay links and
// viewers counted, no RTP). Behaviour, and (for the last two) a drill with the code before this
// round (`fixes: false`: relaySetup 'retry', no upstream watch), which must fail the same check:
// - many edges pulling one stream at once all get it, as a tree within the link limit: a refused
//   pull asks the refusing node's downstream at once (before: three tries with random waits, and the
//   edges that lost every race answered relay_unavailable; whether any did depends on timing, so
//   that case has no drill here: the scale simulation's before/after measures it);
// - a viewer arriving while its node sets the relay up is answered once the relay is there (before:
//   answered "serve" while the stream was still starting, which the media plane refuses with 409);
// - a relay fed by a node that crashed re-attaches within a few heartbeats, while the crashed node's
//   record has not yet expired (before: only after the record's TTL).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, NatsBus, type Bus } from '@onair/platform';
import { isMediaError } from '@onair/sfu';
import { SimNode, type SimNodeSettings } from '../src/scale-sim-node.js';
import { TEST_NATS_URL } from '../../test/support/nats-server.js';

const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = createLogger('silent');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let redis: Redis;
let bus: NatsBus;
const started: SimNode[] = [];
beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  redis.on('error', () => {});
  bus = await NatsBus.connect({ url: TEST_NATS_URL, name: 'cascade-crowd' }, log);
});
afterAll(async () => {
  await Promise.allSettled(started.map((n) => n.close()));
  const keys = await redis.keys('onair:test-crowd:*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await bus?.close();
});

/** A fleet: node 0 the origin of `streamId`, the rest edges, all in region r. */
async function fleet(
  size: number,
  settings: Partial<SimNodeSettings> & { fixes: boolean },
): Promise<{ nodes: SimNode[]; streamId: string; prefix: string }> {
  const run = randomBytes(3).toString('hex');
  const s: SimNodeSettings = {
    prefix: `onair:test-crowd:${run}:`,
    readPath: 'indexed',
    heartbeatMs: 200,
    ttlMs: 3000,
    maxDownstream: 2,
    audienceIntervalMs: 500,
    ...settings,
  };
  const nodes = Array.from(
    { length: size },
    (_, i) =>
      new SimNode(
        { nodeId: `c${run}n${i}`, region: 'r', peerRegions: [], servesViewers: i > 0, maxViewers: i > 0 ? 100 : 0 },
        s,
        { redis, bus: bus as Bus, log },
        () => {},
      ),
  );
  started.push(...nodes);
  await Promise.all(nodes.map((n) => n.start()));
  const streamId = `crowd${run}`;
  nodes[0]!.media.publish(streamId);
  await sleep(s.heartbeatMs * 2);
  return { nodes, streamId, prefix: s.prefix };
}

/** Each holder's path from the origin, as the registry lists the stream's holders. */
async function paths(prefix: string, streamId: string): Promise<Map<string, string[]>> {
  const all = await redis.hgetall(`${prefix}stream:${streamId}`);
  return new Map(Object.entries(all).map(([nodeId, json]) => [nodeId, (JSON.parse(json) as { path: string[] }).path]));
}

/** Every edge asked for the stream at the same moment (its first viewer's WHEP): what each answered. */
async function allAtOnce(edges: SimNode[], streamId: string): Promise<string[]> {
  return Promise.all(
    edges.map((n) =>
      n.cascade.placeViewer(streamId).then(
        (p) => ('redirect' in p ? 'redirect' : n.media.isLive(streamId) ? 'live' : 'not_live_yet'),
        (err: unknown) => (isMediaError(err) ? err.code : String(err)),
      ),
    ),
  );
}

describe('relay set-up in a crowd', () => {
  it('30 edges pulling at once with a limit of 2 links each all get the stream, as a tree', async () => {
    const { nodes, streamId, prefix } = await fleet(31, { fixes: true });
    const answers = await allAtOnce(nodes.slice(1), streamId);
    expect(
      answers.filter((a) => a !== 'live'),
      answers.join(','),
    ).toEqual([]);
    for (const n of nodes) expect(n.media.downstreamCount(streamId)).toBeLessThanOrEqual(2);
    // 30 relays under an origin with 2 links: a tree at least 4 levels deep.
    await sleep(100); // the last holdings' registry writes
    const tree = await paths(prefix, streamId);
    expect(tree.size).toBe(31);
    expect(Math.max(...[...tree.values()].map((p) => p.length - 1))).toBeGreaterThanOrEqual(4);
  });

  /** A first viewer, then a second one while the first one's relay is being negotiated. */
  async function secondViewerDuringSetUp(fixes: boolean): Promise<string[]> {
    const { nodes, streamId } = await fleet(2, { fixes });
    const edge = nodes[1]!;
    const first = allAtOnce([edge], streamId);
    while (!edge.media.isBroadcasting(streamId)) await new Promise((r) => setImmediate(r));
    expect(edge.media.isLive(streamId)).toBe(false); // caught inside the set-up
    const second = allAtOnce([edge], streamId);
    return [...(await first), ...(await second)];
  }

  it("a viewer arriving while its node's relay is being set up is answered once the relay is live; before, while it was starting (a 409)", async () => {
    expect(await secondViewerDuringSetUp(true)).toEqual(['live', 'live']);
    expect(await secondViewerDuringSetUp(false)).toEqual(['live', 'not_live_yet']);
  });
});

describe('a crashed upstream', () => {
  /** origin -> a, c (its two links); b under one of them, which then crashes; ms until b relays from elsewhere. */
  async function reattachAfterCrash(fixes: boolean): Promise<{ ms: number | undefined; crashedRecordLeft: boolean }> {
    const { nodes, streamId, prefix } = await fleet(4, { fixes });
    const [origin, a, c, b] = nodes as [SimNode, SimNode, SimNode, SimNode];
    await Promise.all([a.cascade.placeViewer(streamId), c.cascade.placeViewer(streamId)]);
    await b.cascade.placeViewer(streamId);
    await sleep(300); // past everyone's next heartbeat
    const path = (await paths(prefix, streamId)).get(b.spec.nodeId)!;
    expect(path).toHaveLength(3);
    expect(path[0]).toBe(origin.spec.nodeId);
    const parent = path[1] === a.spec.nodeId ? a : c;
    const crashedAt = Date.now();
    await parent.crash();
    for (;;) {
      const now = (await paths(prefix, streamId)).get(b.spec.nodeId);
      if (now && !now.includes(parent.spec.nodeId)) {
        const crashedRecordLeft = (await redis.exists(`${prefix}node:${parent.spec.nodeId}`)) === 1;
        return { ms: Date.now() - crashedAt, crashedRecordLeft };
      }
      if (Date.now() - crashedAt > 2000) return { ms: undefined, crashedRecordLeft: true };
      await sleep(20);
    }
  }

  it("re-attaches elsewhere within about 2.5 heartbeats, while the crashed node's record (TTL 3 s) is still there; before, not within 2 s", async () => {
    const after = await reattachAfterCrash(true);
    expect(after.ms, 'no re-attach within 2 s').toBeDefined();
    expect(after.ms!).toBeLessThan(1500);
    expect(after.crashedRecordLeft).toBe(true); // found dead by its beat, not by its record expiring
    const before = await reattachAfterCrash(false);
    expect(before.ms).toBeUndefined();
  });
});
