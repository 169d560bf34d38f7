// Tip throughput on this machine's PostgreSQL: the naive design (one transaction per tip) against
// group commit (TipLedger's streamer-routed writers, many tips per transaction), in the same run, on
// a fresh database. Drives TipLedger directly (the HTTP edge is not measured) with the outbox relay
// running, and prints tips/s with p50/p99 latency per design.
//
//   npm run tips -w bench            (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test)
//   TIPS_SECONDS=5 TIPS_CONCURRENCY=400 TIPS_WRITERS=4 TIPS_STREAMERS=200 npm run tips -w bench
import { randomBytes } from 'node:crypto';
import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import postgres from 'postgres';
import {
  ChatHistory,
  ChatModeration,
  createLogger,
  InProcessBus,
  openDatabase,
  ProfanityScreen,
  StreamCatalog,
  StreamModerators,
  TipLedger,
  type TipSpeechRules,
  TipOutboxRelay,
  type AuthUser,
  type Database,
  type TipLedgerOptions,
  type TipEventSink,
} from '@onair/platform';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECONDS = Number(process.env.TIPS_SECONDS ?? 5);
const STREAMERS = Number(process.env.TIPS_STREAMERS ?? 200);
const VIEWERS = Number(process.env.TIPS_VIEWERS ?? 2000);
const log = createLogger(process.env.LOG_LEVEL ?? 'warn');

interface Fixture {
  viewers: AuthUser[];
  streams: string[];
}

async function seed(db: Database): Promise<Fixture> {
  const viewers = await db.query<{ id: string; username: string }>(
    `INSERT INTO users (username, username_key, password_hash)
     SELECT 'v' || g, 'v' || g, 'x' FROM generate_series(1, $1::int) g RETURNING id::text AS id, username`,
    [VIEWERS],
  );
  const owners = await db.query<{ id: string }>(
    `INSERT INTO users (username, username_key, password_hash)
     SELECT 's' || g, 's' || g, 'x' FROM generate_series(1, $1::int) g RETURNING id::text AS id`,
    [STREAMERS],
  );
  const streams = owners.map(() => randomBytes(6).toString('hex'));
  await db.query(
    `INSERT INTO streams (id, owner_id, title, stream_key_hash) SELECT s, o::uuid, 'bench', 'h' FROM unnest($1::text[], $2::text[]) AS t(s, o)`,
    [streams, owners.map((o) => o.id)],
  );
  // Every wallet gets plenty: the bench measures commits, not refusals.
  await db.query(
    `WITH w AS (INSERT INTO ledger_accounts (kind, owner_id, currency, balance) SELECT 'wallet', u::uuid, 'USD', 1000000000 FROM unnest($1::text[]) u RETURNING id, balance)
     , f AS (INSERT INTO ledger_accounts (kind, shard, currency, balance) VALUES ('dev_faucet', 0, 'USD', -(SELECT sum(balance) FROM w)) RETURNING id)
     INSERT INTO ledger_transfers (kind, debit_account_id, credit_account_id, amount, currency) SELECT 'dev_credit', (SELECT id FROM f), w.id, w.balance, 'USD' FROM w`,
    [viewers.map((v) => v.id)],
  );
  return { viewers: viewers.map((v) => ({ id: v.id, username: v.username, role: 'user' as const })), streams };
}

/** What viewers write with a tip: short to the 280-character limit, clean as nearly all are. */
const TIP_MESSAGES = [
  'gg',
  'Love the stream! Here is for the new mic',
  'first tip ever, keep it up 🎉🎉',
  "That clutch in the last round was unreal. Can you show the settings you use for the crosshair? I've been trying to copy it for weeks",
  'hello from Brazil',
  'happy birthday!!! 🎂 have a great one, from all of us in the discord',
  'for the charity goal',
  'Could you play the song from yesterday again? It was amazing, the whole chat loved it and my cat did too. Thanks for the great vibes every night, this stream gets me through the week.',
];

/** Microseconds per profanity check of the bench's tip messages: obscenity's matcher against the screen. */
function profanityCheckCost(): { matcherUs: number; screenUs: number } {
  const options = { ...englishDataset.build(), ...englishRecommendedTransformers };
  const matcher = new RegExpMatcher(options);
  const screen = new ProfanityScreen(options);
  const usPer = (check: (text: string) => boolean): number => {
    const rounds = 2_000;
    for (const m of TIP_MESSAGES) check(m); // warm
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) for (const m of TIP_MESSAGES) check(m);
    return round(((performance.now() - t0) * 1000) / (rounds * TIP_MESSAGES.length));
  };
  const a = usPer((t) => matcher.hasMatch(t));
  const b = usPer((t) => screen.hasMatch(t));
  return { matcherUs: round((a + usPer((t) => matcher.hasMatch(t))) / 2), screenUs: round((b + usPer((t) => screen.hasMatch(t))) / 2) };
}

class CountingSink implements TipEventSink {
  published = 0;
  async publish(): Promise<void> {
    this.published++;
  }
}

interface Result {
  design: string;
  tips: number;
  seconds: number;
  tipsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** This process's CPU (ledger, relay, the rules) per acknowledged tip: steadier than tips/s on a shared machine. */
  nodeCpuUsPerTip: number;
  batches: string;
}

async function run(
  db: Database,
  fixture: Fixture,
  design: string,
  options: Partial<TipLedgerOptions>,
  concurrency: number,
  speech?: TipSpeechRules,
): Promise<Result> {
  const ledger = await TipLedger.open(db, log, { minAmount: 1, ...options }, speech);
  const sink = new CountingSink();
  const relay = new TipOutboxRelay(db, sink, log, { batch: 1000, pollMs: 200 });
  ledger.onCommitted = () => relay.wake();
  relay.start();
  // Warm the account-id cache as a long-running node has it (the first tip of a user costs a lookup).
  for (const v of fixture.viewers) await ledger.wallets.userAccount('wallet', v.id);
  const owners = await db.query<{ owner_id: string }>('SELECT owner_id::text AS owner_id FROM streams WHERE id = ANY($1::text[])', [
    fixture.streams,
  ]);
  for (const o of owners) await ledger.wallets.userAccount('earnings', o.owner_id);
  const before = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM tips');
  const latencies: number[] = [];
  let seq = 0;
  const tag = randomBytes(4).toString('hex');
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const until = started + SECONDS * 1000;
  const worker = async (w: number) => {
    while (performance.now() < until) {
      const i = seq++;
      const viewer = fixture.viewers[(i * 7 + w) % fixture.viewers.length]!;
      const streamId = fixture.streams[i % fixture.streams.length]!;
      const t0 = performance.now();
      const message = TIP_MESSAGES[i % TIP_MESSAGES.length]!;
      await ledger.tip(viewer, { streamId, amount: 100 + (i % 900), message, idempotencyKey: `${tag}-${i}` });
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await ledger.close();
  await relay.flush(60_000);
  await relay.close();
  const after = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM tips');
  const tips = Number(after[0]!.n) - Number(before[0]!.n);
  if (tips !== latencies.length) throw new Error(`${latencies.length} tips acknowledged but ${tips} stored`);
  if (sink.published !== tips) throw new Error(`${tips} tips but ${sink.published} events published`);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  const { batches } = ledger.stats();
  return {
    design,
    tips,
    seconds: round(seconds),
    tipsPerSecond: Math.round(tips / seconds),
    p50Ms: round(pct(50)),
    p99Ms: round(pct(99)),
    nodeCpuUsPerTip: round((cpu.user + cpu.system) / Math.max(1, latencies.length)),
    batches: `${batches} transactions, ${round(tips / Math.max(1, batches))} tips each`,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

async function main() {
  const name = `onair_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: url.toString(), dataDir: null });
  try {
    const fixture = await seed(db);
    console.log(
      `tips bench: ${SECONDS}s per design, ${VIEWERS} viewers, ${STREAMERS} streamers, PostgreSQL ${ADMIN_URL.replace(/\/\/[^@]*@/, '//')}`,
    );
    const results: Result[] = [];
    results.push(await run(db, fixture, 'naive: 1 tip per transaction, 32 concurrent', { writers: 32, maxBatch: 1, lingerMs: 0 }, 32));
    const concurrency = Number(process.env.TIPS_CONCURRENCY ?? 400);
    const writers = Number(process.env.TIPS_WRITERS ?? 4);
    // The same group commit with the chat's rules for tippers and tip messages, as a node runs it: a
    // real ChatModeration (bans, blocked terms, the profanity filter) over the same database. The two
    // alternate TIPS_ROUNDS times so that a change in the machine's load hits both alike.
    const streams = new StreamCatalog(db);
    const bus = new InProcessBus();
    const history = new ChatHistory(db, log);
    const moderation = new ChatModeration(db, bus, streams, new StreamModerators(db, streams), history, log);
    const rounds = Number(process.env.TIPS_ROUNDS ?? 2);
    try {
      for (let r = 0; r < rounds; r++) {
        results.push(
          await run(
            db,
            fixture,
            `group commit: ${writers} writers, <=256 per batch, ${concurrency} in flight`,
            { writers, maxBatch: 256, lingerMs: 2 },
            concurrency,
          ),
        );
        results.push(
          await run(
            db,
            fixture,
            `group commit with the chat's rules (bans, blocked terms, profanity): ${writers} writers, ${concurrency} in flight`,
            { writers, maxBatch: 256, lingerMs: 2 },
            concurrency,
            moderation,
          ),
        );
      }
    } finally {
      moderation.close();
      history.close();
      await bus.close();
    }
    console.table(results);
    const check = profanityCheckCost();
    console.log(
      `profanity check per tip message (${TIP_MESSAGES.length} messages, 2-280 chars): obscenity RegExpMatcher ${check.matcherUs} us, ProfanityScreen ${check.screenUs} us`,
    );
    console.log(JSON.stringify({ results, check }));
  } finally {
    await db.close();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
