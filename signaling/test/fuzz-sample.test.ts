// A bounded fuzz sample against a real node process (distributed mode: NATS for the bus, Redis for the
// cascade registry, PostgreSQL): mutated HTTP requests, WebSocket upgrades, channel frames and bus
// payloads on every subject it subscribes to. The node must stay up, answer no input with a 500,
// and still carry chat after each entry point. `npm run fuzz -w bench` runs the same with >= 100 k
// inputs and prints the counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import {
  fuzzBus,
  fuzzFrames,
  fuzzHttp,
  fuzzIngest,
  fuzzNodeEnv,
  fuzzUpgrades,
  Rng,
  stillServing,
  type FuzzCounts,
  type FuzzTarget,
} from '../../test/support/fuzzer.js';
import { freePort } from '../../test/support/free-port.js';
import { TEST_NATS_URL } from '../../test/support/nats-server.js';
import { NodeProcess } from '../../test/support/node-process.js';
import { createUserAndStream } from '../../test/support/onair-node.js';
import { registerUser } from '../../test/support/channel-client.js';

const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const run = `${process.pid}`;

let node: NodeProcess;
let database: TestDatabase;
let target: FuzzTarget;
let ingestPorts: { rtmp: number; srt: number };
const counts: FuzzCounts = {};
const rng = new Rng(SEED);

beforeAll(async () => {
  database = await createTestDatabase('postgres');
  ingestPorts = { rtmp: await freePort(), srt: await freePort() };
  node = await NodeProcess.start(
    `fuzz-${run}`,
    fuzzNodeEnv({
      databaseUrl: database.url!,
      natsUrl: TEST_NATS_URL,
      redisUrl: TEST_REDIS_URL,
      nodeId: `fuzz${run}`,
      jwtSecret: `fuzz-secret-${run}-0123456789abcdef`,
      rtmpPort: ingestPorts.rtmp,
      srtPort: ingestPorts.srt,
    }),
  );
  const stream = await createUserAndStream(node.url, 'fuzzed');
  const user = await registerUser(node.url);
  const checker = await registerUser(node.url);
  target = { baseUrl: node.url, streamId: stream.id, token: user.token, checkerToken: checker.token };
}, 60_000);
afterAll(async () => {
  await node?.stop();
  await database?.dispose();
  console.log(`fuzz sample (seed ${SEED}):\n${JSON.stringify(counts, null, 1)}`);
});

describe('fuzzing every entry point (a bounded sample)', () => {
  it('HTTP: 1,500 mutated requests, no 500, the node still serves chat', async () => {
    await fuzzHttp(target, 1500, rng, counts);
    expect(counts.http!.examples).toEqual([]);
    expect(counts.http!.serverErrors).toBe(0);
    expect(node.running).toBe(true);
    await stillServing(target, 'after http');
  }, 120_000);

  it('WebSocket upgrades: 500 mutated handshakes, no 500, the node still serves chat', async () => {
    await fuzzUpgrades(target, 500, rng, counts);
    expect(counts['ws-upgrade']!.serverErrors).toBe(0);
    expect(node.running).toBe(true);
    await stillServing(target, 'after upgrades');
  }, 120_000);

  it('channel frames: 1,500 random, truncated, byte-flipped, oversized and text frames; the node still serves chat', async () => {
    await fuzzFrames(target, 1500, rng, counts);
    expect(counts['client-frames']!.outcomes['frame:internal'] ?? 0).toBe(0);
    expect(node.running).toBe(true);
    await stillServing(target, 'after frames');
  }, 120_000);

  it('RTMP and SRT ingest ports: 1,000 garbage connections and datagrams; the node still serves chat', async () => {
    await fuzzIngest('127.0.0.1', ingestPorts, 1000, rng, counts);
    expect(node.running).toBe(true);
    await stillServing(target, 'after ingest');
  }, 120_000);

  it('bus: 1,500 payloads on every subject the node subscribes to (null, wrong types, random bytes, deep nesting); the node still serves chat', async () => {
    await fuzzBus(target, TEST_NATS_URL, [`fuzz${run}`], 1500, rng, counts);
    expect(node.running).toBe(true);
    await stillServing(target, 'after bus');
  }, 180_000);
});
