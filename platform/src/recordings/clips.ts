// Clips: short MP4s a signed-in viewer cuts from a stream's recording — the last N seconds of a live
// stream, or a range of a past broadcast. Owns the clip rules (5-60 s, inside the recording, not of a
// deleted broadcast, CLIPS_PER_HOUR per user), the `clips` table and the clip objects in the
// RecordingStore (`clips/<id>.mp4`, put atomically before the row exists, so a listed clip always
// has its file). The cutting itself (ffmpeg, segments) is passed in as a ClipSource.
import type { Database } from '../db/database.js';
import { AppError, badRequest, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuthUser } from '../accounts/tokens.js';
import type { RateLimiter } from '../chat/rate-limiter.js';
import { broadcastPrefix, MEDIA_ID, newMediaId, type Broadcasts } from './broadcasts.js';
import type { RecordingStore } from './recording-store.js';

export const MIN_CLIP_MS = 5_000;
export const MAX_CLIP_MS = 60_000;
export const MAX_CLIP_PAGE = 50;
const HOUR_MS = 3_600_000;

export type ClipSourceRange = { startMs: number; durationMs: number } | { lastMs: number };
export type ClipSourceResult =
  | { ok: true; mp4: Buffer; startMs: number; durationMs: number }
  | { ok: false; code: string; message: string };

/** Cuts the MP4 of a range of the recording under `prefix` (hls-fallback's ClipCutter). */
export interface ClipSource {
  cut(prefix: string, range: ClipSourceRange): Promise<ClipSourceResult>;
}

export interface ClipRecord {
  id: string;
  broadcastId: string;
  streamId: string;
  userId: string;
  username: string;
  streamerName: string;
  title: string;
  /** where the clip starts in its broadcast (whole segments: see docs/api.md) */
  startMs: number;
  durationMs: number;
  bytes: number;
  createdAtMs: number;
}

export const clipKey = (id: string) => `clips/${id}.mp4`;

interface Row {
  id: string;
  broadcast_id: string;
  stream_id: string;
  user_id: string;
  username: string;
  streamer_name: string;
  title: string;
  start_ms: string | number;
  duration_ms: string | number;
  bytes: string | number;
  created_at_ms: string | number;
}

const SELECT = `SELECT c.id, c.broadcast_id, c.stream_id, c.user_id, u.username, o.username AS streamer_name, c.title, c.start_ms,
  c.duration_ms, c.bytes, c.created_at_ms
  FROM clips c JOIN users u ON u.id = c.user_id JOIN streams s ON s.id = c.stream_id JOIN users o ON o.id = s.owner_id`;

const clipError = (status: number, code: string, message: string) => new AppError(status, code, message);

export class Clips {
  constructor(
    private readonly db: Database,
    private readonly store: RecordingStore,
    private readonly broadcasts: Broadcasts,
    private readonly source: ClipSource,
    private readonly limiter: RateLimiter,
    private readonly opts: { clipsPerHour: number },
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The last `durationMs` of the stream's live broadcast. */
  async clipLive(user: AuthUser, streamId: string, durationMs: number, title?: string): Promise<ClipRecord> {
    checkLength(durationMs);
    const b = await this.broadcasts.current(streamId);
    if (!b) throw clipError(409, 'stream_not_recording', 'the stream is not live, or its broadcast is not being recorded');
    return this.make(user, b.id, b.streamId, title ?? b.title, { lastMs: durationMs });
  }

  /** `durationMs` of a broadcast from `startMs` (its own timeline, as its player shows it). */
  async clipBroadcast(user: AuthUser, broadcastId: string, startMs: number, durationMs: number, title?: string): Promise<ClipRecord> {
    if (!Number.isInteger(startMs) || startMs < 0) throw badRequest('invalid_clip_range', 'startMs must be a whole number >= 0');
    checkLength(durationMs);
    const b = await this.broadcasts.lookup(broadcastId);
    if (b === 'deleted') throw clipError(410, 'broadcast_deleted', 'this broadcast was deleted');
    if (!b) throw notFound('broadcast_not_found', 'no such broadcast');
    return this.make(user, b.id, b.streamId, title ?? b.title, { startMs, durationMs });
  }

  private async make(user: AuthUser, broadcastId: string, streamId: string, title: string, range: ClipSourceRange): Promise<ClipRecord> {
    const limit = await this.limiter.hit(`clips:${user.id}`, this.opts.clipsPerHour, HOUR_MS);
    if (!limit.allowed) {
      const seconds = Math.ceil(limit.retryAfterMs / 1000);
      throw new AppError(429, 'clip_rate_limited', `at most ${this.opts.clipsPerHour} clips an hour; try again in ${seconds} s`, {
        'Retry-After': String(seconds),
      });
    }
    const cut = await this.source.cut(broadcastPrefix(broadcastId), range);
    if (!cut.ok) {
      const status = cut.code === 'clip_failed' ? 500 : cut.code === 'range_outside_recording' ? 422 : 409;
      if (status === 500) this.log.error({ broadcastId, streamId, userId: user.id, reason: cut.message }, 'clip failed');
      throw clipError(status, cut.code, cut.message);
    }
    const id = newMediaId();
    await this.store.put(clipKey(id), cut.mp4);
    const rows = await this.db.query(
      `INSERT INTO clips (id, broadcast_id, stream_id, user_id, title, start_ms, duration_ms, bytes, created_at_ms)
       SELECT $1, b.id, b.stream_id, $3, $4, $5, $6, $7, $8 FROM broadcasts b WHERE b.id = $2 AND b.state <> 'deleted' RETURNING id`,
      [id, broadcastId, user.id, title.slice(0, 140), cut.startMs, cut.durationMs, cut.mp4.length, this.now()],
    );
    if (!rows.length) {
      // The broadcast was deleted while the clip was being cut: the clip goes with it.
      await this.store.deletePrefix(clipKey(id));
      throw clipError(410, 'broadcast_deleted', 'this broadcast was deleted');
    }
    this.log.info({ clipId: id, broadcastId, streamId, userId: user.id, durationMs: cut.durationMs }, 'clip made');
    return (await this.get(id))!;
  }

  async get(id: string): Promise<ClipRecord | null> {
    if (!MEDIA_ID.test(id)) return null;
    const rows = await this.db.query<Row>(`${SELECT} WHERE c.id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** A stream's clips, newest first. */
  async listForStream(
    streamId: string,
    opts: { limit?: number; cursor?: string } = {},
  ): Promise<{ items: ClipRecord[]; nextCursor: string | null }> {
    const limit = Math.min(MAX_CLIP_PAGE, Math.max(1, Math.floor(opts.limit ?? 20)));
    let c: { at: number; id: string } | undefined;
    if (opts.cursor !== undefined) {
      const m = /^(\d{1,15})\.([A-Za-z0-9]{12})$/.exec(opts.cursor);
      if (!m) throw badRequest('bad_cursor', 'cursor is not one this API returned');
      c = { at: Number(m[1]), id: m[2]! };
    }
    const rows = await this.db.query<Row>(
      `${SELECT} WHERE c.stream_id = $1 AND ($2::bigint IS NULL OR (c.created_at_ms, c.id) < ($2::bigint, $3::text))
       ORDER BY c.created_at_ms DESC, c.id DESC LIMIT $4`,
      [streamId, c?.at ?? null, c?.id ?? '', limit + 1],
    );
    const items = rows.slice(0, limit).map(toRecord);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? `${last.createdAtMs}.${last.id}` : null };
  }
}

function checkLength(durationMs: number): void {
  if (!Number.isInteger(durationMs) || durationMs < MIN_CLIP_MS || durationMs > MAX_CLIP_MS) {
    throw badRequest('invalid_clip_length', `a clip is ${MIN_CLIP_MS / 1000} to ${MAX_CLIP_MS / 1000} s long`);
  }
}

function toRecord(r: Row): ClipRecord {
  return {
    id: r.id,
    broadcastId: r.broadcast_id,
    streamId: r.stream_id,
    userId: r.user_id,
    username: r.username,
    streamerName: r.streamer_name,
    title: r.title,
    startMs: Number(r.start_ms),
    durationMs: Number(r.duration_ms),
    bytes: Number(r.bytes),
    createdAtMs: Number(r.created_at_ms),
  };
}
