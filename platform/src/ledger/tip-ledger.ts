// Tips: the rules (amount limits, currency, message, no tipping yourself, the stream must exist; a tip
// to an offline stream is accepted), the platform fee, Idempotency-Keys, and the route from a tip
// to the TipWriter that owns its streamer (group commit without contention between writers).
// Never moves money itself (TipWriter/commitTipBatch do, under locks) and never answers a tip as
// done before it is committed.
import { createHash, randomUUID } from 'node:crypto';
import type { AuthUser } from '../accounts/tokens.js';
import type { Database } from '../db/database.js';
import { isRetryable } from '../db/failures.js';
import { AppError, badRequest, conflict, forbidden, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import { tipsReceivedBy, type DraftOutcome, type StoredTip, type TipDraft, type TipParties } from './tip-batch.js';
import { TipWriter, type TipWriterOptions } from './tip-writer.js';
import { Wallets } from './wallets.js';

export interface TipRules {
  currency: string;
  minAmount: number;
  maxAmount: number;
  /** Platform fee in basis points of the amount (0..10000), rounded down. */
  feeBps: number;
  maxMessageChars: number;
}

export interface TipLedgerOptions extends TipRules, TipWriterOptions {
  /** Writers committing in parallel; each owns the streamers hashed to it. */
  writers: number;
}

/**
 * What a tip must pass besides the money rules, from the stream's chat moderation (ChatModeration
 * provides it): a tip's message reaches every viewer and the on-screen alert, so it is speech, and a
 * user banned or timed out from the chat may not say it, nor pay to be seen.
 */
export interface TipSpeechRules {
  /** End of a ban or timeout in ms (Infinity when permanent), or null. */
  bannedUntil(streamId: string, userId: string): Promise<number | null>;
  /** Profanity or one of the stream's blocked terms, after the same normalisation as chat. */
  isBlockedText(streamId: string, text: string): Promise<boolean>;
}

export const DEFAULT_TIP_OPTIONS: TipLedgerOptions = {
  currency: 'USD',
  minAmount: 100,
  maxAmount: 1_000_000,
  feeBps: 0,
  maxMessageChars: 280,
  writers: 4,
  maxBatch: 256,
  lingerMs: 2,
  retryForMs: 15_000,
};

export interface TipRequest {
  streamId: string;
  amount: unknown;
  currency?: unknown;
  message?: unknown;
  idempotencyKey: string | undefined;
}

export interface Tip extends TipParties {
  currency: string;
  message: string | null;
  createdAt: string;
}

export interface TipResult {
  tip: Tip;
  /** True when the Idempotency-Key had already produced this tip. */
  replayed: boolean;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const STREAM_CACHE_MAX = 100_000;

export class TipLedger {
  readonly wallets: Wallets;
  private readonly writers: TipWriter[] = [];
  private readonly inFlight = new Map<string, { hash: string; result: Promise<TipResult> }>();
  private readonly streamOwners = new Map<string, string>();

  private constructor(
    private readonly db: Database,
    readonly rules: TipLedgerOptions,
    private readonly speech: TipSpeechRules | undefined,
  ) {
    this.wallets = new Wallets(db, rules.currency);
  }

  /** `speech`: the chat's rules for tippers and tip messages; a node always passes them (ledger-only tests may not). */
  static async open(db: Database, log: Logger, options: Partial<TipLedgerOptions> = {}, speech?: TipSpeechRules): Promise<TipLedger> {
    const rules = { ...DEFAULT_TIP_OPTIONS, ...options };
    if (!Number.isInteger(rules.feeBps) || rules.feeBps < 0 || rules.feeBps > 10_000) throw new Error('feeBps is 0..10000');
    if (rules.minAmount < 1 || rules.maxAmount < rules.minAmount || !Number.isSafeInteger(rules.maxAmount))
      throw new Error('bad tip amount limits');
    const ledger = new TipLedger(db, rules, speech);
    const writers = Math.max(1, Math.min(rules.writers, db.capabilities.maxConcurrentConnections));
    for (let shard = 0; shard < writers; shard++) {
      const feeAccount = await ledger.wallets.systemAccount('platform_fee', shard);
      ledger.writers.push(new TipWriter(db, feeAccount, rules.currency, rules, log));
    }
    return ledger;
  }

  /** Called after each batch that committed tips (wire the outbox relay's wake-up here). */
  set onCommitted(fn: (() => void) | undefined) {
    for (const w of this.writers) w.onCommitted = fn;
  }

  /**
   * Tips a stream's owner from the user's wallet. The same Idempotency-Key with the same request
   * answers the same tip; with a different request, 409 `idempotency_key_reused`.
   */
  async tip(user: AuthUser, request: TipRequest): Promise<TipResult> {
    const key = request.idempotencyKey;
    if (key === undefined || key === '')
      throw badRequest('missing_idempotency_key', 'send an Idempotency-Key header (a fresh random value per tip)');
    if (!IDEMPOTENCY_KEY.test(key))
      throw badRequest('invalid_idempotency_key', 'the Idempotency-Key is 1 to 255 printable ASCII characters');
    const amount = this.parseAmount(request.amount);
    const currency = this.parseCurrency(request.currency);
    const message = this.parseMessage(request.message);
    const requestHash = createHash('sha256')
      .update(JSON.stringify([request.streamId, amount, currency, message]))
      .digest('base64url');

    // The same key already on its way (a double click): share its answer, or wait for it and then
    // judge this one against what it committed.
    const flightKey = `${user.id}\u0000${key}`;
    const flying = this.inFlight.get(flightKey);
    if (flying) {
      if (flying.hash === requestHash) return flying.result;
      await flying.result.catch(() => {});
      return this.tip(user, request);
    }
    const result = this.submit(user, request.streamId, { amount, message, key, requestHash });
    this.inFlight.set(flightKey, { hash: requestHash, result });
    try {
      return await result;
    } finally {
      this.inFlight.delete(flightKey);
    }
  }

  /** Tips a streamer received, newest first. */
  async received(userId: string, limit = 50, before?: { createdAt: Date; id: string }): Promise<Tip[]> {
    return (await tipsReceivedBy(this.db, userId, Math.min(Math.max(limit, 1), 200), before)).map(toTip);
  }

  /** Batches and tips committed by this process's writers so far. */
  stats(): { batches: number; tips: number; retries: number } {
    return this.writers.reduce(
      (a, w) => ({ batches: a.batches + w.stats.batches, tips: a.tips + w.stats.tips, retries: a.retries + w.stats.retries }),
      { batches: 0, tips: 0, retries: 0 },
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.close()));
  }

  private async submit(
    user: AuthUser,
    streamId: string,
    t: { amount: number; message: string; key: string; requestHash: string },
  ): Promise<TipResult> {
    // Replays of a known key are answered by the batch itself (from the tips table, under its locks).
    const ownerId = await whileAvailable(() => this.streamOwner(streamId));
    if (!ownerId) throw notFound('stream_not_found', 'no such stream');
    if (ownerId === user.id) throw badRequest('cannot_tip_yourself', 'you cannot tip your own stream');
    if (this.speech) await this.checkSpeech(this.speech, user, streamId, t.message);
    const [walletAccountId, earningsAccountId] = await whileAvailable(() =>
      Promise.all([this.wallets.userAccount('wallet', user.id), this.wallets.userAccount('earnings', ownerId)]),
    );
    const draft: TipDraft = {
      id: randomUUID(),
      streamId,
      fromUserId: user.id,
      fromUsername: user.username,
      toUserId: ownerId,
      amount: t.amount,
      fee: Math.floor((t.amount * this.rules.feeBps) / 10_000),
      message: t.message,
      idempotencyKey: t.key,
      requestHash: t.requestHash,
      walletAccountId,
      earningsAccountId,
    };
    const outcome: DraftOutcome = await this.writerFor(ownerId).submit(draft);
    if (outcome.kind === 'insufficient_funds') {
      throw new AppError(402, 'insufficient_funds', 'your wallet balance does not cover this tip; top up first');
    }
    if (outcome.kind === 'replayed') return this.replay(outcome.tip, t.requestHash);
    return { tip: toTip(outcome.tip), replayed: false };
  }

  private replay(stored: StoredTip, requestHash: string): TipResult {
    if (stored.requestHash !== requestHash) {
      throw conflict('idempotency_key_reused', 'this Idempotency-Key was used for a different tip; use a fresh key per tip');
    }
    return { tip: toTip(stored), replayed: true };
  }

  private writerFor(streamerId: string): TipWriter {
    if (this.writers.length === 1) return this.writers[0]!;
    const h = createHash('sha1').update(streamerId).digest().readUInt32BE(0);
    return this.writers[h % this.writers.length]!;
  }

  private async streamOwner(streamId: string): Promise<string | null> {
    if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > 64) return null;
    const cached = this.streamOwners.get(streamId);
    if (cached) return cached;
    const rows = await this.db.query<{ owner_id: string }>('SELECT owner_id::text AS owner_id FROM streams WHERE id = $1', [streamId]);
    const owner = rows[0]?.owner_id ?? null;
    if (owner) {
      if (this.streamOwners.size >= STREAM_CACHE_MAX) this.streamOwners.clear();
      this.streamOwners.set(streamId, owner); // a stream's owner never changes
    }
    return owner;
  }

  private parseAmount(value: unknown): number {
    if (value === undefined || value === null) throw badRequest('invalid_amount', 'amount is required: an integer in minor units (cents)');
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw badRequest('invalid_amount', 'amount must be a JSON number in minor units (cents)');
    if (!Number.isInteger(value))
      throw badRequest('invalid_amount', 'amount must be a whole number of minor units (cents), not a fraction');
    if (value <= 0) throw badRequest('invalid_amount', 'amount must be positive');
    if (value < this.rules.minAmount) throw badRequest('amount_too_small', `the smallest tip is ${this.rules.minAmount} (minor units)`);
    if (value > this.rules.maxAmount) throw badRequest('amount_too_large', `the largest tip is ${this.rules.maxAmount} (minor units)`);
    return value;
  }

  private parseCurrency(value: unknown): string {
    if (value === undefined || value === null) return this.rules.currency;
    if (typeof value !== 'string' || value.toUpperCase() !== this.rules.currency) {
      throw badRequest('unsupported_currency', `tips are in ${this.rules.currency}`);
    }
    return this.rules.currency;
  }

  /** Refuses before any money moves: 403 `banned` for a banned or timed-out tipper, 400 `blocked_term`. */
  private async checkSpeech(speech: TipSpeechRules, user: AuthUser, streamId: string, message: string): Promise<void> {
    const until = await whileAvailable(() => speech.bannedUntil(streamId, user.id));
    if (until === Infinity) throw forbidden('banned', "you are banned from this stream's chat and cannot tip it");
    if (until !== null) {
      const retryAfter = String(Math.max(1, Math.ceil((until - Date.now()) / 1000)));
      throw new AppError(403, 'banned', "you are timed out from this stream's chat and cannot tip it until the timeout ends", {
        'retry-after': retryAfter,
      });
    }
    if (message !== '' && (await whileAvailable(() => speech.isBlockedText(streamId, message)))) {
      throw badRequest('blocked_term', 'the tip message contains a blocked word');
    }
  }

  private parseMessage(value: unknown): string {
    if (value === undefined || value === null) return '';
    if (typeof value !== 'string') throw badRequest('invalid_message', 'message must be a string');
    const text = value.trim();
    if ([...text].length > this.rules.maxMessageChars)
      throw badRequest('invalid_message', `message is at most ${this.rules.maxMessageChars} characters`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) throw badRequest('invalid_message', 'message must not contain control characters');
    return text;
  }
}

/** Runs a ledger read; a lost database connection becomes 503 `ledger_unavailable` (safe to retry). */
export async function whileAvailable<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isRetryable(err))
      throw new AppError(503, 'ledger_unavailable', 'the ledger is unavailable; retry (with the same Idempotency-Key for a tip)');
    throw err;
  }
}

export function toTip(s: StoredTip): Tip {
  return {
    id: s.id,
    streamId: s.streamId,
    fromUserId: s.fromUserId,
    fromUsername: s.fromUsername,
    toUserId: s.toUserId,
    amount: s.amount,
    fee: s.fee,
    currency: s.currency,
    message: s.message === '' ? null : s.message,
    createdAt: s.createdAt.toISOString(),
  };
}
