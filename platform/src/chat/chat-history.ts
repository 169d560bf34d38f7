// Recent chat history in PostgreSQL (or embedded PGlite): what GET /api/streams/{id}/chat and late
// joiners read. The accepting node appends messages in batches (one INSERT per flush, not per
// message) so a chat flood costs a few statements a second. Never stores a message twice. Keeps
// `retentionMs` of history (default 7 days): older rows are pruned every 10 minutes, except those of a
// recorded broadcast (its chat replay needs them while the broadcast is kept).
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';

export interface StoredChatMessage {
  id: string;
  streamId: string;
  userId: string;
  username: string;
  text: string;
  sentAtMs: number;
}

export const MAX_HISTORY_PAGE = 100;
const FLUSH_INTERVAL_MS = 200;
const MAX_PENDING = 20_000;
export const DEFAULT_CHAT_RETENTION_MS = 7 * 24 * 3600 * 1000;
const PRUNE_INTERVAL_MS = 10 * 60 * 1000;

interface Row {
  id: string;
  user_id: string;
  username: string;
  body: string;
  sent_at_ms: string | number;
  stream_id: string;
}

export class ChatHistory {
  private pending: StoredChatMessage[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private pruner: NodeJS.Timeout;
  /** Messages not stored because the write queue was full. */
  dropped = 0;

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    private readonly retentionMs = DEFAULT_CHAT_RETENTION_MS,
  ) {
    this.pruner = setInterval(
      () => void this.prune().catch((err) => this.log.warn({ err }, 'chat history prune failed')),
      PRUNE_INTERVAL_MS,
    );
    this.pruner.unref();
  }

  /**
   * Deletes messages older than the retention; returns how many. Messages sent during a recorded
   * broadcast stay as long as the broadcast does: its chat replay reads them.
   */
  async prune(nowMs = Date.now()): Promise<number> {
    const rows = await this.db.query(
      `DELETE FROM chat_messages m WHERE m.sent_at_ms < $1
         AND NOT EXISTS (SELECT 1 FROM broadcasts b WHERE b.stream_id = m.stream_id AND b.state <> 'deleted'
           AND m.sent_at_ms >= b.started_at_ms AND m.sent_at_ms <= coalesce(b.ended_at_ms, b.heartbeat_at_ms))
       RETURNING m.id`,
      [nowMs - this.retentionMs],
    );
    return rows.length;
  }

  append(message: StoredChatMessage): void {
    if (this.pending.length >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.pending.push(message);
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  /** Writes what is pending; resolves when it is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(() => (batch.length ? this.write(batch) : undefined));
    return this.flushing;
  }

  private async write(batch: StoredChatMessage[]): Promise<void> {
    const params: unknown[] = [];
    const rows = batch.map((m) => {
      const base = params.push(m.id, m.streamId, m.userId, m.username, m.text, m.sentAtMs) - 6;
      return `($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6})`;
    });
    try {
      await this.db.query(
        `INSERT INTO chat_messages (id, stream_id, user_id, username, body, sent_at_ms) VALUES ${rows.join(', ')} ON CONFLICT (id) DO NOTHING`,
        params,
      );
    } catch (err) {
      this.log.error({ err, messages: batch.length }, 'chat history write failed');
    }
  }

  /** Newest `limit` visible messages sent before `beforeMs` (default now), returned oldest first. */
  async recent(streamId: string, options: { beforeMs?: number; limit?: number } = {}): Promise<StoredChatMessage[]> {
    const limit = Math.min(MAX_HISTORY_PAGE, Math.max(1, Math.floor(options.limit ?? 50)));
    const before = options.beforeMs ?? Number.MAX_SAFE_INTEGER;
    const rows = await this.db.query<Row>(
      `SELECT id, stream_id, user_id, username, body, sent_at_ms FROM chat_messages
       WHERE stream_id = $1 AND NOT deleted AND sent_at_ms < $2
       ORDER BY sent_at_ms DESC, id DESC LIMIT $3`,
      [streamId, before, limit],
    );
    return rows.reverse().map((r) => ({
      id: r.id,
      streamId: r.stream_id,
      userId: r.user_id,
      username: r.username,
      text: r.body,
      sentAtMs: Number(r.sent_at_ms),
    }));
  }

  /** Hides a message; false when the stream has no such message. */
  async markDeleted(streamId: string, messageId: string): Promise<boolean> {
    await this.flush();
    const rows = await this.db.query('UPDATE chat_messages SET deleted = true WHERE stream_id = $1 AND id = $2 RETURNING id', [
      streamId,
      messageId,
    ]);
    return rows.length > 0;
  }

  async close(): Promise<void> {
    clearInterval(this.pruner);
    await this.flush();
  }
}
