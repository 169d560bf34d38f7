// The registry's indexed read path, against real Redis: what a heartbeat reads does not grow with the
// fleet (the scan path read every node's record every second: O(n^2) across the cluster), an
// unchanged holding is not written again, placement reads go through a short-lived view, a dead peer
// is still found and swept, and a registry that lost its data (a Redis restart) is rebuilt without
// declaring anyone dead. Commands are counted on the registry's own connection.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistry, type NodeRecord, type RegistryReadPath, type StreamHolding } from '@onair/origin-cascade';

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
const origin = (nodeId: string, downstream = 0): StreamHolding => ({ nodeId, role: 'origin', path: [nodeId], downstream, viewers: 0 });

/** A connection that records each command and how many keys/arguments it carried (once connected). */
async function countingRedis(): Promise<{ redis: Redis; commands: { name: string; args: number }[] }> {
  const redis = new Redis(TEST_REDIS_URL);
  redis.on('error', () => {});
  await redis.ping();
  const commands: { name: string; args: number }[] = [];
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    commands.push({ name: command.name, args: command.args.length });
    return send(command, stream);
  };
  return { redis, commands };
}

describe('the indexed registry read path', () => {
  const prefix = `onair:test:${randomBytes(3).toString('hex')}:`;
  const connections: Redis[] = [];
  const admin = new Redis(TEST_REDIS_URL);
  const open = async (readPath: RegistryReadPath, ttlMs = 3000) => {
    const c = await countingRedis();
    connections.push(c.redis);
    return { registry: NodeRegistry.over(c.redis, prefix, ttlMs, { readPath, viewMaxAgeMs: 1000 }), commands: c.commands };
  };
  const clearPrefix = async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
  };

  beforeAll(async () => {
    // A fleet of 200 nodes in the index.
    const fleet = await open('indexed');
    for (let i = 0; i < 200; i++) await fleet.registry.heartbeat(record(`n${i}`));
  });
  afterAll(async () => {
    await clearPrefix();
    admin.disconnect();
    for (const c of connections) c.disconnect();
  });

  it("a heartbeat's liveness check reads its linked peers and a small sample, not the 200-node fleet; the scan path reads all", async () => {
    const indexed = await open('indexed');
    await indexed.registry.heartbeat(record('self'));
    indexed.commands.length = 0;
    const view = await indexed.registry.liveness(['n1', 'n2', 'gone']);
    expect(view.deadPeers).toEqual(new Set(['gone']));
    const mget = indexed.commands.find((c) => c.name === 'mget')!;
    expect(mget.args).toBeLessThanOrEqual(3 + 3 + 1); // the peers asked, the sweep sample, its own record
    expect(indexed.commands.some((c) => c.name === 'smembers')).toBe(false);

    const scan = await open('scan');
    await scan.registry.liveness(['n1']);
    expect(scan.commands.find((c) => c.name === 'mget')!.args).toBeGreaterThanOrEqual(200);
  });

  it('rewrites a holding only when it changed (the scan path rewrites it every heartbeat)', async () => {
    const indexed = await open('indexed');
    indexed.commands.length = 0;
    await indexed.registry.hold('s-hold', origin('n1'));
    await indexed.registry.hold('s-hold', origin('n1'));
    await indexed.registry.hold('s-hold', { ...origin('n1'), viewers: 7 }); // the viewer figure alone is not a change
    expect(indexed.commands.filter((c) => c.name === 'hset')).toHaveLength(1);
    await indexed.registry.hold('s-hold', origin('n1', 1));
    expect(indexed.commands.filter((c) => c.name === 'hset')).toHaveLength(2);

    const scan = await open('scan');
    await scan.registry.hold('s-hold', origin('n1', 1));
    await scan.registry.hold('s-hold', origin('n1', 1));
    expect(scan.commands.filter((c) => c.name === 'hset')).toHaveLength(2);
  });

  it('placement reads the node table at most once per view age, however many viewers arrive', async () => {
    const indexed = await open('indexed');
    indexed.commands.length = 0;
    for (let i = 0; i < 50; i++) {
      const nodes = await indexed.registry.placementNodes();
      expect(nodes.size).toBeGreaterThanOrEqual(200);
      await indexed.registry.placementHolders('s-hold', nodes);
    }
    expect(indexed.commands.filter((c) => c.name === 'mget')).toHaveLength(1);
    expect(indexed.commands.filter((c) => c.name === 'hgetall')).toHaveLength(1);
  });

  it('finds a peer whose record expired, and some node sweeps it from the index exactly once with its origin streams', async () => {
    const dying = await open('indexed', 300);
    const a = await open('indexed');
    await dying.registry.heartbeat(record('dying'));
    await dying.registry.hold('s-dying', origin('dying'));
    await a.registry.heartbeat(record('a'));
    expect((await a.registry.liveness(['dying'])).deadPeers.size).toBe(0);
    await new Promise((r) => setTimeout(r, 450));
    expect((await a.registry.liveness(['dying'])).deadPeers).toEqual(new Set(['dying']));
    // The sweep samples 3 random index members per heartbeat: over a few heartbeats it meets the dead one.
    const swept: { nodeId: string; originStreams: string[] }[] = [];
    for (let i = 0; i < 400 && !swept.length; i++)
      swept.push(...(await a.registry.sweepDeadNodes((await a.registry.liveness([])).expired)));
    expect(swept).toEqual([{ nodeId: 'dying', originStreams: ['s-dying'] }]);
    // A holder whose record is gone is dropped, even when the caller's table is stale.
    expect(await a.registry.holders('s-dying', new Map())).toEqual([]);
  });

  it("a watched node's beat that stops advancing is found within the suspect time, one that keeps beating never, and not while Redis lost its data", async () => {
    const ttlMs = 3000;
    const watcher = await open('indexed', ttlMs);
    const live = await open('indexed', ttlMs);
    const dying = await open('indexed', ttlMs);
    for (const [r, id] of [
      [watcher, 'w'],
      [live, 'live'],
      [dying, 'dying2'],
    ] as const)
      await r.registry.heartbeat(record(id));
    const watched = ['live', 'dying2'];
    expect(await watcher.registry.stoppedBeating(watched, 300)).toEqual(new Set()); // first sight: watched from now
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 100));
      await live.registry.heartbeat(record('live'));
    }
    watcher.commands.length = 0;
    // dying2's record (TTL 3 s) is still there; its beat has not moved for 500 ms.
    expect(await watcher.registry.stoppedBeating(watched, 300)).toEqual(new Set(['dying2']));
    expect(watcher.commands.map((c) => c.name)).toEqual(['mget']); // one read of short values
    expect(await admin.exists(`${prefix}node:dying2`)).toBe(1);

    await clearPrefix(); // Redis lost everything: nobody's beat is there, the watcher's own neither
    expect(await watcher.registry.stoppedBeating(watched, 300)).toEqual(new Set());
    await new Promise((r) => setTimeout(r, 400));
    await watcher.registry.heartbeat(record('w'));
    expect(await watcher.registry.stoppedBeating(watched, 300)).toEqual(new Set()); // within the grace after the loss
  });

  it('after Redis loses its data, the next heartbeat notices: holdings are written again and missing peers are not dead for two TTLs', async () => {
    const ttlMs = 800;
    const a = await open('indexed', ttlMs);
    const b = await open('indexed', ttlMs);
    await a.registry.heartbeat(record('ra'));
    await b.registry.heartbeat(record('rb'));
    await a.registry.hold('s-restart', origin('ra'));
    await clearPrefix(); // what a restarted Redis without persistence holds: nothing

    // A heartbeat that read its peers after the loss but before its own next write (a tick that
    // straddles the restart) sees its own record gone too: nobody is dead.
    expect((await a.registry.liveness(['rb'])).deadPeers.size).toBe(0);
    await clearPrefix();
    await a.registry.heartbeat(record('ra')); // rb has not heartbeat since
    expect((await a.registry.liveness(['rb'])).deadPeers.size).toBe(0);
    expect(await a.registry.holders('s-restart', new Map())).toEqual([]); // the holding is gone until the next tick
    await a.registry.hold('s-restart', origin('ra')); // unchanged, but written again after the loss
    expect(Object.keys(await admin.hgetall(`${prefix}stream:s-restart`))).toEqual(['ra']);
    expect(await admin.smembers(`${prefix}origins:ra`)).toEqual(['s-restart']);

    // A peer that stays missing past the grace is dead after all (ra keeps heartbeating meanwhile: a
    // node that finds its own record expired enters the grace again).
    for (let i = 0; i < 7; i++) {
      await new Promise((r) => setTimeout(r, 300));
      await a.registry.heartbeat(record('ra'));
    }
    expect((await a.registry.liveness(['rb'])).deadPeers).toEqual(new Set(['rb']));
  });
});
