// With CASCADE_SECRET the registry's node records are signed: a record someone wrote straight into
// Redis (or with another secret) is neither a node to send viewers to nor a dead node whose streams
// end; records of nodes that share the secret are read as before.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeRegistry, type NodeRecord } from '@onair/origin-cascade';

const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `onair-signed-${process.pid}-${Date.now() % 100000}`;
const SECRET = 'cluster-secret-0123456789abcdef-0123';
const open: NodeRegistry[] = [];

const record = (nodeId: string, url: string): NodeRecord => ({
  nodeId,
  url,
  region: 'default',
  viewers: 0,
  maxViewers: 250,
  servesViewers: true,
  relayHost: '127.0.0.1',
  heartbeatAtMs: Date.now(),
});

afterAll(async () => {
  const redis = new Redis(TEST_REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  for (const r of open) await r.close();
});

describe('signed node records', () => {
  it('ignores a record written without the cluster secret, keeps those written with it', async () => {
    const connect = async (secret?: string) => {
      const r = await NodeRegistry.connect(TEST_REDIS_URL, prefix, 60_000, { secret });
      open.push(r);
      return r;
    };
    const honest = await connect(SECRET);
    const reader = await connect(SECRET);
    const forger = await connect('another-secret-0123456789abcdef-0123');
    const unsigned = await connect();
    await honest.heartbeat(record('honest', 'http://10.0.0.1:8080'));
    await forger.heartbeat(record('forged', 'https://evil.example'));
    await unsigned.heartbeat(record('plain', 'https://evil.example'));

    const live = await reader.liveNodes();
    expect([...live.keys()]).toEqual(['honest']);
    expect(await reader.nodeRecord('forged')).toBeUndefined();
    expect(await reader.nodeRecord('plain')).toBeUndefined();
    expect((await reader.nodeRecord('honest'))?.url).toBe('http://10.0.0.1:8080');
    expect(reader.rejectedRecords).toBeGreaterThanOrEqual(4);
    // Ignored, not dead: nothing is swept for them (their streams are not ended on a forger's word).
    expect((await reader.readIndex()).dead).toEqual([]);

    // A record rewritten by hand with a new URL (keeping the old signature) no longer verifies.
    const redis = new Redis(TEST_REDIS_URL);
    const key = `${prefix}node:honest`; // the record itself (not its beat or origin keys)
    const stored = JSON.parse((await redis.get(key))!) as NodeRecord & { sig: string };
    await redis.set(key, JSON.stringify({ ...stored, url: 'https://evil.example' }), 'PX', 60_000);
    redis.disconnect();
    expect(await reader.nodeRecord('honest')).toBeUndefined();
  });
});
