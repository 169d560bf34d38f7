import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AppError,
  auditLedger,
  commitTipBatch,
  createLogger,
  whileAvailable,
  RecordingTipSink,
  TipLedger,
  TipOutboxRelay,
  type AuthUser,
  type Database,
  type TipLedgerOptions,
} from '@onair/platform';
import { STORAGE_KINDS, useTestDatabase } from '../../test/support/databases.js';
import { appError } from '../../test/support/app-error.js';

const log = createLogger('silent');

async function newUser(db: Database): Promise<AuthUser> {
  const username = `u_${randomBytes(5).toString('hex')}`;
  const rows = await db.query<{ id: string }>(
    `INSERT INTO users (username, username_key, password_hash) VALUES ($1, $1, 'x') RETURNING id::text AS id`,
    [username],
  );
  return { id: rows[0]!.id, username, role: 'user' };
}

async function newStream(db: Database, owner: AuthUser): Promise<string> {
  const id = randomBytes(6).toString('hex');
  await db.query(`INSERT INTO streams (id, owner_id, title, stream_key_hash) VALUES ($1, $2, 'tips', 'h')`, [id, owner.id]);
  return id;
}

async function fund(ledger: TipLedger, db: Database, user: AuthUser, amount: number): Promise<void> {
  const wallet = await ledger.wallets.userAccount('wallet', user.id);
  const faucet = await ledger.wallets.systemAccount('dev_faucet');
  await db.transaction((tx) =>
    ledger.wallets.post(tx, { kind: 'dev_credit', debitAccountId: faucet, creditAccountId: wallet, amount, currency: 'USD' }),
  );
}

describe('ledger availability', () => {
  it('a lost database connection is a retryable 503, other failures pass through', async () => {
    const lost = Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' });
    await expect(whileAvailable(() => Promise.reject(lost))).rejects.toMatchObject({ status: 503, code: 'ledger_unavailable' });
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    await expect(whileAvailable(() => Promise.reject(shutdown))).rejects.toMatchObject({ status: 503 });
    const bug = new TypeError('oops');
    await expect(whileAvailable(() => Promise.reject(bug))).rejects.toBe(bug);
  });
});

describe.each(STORAGE_KINDS)('tip ledger on %s storage', (kind) => {
  const t = useTestDatabase(kind);
  const open = (options: Partial<TipLedgerOptions> = {}) => TipLedger.open(t.db, log, { minAmount: 1, ...options });

  it('a tip moves money from the wallet to the streamer, minus the platform fee, and the books balance', async () => {
    const ledger = await open({ feeBps: 1000 });
    const [viewer, streamer] = [await newUser(t.db), await newUser(t.db)];
    const streamId = await newStream(t.db, streamer);
    await fund(ledger, t.db, viewer, 1000);

    const { tip, replayed } = await ledger.tip(viewer, { streamId, amount: 250, message: ' gg ', idempotencyKey: 'k1' });
    expect(replayed).toBe(false);
    expect(tip).toMatchObject({
      streamId,
      fromUserId: viewer.id,
      fromUsername: viewer.username,
      toUserId: streamer.id,
      amount: 250,
      fee: 25,
      currency: 'USD',
      message: 'gg',
    });
    expect(await ledger.wallets.balance(viewer.id)).toBe(750);
    expect(await ledger.wallets.balance(streamer.id, 'earnings')).toBe(225);
    expect(await ledger.received(streamer.id)).toEqual([tip]);
    expect(await auditLedger(t.db)).toEqual([]);
    await ledger.close();
  });

  it('the same key and body answers the same tip; a different body is refused with 409', async () => {
    const ledger = await open();
    const [viewer, streamer] = [await newUser(t.db), await newUser(t.db)];
    const streamId = await newStream(t.db, streamer);
    await fund(ledger, t.db, viewer, 1000);
    const first = await ledger.tip(viewer, { streamId, amount: 100, idempotencyKey: 'same' });
    const again = await ledger.tip(viewer, { streamId, amount: 100, idempotencyKey: 'same' });
    expect(again).toEqual({ tip: first.tip, replayed: true });
    const err = await appError(ledger.tip(viewer, { streamId, amount: 101, idempotencyKey: 'same' }));
    expect([err.status, err.code]).toEqual([409, 'idempotency_key_reused']);
    expect(await ledger.wallets.balance(viewer.id)).toBe(900);
    await ledger.close();
  });

  it('refuses bad input, unknown streams, self-tips and tips the wallet cannot cover', async () => {
    const ledger = await open({ minAmount: 50, maxAmount: 10_000 });
    const [viewer, streamer] = [await newUser(t.db), await newUser(t.db)];
    const streamId = await newStream(t.db, streamer);
    await fund(ledger, t.db, viewer, 100);
    const cases: [unknown, string][] = [
      [-5, 'invalid_amount'],
      [0, 'invalid_amount'],
      [1.5, 'invalid_amount'],
      ['100', 'invalid_amount'],
      [null, 'invalid_amount'],
      [Number.NaN, 'invalid_amount'],
      [1e300, 'amount_too_large'],
      [10_001, 'amount_too_large'],
      [49, 'amount_too_small'],
    ];
    for (const [amount, code] of cases) {
      const err = await appError(ledger.tip(viewer, { streamId, amount, idempotencyKey: randomUUID() }));
      expect([err.status, err.code], String(amount)).toEqual([400, code]);
    }
    const cur = await appError(ledger.tip(viewer, { streamId, amount: 60, currency: 'XYZ', idempotencyKey: 'c' }));
    expect([cur.status, cur.code]).toEqual([400, 'unsupported_currency']);
    expect((await appError(ledger.tip(viewer, { streamId, amount: 60, idempotencyKey: undefined }))).code).toBe('missing_idempotency_key');
    expect((await appError(ledger.tip(viewer, { streamId, amount: 60, idempotencyKey: 'bad key' }))).code).toBe('invalid_idempotency_key');
    expect((await appError(ledger.tip(viewer, { streamId, amount: 60, message: 'x'.repeat(281), idempotencyKey: 'm' }))).code).toBe(
      'invalid_message',
    );
    const unknown = await appError(ledger.tip(viewer, { streamId: 'nope', amount: 60, idempotencyKey: 'u' }));
    expect([unknown.status, unknown.code]).toEqual([404, 'stream_not_found']);
    const self = await appError(ledger.tip(streamer, { streamId, amount: 60, idempotencyKey: 's' }));
    expect([self.status, self.code]).toEqual([400, 'cannot_tip_yourself']);
    const poor = await appError(ledger.tip(viewer, { streamId, amount: 101, idempotencyKey: 'p' }));
    expect([poor.status, poor.code]).toEqual([402, 'insufficient_funds']);
    expect(await ledger.wallets.balance(viewer.id)).toBe(100);
    expect(await auditLedger(t.db)).toEqual([]);
    await ledger.close();
  });

  it('1,000 concurrent tips from a wallet funded for 100: exactly 100 succeed and the balance ends at 0', async () => {
    const ledger = await open({ maxBatch: 64 });
    const viewer = await newUser(t.db);
    const streamers = [await newUser(t.db), await newUser(t.db), await newUser(t.db)];
    const streams = await Promise.all(streamers.map((s) => newStream(t.db, s)));
    await fund(ledger, t.db, viewer, 100 * 7);
    const results = await Promise.allSettled(
      Array.from({ length: 1000 }, (_, i) => ledger.tip(viewer, { streamId: streams[i % 3]!, amount: 7, idempotencyKey: `t${i}` })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(100);
    expect(refused.every((r) => r.reason instanceof AppError && r.reason.code === 'insufficient_funds')).toBe(true);
    expect(await ledger.wallets.balance(viewer.id)).toBe(0);
    const earned = await Promise.all(streamers.map((s) => ledger.wallets.balance(s.id, 'earnings')));
    expect(earned.reduce((a, b) => a + b, 0)).toBe(700);
    expect(await auditLedger(t.db)).toEqual([]);
    await ledger.close();
  });

  it('the same Idempotency-Key 50 times at once: one tip, 50 identical answers', async () => {
    const ledger = await open();
    const [viewer, streamer] = [await newUser(t.db), await newUser(t.db)];
    const streamId = await newStream(t.db, streamer);
    await fund(ledger, t.db, viewer, 1000);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => ledger.tip(viewer, { streamId, amount: 300, message: 'hi', idempotencyKey: 'once' })),
    );
    expect(new Set(answers.map((a) => JSON.stringify(a.tip))).size).toBe(1);
    expect(await ledger.wallets.balance(viewer.id)).toBe(700);
    const rows = await t.db.query<{ n: string }>('SELECT count(*)::text AS n FROM tips WHERE from_user_id = $1', [viewer.id]);
    expect(rows[0]!.n).toBe('1');
    await ledger.close();
  });

  it('every committed tip is published once through the outbox, in commit order', async () => {
    const ledger = await open();
    const sink = new RecordingTipSink();
    const relay = new TipOutboxRelay(t.db, sink, log, { batch: 7, pollMs: 50 });
    ledger.onCommitted = () => relay.wake();
    relay.start();
    const [viewer, streamer] = [await newUser(t.db), await newUser(t.db)];
    const streamId = await newStream(t.db, streamer);
    await fund(ledger, t.db, viewer, 10_000);
    const tips = [];
    for (let i = 0; i < 20; i++)
      tips.push((await ledger.tip(viewer, { streamId, amount: 10 + i, message: `m${i}`, idempotencyKey: `o${i}` })).tip);
    await relay.flush();
    const mine = sink.events.filter((e) => e.streamId === streamId);
    expect(mine.map((e) => e.event)).toEqual(
      tips.map((tip) => ({ tipId: tip.id, fromUsername: viewer.username, amount: tip.amount, currency: 'USD', message: tip.message })),
    );
    await relay.close();
    await ledger.close();
  });

  it('in one group commit, a wallet that runs dry fails only its own later tips', async () => {
    const ledger = await open();
    const [poor, rich, streamer] = [await newUser(t.db), await newUser(t.db), await newUser(t.db)];
    const streamId = await newStream(t.db, streamer);
    await fund(ledger, t.db, poor, 100);
    await fund(ledger, t.db, rich, 1000);
    const earnings = await ledger.wallets.userAccount('earnings', streamer.id);
    const fee = await ledger.wallets.systemAccount('platform_fee', 0);
    const draft = async (from: AuthUser, amount: number) => ({
      id: randomUUID(),
      streamId,
      fromUserId: from.id,
      fromUsername: from.username,
      toUserId: streamer.id,
      amount,
      fee: 0,
      message: '',
      idempotencyKey: randomUUID(),
      requestHash: 'h',
      walletAccountId: await ledger.wallets.userAccount('wallet', from.id),
      earningsAccountId: earnings,
    });
    const drafts = [await draft(poor, 60), await draft(rich, 500), await draft(poor, 50), await draft(rich, 400), await draft(poor, 30)];
    const outcomes = await commitTipBatch(t.db, drafts, fee, 'USD');
    // per wallet, in arrival order while the running total fits: poor 60 (then 110 > 100: the rest fail), rich 500 + 400
    expect(outcomes.map((o) => o.kind)).toEqual(['committed', 'committed', 'insufficient_funds', 'committed', 'insufficient_funds']);
    expect(await ledger.wallets.balance(poor.id)).toBe(40);
    expect(await ledger.wallets.balance(rich.id)).toBe(100);
    expect(await ledger.wallets.balance(streamer.id, 'earnings')).toBe(960);
    expect(await auditLedger(t.db)).toEqual([]);
    await ledger.close();
  });

  it('transfers are append-only', async () => {
    await expect(t.db.query('DELETE FROM ledger_transfers')).rejects.toThrow(/append-only/);
    await expect(t.db.query('UPDATE tips SET amount = 1')).rejects.toThrow(/append-only/);
  });
});
