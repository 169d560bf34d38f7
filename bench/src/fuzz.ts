// npm run fuzz -w bench -- [--inputs 100000] [--seed N] [--rounds 10]
//
// Fuzzes a real OnAir node process (distributed mode: PostgreSQL, NATS, Redis, cascade on) with
// test/support/fuzzer.ts at scale: HTTP requests (50 %), WebSocket upgrades (15 %), channel frames
// (15 %), bus payloads on every subject the node subscribes to (15 %) and garbage on the RTMP and SRT
// ingest ports (5 %), in rounds; after every round
// the node must still be running, answer /healthz and carry a chat message round trip. Prints the
// count of inputs and outcomes per entry point, the 500s (with examples) and whether the node died.
// Needs NATS (TEST_NATS_URL), Redis (TEST_REDIS_URL) and PostgreSQL (BENCH_DATABASE_URL or
// TEST_DATABASE_URL, for CREATE DATABASE).
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { freePort } from '../../test/support/free-port.js';
import { NodeProcess } from '../../test/support/node-process.js';
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

const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN_DB = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const INPUTS = Number(arg('inputs', '100000'));
const SEED = Number(arg('seed', String(Date.now() % 2 ** 31)));
const ROUNDS = Number(arg('rounds', '10'));

async function json<T>(url: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

async function main(): Promise<void> {
  const dbName = `onair_fuzz_${randomBytes(4).toString('hex')}`;
  const admin = postgres(ADMIN_DB, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(ADMIN_DB);
  dbUrl.pathname = `/${dbName}`;
  const nodeId = `fuzz${process.pid}`;
  const ingestPorts = { rtmp: await freePort(), srt: await freePort() };
  const node = await NodeProcess.start(
    'fuzz-bench',
    fuzzNodeEnv({
      databaseUrl: dbUrl.toString(),
      natsUrl: NATS_URL,
      redisUrl: REDIS_URL,
      nodeId,
      jwtSecret: `fuzz-bench-${randomBytes(16).toString('hex')}`,
      rtmpPort: ingestPorts.rtmp,
      srtPort: ingestPorts.srt,
    }),
  );
  const baseUrl = node.url;
  const counts: FuzzCounts = {};
  const t0 = Date.now();
  let failure: string | undefined;
  try {
    const register = () =>
      json<{ token: string }>(`${baseUrl}/api/auth/register`, {
        username: `fz${randomBytes(5).toString('hex')}`,
        password: 'fuzz password',
      });
    const owner = await register();
    const stream = await json<{ id: string }>(`${baseUrl}/api/streams`, { title: 'fuzzed' }, owner.token);
    const target: FuzzTarget = { baseUrl, streamId: stream.id, token: (await register()).token, checkerToken: (await register()).token };
    const rng = new Rng(SEED);
    const per = Math.ceil(INPUTS / ROUNDS);
    for (let round = 1; round <= ROUNDS && !failure; round++) {
      await fuzzHttp(target, Math.round(per * 0.5), rng, counts);
      await fuzzUpgrades(target, Math.round(per * 0.15), rng, counts);
      await fuzzFrames(target, Math.round(per * 0.15), rng, counts);
      await fuzzBus(target, NATS_URL, [nodeId, 'someone-else'], Math.round(per * 0.15), rng, counts);
      await fuzzIngest('127.0.0.1', ingestPorts, Math.round(per * 0.05), rng, counts);
      if (!node.running) failure = `the node died in round ${round}: ${node.exitStatus}`;
      else
        await stillServing(target, `round ${round}`).catch((err: Error) => {
          failure = `round ${round}: ${err.message}`;
        });
      const done = Object.values(counts).reduce((n, e) => n + e.inputs, 0);
      console.log(`round ${round}/${ROUNDS}: ${done.toLocaleString('en-US')} inputs, ${Math.round((Date.now() - t0) / 1000)} s`);
    }
  } finally {
    // A worker outliving its node would be a finding too: reported, not thrown over the counts.
    await node.stop().catch((err: Error) => console.error(err.message));
    await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
  console.log(
    `\nfuzz: seed ${SEED}, ${Math.round((Date.now() - t0) / 1000)} s, node ${failure ? `FAILED: ${failure}` : 'up and serving chat after every round'}`,
  );
  console.table(
    Object.entries(counts).map(([entry, e]) => ({
      'entry point': entry,
      inputs: e.inputs,
      '500s': e.serverErrors,
      outcomes: Object.entries(e.outcomes)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}:${v}`)
        .join(' '),
    })),
  );
  for (const [entry, e] of Object.entries(counts)) for (const x of e.examples) console.log(`500 at ${entry}: ${JSON.stringify(x)}`);
  if (failure || Object.values(counts).some((e) => e.serverErrors > 0)) process.exitCode = 1;
}

await main();
