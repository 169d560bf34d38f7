// PostgreSQL restarts in the middle of a tip load: clients retry with the same Idempotency-Key (as the
// 503 `ledger_unavailable` tells them to); afterwards the books balance, the balances add up to the
// top-ups, every acknowledged tip is stored once, and every tip's event was published (once per tip
// id, as a JetStream-style deduplicating sink sees it). Restarts the machine's own PostgreSQL
// (`pg_ctlcluster 15 main restart -m fast`, about a second) and waits until it answers again.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AppError,
  auditLedger,
  createLogger,
  TipLedger,
  TipOutboxRelay,
  type AuthUser,
  type TipEvent,
  type TipEventSink,
} from '@onair/platform';
import { useTestDatabase } from '../../test/support/databases.js';
import { postmasterStartTime, restartPostgres } from '../../test/support/postgres-restart.js';

const log = createLogger('silent');

/** Records publications and, like JetStream with Nats-Msg-Id = tip id, keeps each tip once. */
class DedupSink implements TipEventSink {
  raw = 0;
  readonly byTip = new Map<string, TipEvent>();
  async publish(_streamId: string, event: TipEvent): Promise<void> {
    this.raw++;
    this.byTip.set(event.tipId, event);
  }
}

describe('a PostgreSQL restart during a tip load', () => {
  const t = useTestDatabase('postgres');

  it('loses no acknowledged tip, doubles none, keeps the books balanced and publishes every tip', async () => {
    const db = t.db;
    const ledger = await TipLedger.open(db, log, { minAmount: 1, retryForMs: 30_000, maxBatch: 64 });
    const sink = new DedupSink();
    const relay = new TipOutboxRelay(db, sink, log, { batch: 50, pollMs: 100 });
    ledger.onCommitted = () => relay.wake();
    relay.start();

    const mkUser = async (prefix: string): Promise<AuthUser> => {
      const username = `${prefix}_${randomBytes(4).toString('hex')}`;
      const rows = await db.query<{ id: string }>(
        `INSERT INTO users (username, username_key, password_hash) VALUES ($1, $1, 'x') RETURNING id::text AS id`,
        [username],
      );
      return { id: rows[0]!.id, username, role: 'user' };
    };
    const viewers = await Promise.all(Array.from({ length: 16 }, () => mkUser('v')));
    const streamers = await Promise.all(Array.from({ length: 4 }, () => mkUser('s')));
    const streams: string[] = [];
    for (const s of streamers) {
      const id = randomBytes(6).toString('hex');
      await db.query(`INSERT INTO streams (id, owner_id, title, stream_key_hash) VALUES ($1, $2, 't', 'h')`, [id, s.id]);
      streams.push(id);
    }
    const FUNDS = 1_000_000;
    const faucet = await ledger.wallets.systemAccount('dev_faucet');
    for (const v of viewers) {
      const wallet = await ledger.wallets.userAccount('wallet', v.id);
      await db.transaction((tx) =>
        ledger.wallets.post(tx, { kind: 'dev_credit', debitAccountId: faucet, creditAccountId: wallet, amount: FUNDS, currency: 'USD' }),
      );
    }
    for (const s of streamers) await ledger.wallets.userAccount('earnings', s.id);

    const acknowledged = new Map<string, string>(); // idempotency key -> tip id
    let retries = 0;
    let restarted = false;
    let stop = false;
    const client = async (v: AuthUser, n: number) => {
      for (let i = 0; !stop; i++) {
        const key = `${v.id}-${i}`;
        const streamId = streams[(n + i) % streams.length]!;
        for (;;) {
          try {
            const { tip } = await ledger.tip(v, { streamId, amount: 10 + (i % 7), idempotencyKey: key });
            const previous = acknowledged.get(key);
            if (previous && previous !== tip.id) throw new Error(`key ${key} answered two different tips`);
            acknowledged.set(key, tip.id);
            break;
          } catch (err) {
            if (err instanceof AppError && err.status !== 503) throw err;
            retries++; // 503 or a raw connection error: retry the same request, same key
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const serverStartedBefore = await postmasterStartTime(db);
    const load = Promise.all(viewers.map((v, n) => client(v, n)));
    await new Promise((r) => setTimeout(r, 400));
    const ackedBeforeRestart = acknowledged.size;
    await restartPostgres();
    restarted = true;
    const ackedAfterRestart = acknowledged.size;
    // keep tipping on the recovered server until plenty more tips went through
    for (const until = Date.now() + 30_000; acknowledged.size < ackedAfterRestart + 200 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    stop = true;
    await load;
    await ledger.close();
    await relay.flush(30_000);
    await relay.close();

    expect(restarted).toBe(true);
    expect(await postmasterStartTime(db)).not.toBe(serverStartedBefore); // the server really went down and came back
    // the restart happened mid-load: some tips were done before it, and many after
    expect(ackedBeforeRestart).toBeGreaterThan(0);
    expect(acknowledged.size).toBeGreaterThan(ackedAfterRestart);
    const stored = await db.query<{ id: string }>('SELECT id::text AS id FROM tips');
    expect(stored.length).toBe(acknowledged.size);
    expect(new Set(stored.map((r) => r.id))).toEqual(new Set(acknowledged.values()));
    expect(await auditLedger(db)).toEqual([]);
    const sums = await db.query<{ held: string }>(
      `SELECT sum(balance)::text AS held FROM ledger_accounts WHERE kind IN ('wallet', 'earnings', 'platform_fee')`,
    );
    expect(Number(sums[0]!.held)).toBe(FUNDS * viewers.length);
    expect(new Set(sink.byTip.keys())).toEqual(new Set(acknowledged.values()));
    expect(sink.raw).toBeGreaterThanOrEqual(acknowledged.size);
    console.log(
      `restart test: ${acknowledged.size} tips (${ackedBeforeRestart} before the restart, ${ackedAfterRestart} when it was back), ${ledger.stats().retries} batch retries, ${retries} client retries, ${sink.raw - sink.byTip.size} duplicate publications absorbed by dedup`,
    );
  }, 120_000);
});
