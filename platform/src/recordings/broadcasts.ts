// The catalog of past broadcasts: one row per recorded live session (table `broadcasts`), its state,
// and the rules around it — who may delete one, what counts as an abandoned recording, which
// broadcasts retention and the disk budget evict. The media itself is in a RecordingStore under
// `broadcasts/<id>/`; deleting a broadcast hides its row first (players get 410 at once) and then
// removes its media. Never renders playlists and never writes segments (hls-fallback's recorder does).
import { randomBytes } from 'node:crypto';
import type { Database } from '../db/database.js';
import { AppError, conflict, forbidden, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuthUser } from '../accounts/tokens.js';
import type { RecordingStore } from './recording-store.js';

/** What players and the API see: `partial` = the recording stopped early (its node died, the disk filled). */
export type BroadcastStatus = 'recording' | 'complete' | 'partial';

export interface BroadcastRecord {
  id: string;
  streamId: string;
  ownerId: string;
  title: string;
  startedAtMs: number;
  endedAtMs: number | null;
  durationMs: number;
  bytes: number;
  status: BroadcastStatus;
  stopReason: string | null;
}

/**
 * A recording whose node has not written for this long is abandoned (the node was killed): it reads
 * as `partial`. The recorder beats at least every HEARTBEAT_MS while it writes.
 */
export const HEARTBEAT_MS = 5_000;
export const ABANDONED_AFTER_MS = 20_000;
export const MAX_BROADCAST_PAGE = 50;

/** Broadcast and clip ids: 12 base62 characters, like stream ids; anything else is not looked up. */
export const MEDIA_ID = /^[A-Za-z0-9]{12}$/;
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function newMediaId(): string {
  let id = '';
  while (id.length < 12) {
    for (const byte of randomBytes(24)) if (byte < 248 && id.length < 12) id += BASE62[byte % 62];
  }
  return id;
}

/** Where a broadcast's media lives in the RecordingStore. */
export const broadcastPrefix = (id: string) => `broadcasts/${id}`;

interface Row {
  id: string;
  stream_id: string;
  owner_id: string;
  title: string;
  started_at_ms: string | number;
  ended_at_ms: string | number | null;
  duration_ms: string | number;
  bytes: string | number;
  state: string;
  stop_reason: string | null;
  heartbeat_at_ms: string | number;
}

const COLUMNS = `b.id, b.stream_id, s.owner_id, b.title, b.started_at_ms, b.ended_at_ms, b.duration_ms, b.bytes, b.state,
  b.stop_reason, b.heartbeat_at_ms`;
const FROM = 'FROM broadcasts b JOIN streams s ON s.id = b.stream_id';

export interface RetentionPolicy {
  /** Broadcasts that started longer ago than this are deleted (0: kept forever). */
  retentionDays: number;
  /** The store may hold at most this many bytes; the oldest broadcasts go first (0: no budget). */
  budgetBytes: number;
}

export class Broadcasts {
  constructor(
    private readonly db: Database,
    private readonly store: RecordingStore,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new broadcast of `streamId`, in state recording, titled as the stream is now. */
  async begin(streamId: string, startedAtMs: number): Promise<BroadcastRecord> {
    const id = newMediaId();
    const rows = await this.db.query(
      `INSERT INTO broadcasts (id, stream_id, title, started_at_ms, state, heartbeat_at_ms)
       SELECT $1, s.id, s.title, $3, 'recording', $4 FROM streams s WHERE s.id = $2 RETURNING id`,
      [id, streamId, Math.round(startedAtMs), this.now()],
    );
    if (!rows.length) throw notFound('stream_not_found', 'no such stream');
    return (await this.get(id))!;
  }

  /** The recorder is alive and has written this much so far. */
  async progress(id: string, p: { durationMs: number; bytes: number }): Promise<void> {
    await this.db.query(`UPDATE broadcasts SET duration_ms = $2, bytes = $3, heartbeat_at_ms = $4 WHERE id = $1 AND state = 'recording'`, [
      id,
      Math.round(p.durationMs),
      p.bytes,
      this.now(),
    ]);
  }

  /** The recording ended: `complete` with its stream, `partial` when it stopped early (with the reason). */
  async finish(id: string, f: { durationMs: number; bytes: number; stopReason?: string }): Promise<void> {
    await this.db.query(
      `UPDATE broadcasts SET state = $2, ended_at_ms = $3, duration_ms = $4, bytes = $5, stop_reason = $6, heartbeat_at_ms = $3
       WHERE id = $1 AND state = 'recording'`,
      [id, f.stopReason ? 'partial' : 'complete', this.now(), Math.round(f.durationMs), f.bytes, f.stopReason ?? null],
    );
  }

  /** A broadcast that exists and is not deleted; `deleted` tells a deleted one apart from an unknown id. */
  async lookup(id: string): Promise<BroadcastRecord | 'deleted' | null> {
    if (!MEDIA_ID.test(id)) return null;
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} ${FROM} WHERE b.id = $1`, [id]);
    const row = rows[0];
    if (!row) return null;
    return row.state === 'deleted' ? 'deleted' : this.toRecord(row);
  }

  async get(id: string): Promise<BroadcastRecord | null> {
    const b = await this.lookup(id);
    return b === 'deleted' ? null : b;
  }

  /** A stream's broadcasts, newest first; `cursor` is the nextCursor of the previous page. */
  async listForStream(
    streamId: string,
    opts: { limit?: number; cursor?: string } = {},
  ): Promise<{ items: BroadcastRecord[]; nextCursor: string | null }> {
    const limit = Math.min(MAX_BROADCAST_PAGE, Math.max(1, Math.floor(opts.limit ?? 20)));
    const c = decodeCursor(opts.cursor);
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} ${FROM} WHERE b.stream_id = $1 AND b.state <> 'deleted'
         AND ($2::bigint IS NULL OR (b.started_at_ms, b.id) < ($2::bigint, $3::text))
       ORDER BY b.started_at_ms DESC, b.id DESC LIMIT $4`,
      [streamId, c?.at ?? null, c?.id ?? '', limit + 1],
    );
    const items = rows.slice(0, limit).map((r) => this.toRecord(r));
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? `${last.startedAtMs}.${last.id}` : null };
  }

  /** The broadcast of `streamId` being recorded now, if any (for live clips). */
  async current(streamId: string): Promise<BroadcastRecord | null> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} ${FROM} WHERE b.stream_id = $1 AND b.state = 'recording' ORDER BY b.started_at_ms DESC LIMIT 1`,
      [streamId],
    );
    const b = rows[0] ? this.toRecord(rows[0]) : null;
    return b?.status === 'recording' ? b : null;
  }

  /**
   * Deletes a broadcast for `user` (the stream's owner or an admin): hidden at once (its playlists
   * and segments answer 410 from the next request), then its media and clips are removed. Not while
   * it is being recorded (409 broadcast_recording).
   */
  async delete(id: string, user: AuthUser): Promise<void> {
    const b = await this.get(id);
    if (!b) throw notFound('broadcast_not_found', 'no such broadcast');
    if (b.ownerId !== user.id && user.role !== 'admin')
      throw forbidden('not_stream_owner', 'only the stream owner can delete its broadcasts');
    // Its recorder (maybe on another node) is still writing: deleting now would leave it writing into a removed folder.
    if (b.status === 'recording') throw conflict('broadcast_recording', 'the broadcast is still live: end the stream, then delete it');
    await this.remove(b, 'deleted by owner');
  }

  private async remove(b: BroadcastRecord, why: string): Promise<void> {
    const clips = await this.db.query<{ id: string }>(
      `WITH hidden AS (UPDATE broadcasts SET state = 'deleted' WHERE id = $1 RETURNING id)
       DELETE FROM clips WHERE broadcast_id IN (SELECT id FROM hidden) RETURNING id`,
      [b.id],
    );
    await this.store.deletePrefix(broadcastPrefix(b.id));
    for (const c of clips) await this.store.deletePrefix(`clips/${c.id}.mp4`);
    this.log.info({ broadcastId: b.id, streamId: b.streamId, bytes: b.bytes, clips: clips.length, why }, 'broadcast deleted');
  }

  /**
   * At the start of a single-node deployment (embedded storage), recordings left in state recording
   * were cut by a crash of this very process: they become partial at once instead of after the
   * heartbeat timeout.
   */
  async closeAbandoned(): Promise<number> {
    const rows = await this.db.query(
      `UPDATE broadcasts SET state = 'partial', ended_at_ms = heartbeat_at_ms, stop_reason = 'the recording node stopped'
       WHERE state = 'recording' RETURNING id`,
    );
    return rows.length;
  }

  /**
   * Retention and the disk budget: deletes broadcasts older than the retention, then the oldest
   * finished broadcasts while the store holds more than the budget. Never evicts one being recorded.
   * Returns the ids deleted.
   */
  async evict(policy: RetentionPolicy): Promise<string[]> {
    const evicted: string[] = [];
    if (policy.retentionDays > 0) {
      const before = this.now() - policy.retentionDays * 86_400_000;
      const rows = await this.db.query<Row>(
        `SELECT ${COLUMNS} ${FROM} WHERE b.state IN ('complete', 'partial') AND b.started_at_ms < $1 ORDER BY b.started_at_ms LIMIT 1000`,
        [before],
      );
      for (const r of rows) {
        await this.remove(this.toRecord(r), 'retention');
        evicted.push(r.id);
      }
    }
    if (policy.budgetBytes > 0) {
      let used = await this.usedBytes();
      while (used > policy.budgetBytes) {
        const rows = await this.db.query<Row>(
          `SELECT ${COLUMNS} ${FROM} WHERE b.state IN ('complete', 'partial') ORDER BY b.started_at_ms, b.id LIMIT 1`,
        );
        const oldest = rows[0];
        if (!oldest) break;
        const b = this.toRecord(oldest);
        await this.remove(b, 'disk budget');
        evicted.push(b.id);
        used = await this.usedBytes();
      }
    }
    return evicted;
  }

  /**
   * Bytes the recordings take, from the catalog (what recorders reported, clips' sizes): one query,
   * however many files there are and whatever the store is (walking millions of files or listing a
   * bucket every minute would not be).
   */
  async usedBytes(): Promise<number> {
    const rows = await this.db.query<{ total: string | number | null }>(
      `SELECT (SELECT coalesce(sum(bytes), 0) FROM broadcasts WHERE state <> 'deleted')
            + (SELECT coalesce(sum(bytes), 0) FROM clips) AS total`,
    );
    return Number(rows[0]?.total ?? 0);
  }

  /**
   * Runs evict(policy) now and every `intervalMs` (errors logged, never thrown); returns the function
   * that stops it. Several nodes may run it at once: deleting is idempotent.
   */
  scheduleEviction(policy: RetentionPolicy, intervalMs: number): () => void {
    let running = false;
    const run = async () => {
      if (running) return;
      running = true;
      try {
        const evicted = await this.evict(policy);
        if (evicted.length) this.log.info({ evicted: evicted.length }, 'recordings evicted by retention or disk budget');
      } catch (err) {
        this.log.warn({ err }, 'recording eviction failed');
      } finally {
        running = false;
      }
    };
    void run();
    const timer = setInterval(() => void run(), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  private toRecord(r: Row): BroadcastRecord {
    const heartbeat = Number(r.heartbeat_at_ms);
    const state = r.state as 'recording' | 'complete' | 'partial';
    const abandoned = state === 'recording' && this.now() - heartbeat > ABANDONED_AFTER_MS;
    return {
      id: r.id,
      streamId: r.stream_id,
      ownerId: r.owner_id,
      title: r.title,
      startedAtMs: Number(r.started_at_ms),
      endedAtMs: r.ended_at_ms === null ? (abandoned ? heartbeat : null) : Number(r.ended_at_ms),
      durationMs: Number(r.duration_ms),
      bytes: Number(r.bytes),
      status: abandoned ? 'partial' : state,
      stopReason: abandoned ? 'the recording node stopped' : r.stop_reason,
    };
  }
}

function decodeCursor(cursor: string | undefined): { at: number; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const m = /^(\d{1,15})\.([A-Za-z0-9]{12})$/.exec(cursor);
  if (!m) throw new AppError(400, 'bad_cursor', 'cursor is not one this API returned');
  return { at: Number(m[1]), id: m[2]! };
}
