// What a past broadcast's chat panel replays: chat messages, tip alerts and reaction bursts, each
// with its offset from the broadcast's start, read for a time range so that a player that seeks asks
// for the range it lands in. Deleted messages and the messages of users banned from the stream (for
// good, not timed out) are left out. ReactionLog keeps the reaction counts of a broadcast being
// recorded (reactions themselves are never stored); chat and tips come from their own tables.
// Never writes chat or tips, never serves HTTP.
import type { Bus, BusSubscription } from '../bus/bus.js';
import { streamTopics } from '../bus/topics.js';
import type { Database } from '../db/database.js';
import { badRequest } from '../errors.js';
import type { Logger } from '../log.js';
import type { BroadcastRecord } from './broadcasts.js';

export const MAX_REPLAY_RANGE_MS = 10 * 60_000;
/** Events of one kind returned per call at most; a busier range is continued from `nextFromMs`. */
export const MAX_REPLAY_EVENTS = 1000;

export type ReplayEvent =
  | { type: 'chat'; offsetMs: number; id: string; userId: string; username: string; text: string }
  | { type: 'tip'; offsetMs: number; id: string; fromUsername: string; amount: number; currency: string; message: string }
  | { type: 'reactions'; offsetMs: number; counts: Record<string, number> };

export class BroadcastReplay {
  constructor(private readonly db: Database) {}

  /** Events with fromMs <= offsetMs < toMs (offsets from the broadcast's start), oldest first. */
  async events(b: BroadcastRecord, fromMs: number, toMs: number): Promise<{ items: ReplayEvent[]; nextFromMs: number | null }> {
    if (!(fromMs >= 0 && toMs > fromMs && toMs - fromMs <= MAX_REPLAY_RANGE_MS))
      throw badRequest('invalid_replay_range', `0 <= fromMs < toMs and toMs - fromMs <= ${MAX_REPLAY_RANGE_MS}`);
    const from = b.startedAtMs + fromMs;
    const to = b.startedAtMs + toMs;
    const [chat, tips, reactions] = await Promise.all([
      this.db.query<{ id: string; user_id: string; username: string; body: string; sent_at_ms: string | number }>(
        `SELECT m.id, m.user_id, m.username, m.body, m.sent_at_ms FROM chat_messages m
         WHERE m.stream_id = $1 AND m.sent_at_ms >= $2 AND m.sent_at_ms < $3 AND NOT m.deleted
           AND NOT EXISTS (SELECT 1 FROM chat_bans x WHERE x.stream_id = m.stream_id AND x.user_id = m.user_id AND x.until_ms IS NULL)
         ORDER BY m.sent_at_ms, m.id LIMIT $4`,
        [b.streamId, from, to, MAX_REPLAY_EVENTS],
      ),
      this.db.query<{
        id: string;
        from_username: string;
        amount: string | number;
        currency: string;
        message: string;
        at_ms: string | number;
      }>(
        `SELECT t.id, t.from_username, t.amount, t.currency, t.message, (extract(epoch FROM t.created_at) * 1000)::bigint AS at_ms
         FROM tips t WHERE t.stream_id = $1 AND t.created_at >= to_timestamp($2::bigint / 1000.0) AND t.created_at < to_timestamp($3::bigint / 1000.0)
         ORDER BY t.created_at, t.id LIMIT $4`,
        [b.streamId, from, to, MAX_REPLAY_EVENTS],
      ),
      this.db.query<{ at_ms: string | number; emoji: string; count: number }>(
        `SELECT at_ms, emoji, count FROM broadcast_reactions WHERE broadcast_id = $1 AND at_ms >= $2 AND at_ms < $3
         ORDER BY at_ms LIMIT $4`,
        [b.id, from, to, MAX_REPLAY_EVENTS],
      ),
    ]);
    const items: ReplayEvent[] = [];
    for (const m of chat)
      items.push({
        type: 'chat',
        offsetMs: Number(m.sent_at_ms) - b.startedAtMs,
        id: m.id,
        userId: m.user_id,
        username: m.username,
        text: m.body,
      });
    for (const t of tips)
      items.push({
        type: 'tip',
        offsetMs: Number(t.at_ms) - b.startedAtMs,
        id: t.id,
        fromUsername: t.from_username,
        amount: Number(t.amount),
        currency: t.currency,
        message: t.message,
      });
    const bursts = new Map<number, Record<string, number>>();
    for (const r of reactions) {
      const at = Number(r.at_ms) - b.startedAtMs;
      const counts = bursts.get(at) ?? {};
      counts[r.emoji] = (counts[r.emoji] ?? 0) + r.count;
      bursts.set(at, counts);
    }
    for (const [offsetMs, counts] of bursts) items.push({ type: 'reactions', offsetMs: Math.max(0, offsetMs), counts });
    items.sort((x, y) => x.offsetMs - y.offsetMs);
    // A kind that filled its page cuts the range where it stopped: the caller continues from there.
    const full = [chat, tips, reactions].filter((rows) => rows.length === MAX_REPLAY_EVENTS);
    if (!full.length) return { items, nextFromMs: null };
    const cut = Math.min(
      ...full.map((rows) => {
        const last = rows[rows.length - 1] as { sent_at_ms?: string | number; at_ms?: string | number };
        return Number(last.sent_at_ms ?? last.at_ms) - b.startedAtMs;
      }),
    );
    return { items: items.filter((e) => e.offsetMs < cut), nextFromMs: cut };
  }
}

/** Keeps the reaction counts of broadcasts being recorded on this node, per second, in broadcast_reactions. */
export class ReactionLog {
  private readonly followed = new Map<string, { sub: BusSubscription; buckets: Map<number, Map<string, number>> }>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
    private readonly log: Logger,
    flushIntervalMs = 2000,
  ) {
    this.timer = setInterval(() => void this.flush(), flushIntervalMs);
    this.timer.unref();
  }

  follow(streamId: string, broadcastId: string): void {
    if (this.followed.has(broadcastId)) return;
    const buckets = new Map<number, Map<string, number>>();
    const sub = streamTopics.reactions.subscribe(
      this.bus,
      streamId,
      (partial) => {
        const at = Math.floor(Date.now() / 1000) * 1000;
        const bucket = buckets.get(at) ?? new Map<string, number>();
        for (const [emoji, n] of Object.entries(partial.counts)) bucket.set(emoji, (bucket.get(emoji) ?? 0) + n);
        buckets.set(at, bucket);
      },
      { log: this.log },
    );
    this.followed.set(broadcastId, { sub, buckets });
  }

  /** Stops following a broadcast (its recording ended); what was counted is written first. */
  async unfollow(broadcastId: string): Promise<void> {
    const f = this.followed.get(broadcastId);
    if (!f) return;
    f.sub.unsubscribe();
    await this.flush();
    this.followed.delete(broadcastId);
  }

  flush(): Promise<void> {
    const rows: [string, number, string, number][] = [];
    for (const [id, f] of this.followed) {
      for (const [at, bucket] of f.buckets) for (const [emoji, n] of bucket) rows.push([id, at, emoji, n]);
      f.buckets.clear();
    }
    if (!rows.length) return this.flushing;
    this.flushing = this.flushing.then(async () => {
      const params: unknown[] = [];
      const values = rows.map((r) => {
        const i = params.push(...r) - 4;
        return `($${i + 1}, $${i + 2}, $${i + 3}, $${i + 4})`;
      });
      await this.db
        .query(
          `INSERT INTO broadcast_reactions (broadcast_id, at_ms, emoji, count) VALUES ${values.join(', ')}
           ON CONFLICT (broadcast_id, at_ms, emoji) DO UPDATE SET count = broadcast_reactions.count + EXCLUDED.count`,
          params,
        )
        .catch((err: unknown) => this.log.warn({ err, rows: rows.length }, 'reaction counts of a recording not saved'));
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const f of this.followed.values()) f.sub.unsubscribe();
    await this.flush();
    this.followed.clear();
  }
}
