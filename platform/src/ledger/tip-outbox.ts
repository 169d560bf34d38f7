// The tip outbox relay: publishes every committed tip as a TipEvent on its stream's channel. Tips
// reach tip_outbox in the same transaction that moves the money, so a tip whose process dies right
// after commit is still published, by whichever relay runs next. The relay claims rows for a lease
// (FOR UPDATE SKIP LOCKED, so several nodes may relay), publishes them in commit order, then deletes
// them; a claim whose relay died expires and the rows are published again. Delivery to the sink is
// at-least-once (a crash between publish and delete repeats a tip); the event carries the tip id so
// a deduplicating sink (JetStream's Nats-Msg-Id) makes it exactly once. Never publishes a tip that has not committed.
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import { minorUnits } from './wallets.js';

/** The real-time channel's TipEvent (proto: TipEvent {tipId, fromUsername, amount, currency, message}). */
export interface TipEvent {
  tipId: string;
  fromUsername: string;
  amount: number;
  currency: string;
  message: string;
}

/** Where TipEvents go: the stream's real-time channel. Must be idempotent by tipId to be exactly-once. */
export interface TipEventSink {
  publish(streamId: string, event: TipEvent): Promise<void>;
  /** Resolves once everything published so far is delivered (called before the rows are deleted). */
  flush?(): Promise<void>;
}

export interface TipOutboxOptions {
  /** Rows claimed per transaction. */
  batch: number;
  /** How often the outbox is checked without a wake-up (tips committed by other nodes or before a crash). */
  pollMs: number;
}

/** How long a claimed outbox row stays with its relay before another may publish it. */
const LEASE_SECONDS = 10;

interface OutboxRow {
  seq: string;
  stream_id: string;
  tip_id: string;
  from_username: string;
  amount: string;
  currency: string;
  message: string;
}

export class TipOutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private failures = 0;
  /** TipEvents handed to the sink so far (metrics). */
  readonly stats = { published: 0 };
  /** Published rows whose DELETE failed (the database went away): deleted first on the next drain. */
  private published: string[] = [];

  constructor(
    private readonly db: Database,
    private readonly sink: TipEventSink,
    private readonly log: Logger,
    private readonly options: TipOutboxOptions = { batch: 500, pollMs: 1000 },
  ) {}

  start(): void {
    this.wake();
  }

  /** Drains the outbox now (called after a batch of tips commits). */
  wake(): void {
    if (this.closed) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.closed) return;
      if (this.again) {
        this.again = false;
        this.wake();
      } else {
        const backoff = this.failures > 0 ? Math.min(this.options.pollMs, 50 * 2 ** this.failures) : this.options.pollMs;
        this.timer = setTimeout(() => this.wake(), backoff);
      }
    });
  }

  /** Waits until the outbox is empty (tests, shutdown); gives up after timeoutMs. */
  async flush(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      await this.draining;
      if ((await this.pending()) === 0) return;
      if (Date.now() > until) throw new Error('tip outbox did not drain in time');
      this.wake();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Tips committed but not yet published, across all nodes. */
  async pending(): Promise<number> {
    const rows = await this.db.query<{ n: string }>('SELECT count(*)::text AS n FROM tip_outbox');
    return Number(rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      if (this.published.length > 0) {
        await this.db.query('DELETE FROM tip_outbox WHERE seq = ANY($1::bigint[])', [this.published]);
        this.published = [];
      }
      while (!this.closed) {
        // Claim (a lease, so a relay that dies mid-way only delays its rows), publish, then delete.
        // Each step is one statement: no transaction is held open while publishing.
        const rows = await this.db.query<OutboxRow>(
          `WITH claimed AS (
             UPDATE tip_outbox SET claimed_until = now() + make_interval(secs => $2)
             WHERE seq IN (SELECT seq FROM tip_outbox WHERE claimed_until IS NULL OR claimed_until < now()
                           ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
             RETURNING seq, tip_id, stream_id)
           SELECT c.seq::text AS seq, c.stream_id, t.id::text AS tip_id, t.from_username, t.amount::text AS amount, t.currency, t.message
           FROM claimed c JOIN tips t ON t.id = c.tip_id
           ORDER BY c.seq`,
          [this.options.batch, LEASE_SECONDS],
        );
        const seqs = rows.map((r) => r.seq);
        try {
          for (const r of rows) {
            await this.sink.publish(r.stream_id, {
              tipId: r.tip_id,
              fromUsername: r.from_username,
              amount: minorUnits(r.amount),
              currency: r.currency,
              message: r.message,
            });
            this.stats.published++;
          }
          if (rows.length > 0) await this.sink.flush?.();
        } catch (err) {
          // Give the claim back so the next attempt (here or on another node) need not wait out the lease.
          await this.db.query('UPDATE tip_outbox SET claimed_until = NULL WHERE seq = ANY($1::bigint[])', [seqs]).catch(() => {});
          throw err;
        }
        if (rows.length > 0) {
          this.published = seqs;
          await this.db.query('DELETE FROM tip_outbox WHERE seq = ANY($1::bigint[])', [seqs]);
          this.published = [];
        }
        this.failures = 0;
        if (rows.length < this.options.batch) return;
      }
    } catch (err) {
      this.failures = Math.min(this.failures + 1, 10);
      this.log.warn({ err: String(err) }, 'tip outbox relay failed; will retry');
    }
  }
}

/** A sink that keeps what it was given (tests, and the embedded mode before a channel exists). */
export class RecordingTipSink implements TipEventSink {
  readonly events: { streamId: string; event: TipEvent }[] = [];
  async publish(streamId: string, event: TipEvent): Promise<void> {
    this.events.push({ streamId, event });
  }
}
