// The stream catalog: the streams themselves. Creates them (with their id and first stream key),
// reads one or a user's own, edits their title, tags, category and language (owner or admin), rotates
// and checks keys, and records live state and viewer counts; tells listeners when what the directory
// shows changes. Input is normalised by stream-input.ts; listing the directory is StreamListing's
// job (directory/stream-listing.ts) and moderator grants are StreamModerators'. Never stores or
// returns a stream key except the moment one is made (create, rotate).
import { randomBytes } from 'node:crypto';
import type { AuthUser } from '../accounts/tokens.js';
import type { Database } from '../db/database.js';
import { type AppError, forbidden, notFound } from '../errors.js';
import { hashStreamKey, newStreamKey, streamKeyMatches } from './stream-keys.js';
import { CreateInput, isUserId, parseStreamInput, PatchInput, type StreamInput, type StreamPatch } from './stream-input.js';
import { STREAM_COLUMNS, STREAM_FROM, toRecord, type StreamRecord, type StreamRow } from './stream-record.js';

/** GET /api/me/streams lists at most this many of a user's streams. */
export const MAX_OWNED_STREAMS = 100;

// ---- ids --------------------------------------------------------------------------------------

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const STREAM_ID_CHARS = 12;

/** 12 base62 characters (~71 bits), unbiased (bytes >= 248 are rejected). */
export function newStreamId(): string {
  let id = '';
  while (id.length < STREAM_ID_CHARS) {
    for (const byte of randomBytes(STREAM_ID_CHARS * 2)) {
      if (byte < 248 && id.length < STREAM_ID_CHARS) id += BASE62[byte % 62];
    }
  }
  return id;
}

// ---- the catalog ------------------------------------------------------------------------------

export class StreamCatalog {
  private readonly listeners = new Set<(streamId: string) => void>();

  constructor(private readonly db: Database) {}

  /**
   * Calls fn after each change of what the directory shows, except viewer counts (which change
   * every second): create, edit, live, offline. Returns the function that unsubscribes.
   */
  onListingChange(fn: (streamId: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(streamId: string): void {
    for (const fn of this.listeners) fn(streamId);
  }

  async create(ownerId: string, input: StreamInput): Promise<{ stream: StreamRecord; streamKey: string }> {
    const data = parseStreamInput(CreateInput, input);
    const { key, hash } = newStreamKey();
    const id = newStreamId();
    const inserted = isUserId(ownerId)
      ? await this.db.query(
          `INSERT INTO streams (id, owner_id, title, tags, category, language, stream_key_hash)
           SELECT $1, u.id, $3, $4, $5, $6, $7 FROM users u WHERE u.id = $2
           RETURNING id`,
          [id, ownerId, data.title, data.tags, data.category, data.language, hash],
        )
      : [];
    if (inserted.length === 0) throw notFound('user_not_found', 'the owner has no account');
    this.changed(id);
    return { stream: await this.mustGet(id), streamKey: key };
  }

  async get(id: string): Promise<StreamRecord | null> {
    if (id.length > 64) return null;
    const rows = await this.db.query<StreamRow>(`SELECT ${STREAM_COLUMNS} ${STREAM_FROM} WHERE s.id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Streams by id, in the order given; unknown ids are left out. */
  async getMany(ids: readonly string[]): Promise<StreamRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.query<StreamRow>(`SELECT ${STREAM_COLUMNS} ${STREAM_FROM} WHERE s.id = ANY($1::text[])`, [ids]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.flatMap((id) => {
      const row = byId.get(id);
      return row ? [toRecord(row)] : [];
    });
  }

  /**
   * A user's own streams (their channel), newest first: every stream they ever created, live or
   * not, at most MAX_OWNED_STREAMS. What the dashboard lists after sign-in on any browser.
   */
  async listOwned(ownerId: string): Promise<StreamRecord[]> {
    if (!isUserId(ownerId)) return [];
    const rows = await this.db.query<StreamRow>(
      `SELECT ${STREAM_COLUMNS} ${STREAM_FROM} WHERE s.owner_id = $1 ORDER BY s.created_at DESC, s.id DESC LIMIT ${MAX_OWNED_STREAMS}`,
      [ownerId],
    );
    return rows.map(toRecord);
  }

  /** Title/tags/category/language; owner or admin only. */
  async update(id: string, actor: AuthUser, patch: StreamPatch): Promise<StreamRecord> {
    const stream = await this.mustGet(id);
    assertCanManage(stream, actor);
    const data = parseStreamInput(PatchInput, patch);
    const params: unknown[] = [id];
    const sets: string[] = [];
    for (const [column, value] of [
      ['title', data.title],
      ['tags', data.tags],
      ['category', data.category],
      ['language', data.language],
    ] as const) {
      if (value !== undefined) sets.push(`${column} = $${params.push(value)}`);
    }
    if (sets.length === 0) return stream;
    await this.db.query(`UPDATE streams SET ${sets.join(', ')}, updated_at = now() WHERE id = $1`, params);
    this.changed(id);
    return this.mustGet(id);
  }

  /** Replaces the stream key (the old one stops working at once); owner or admin only. */
  async rotateKey(id: string, actor: AuthUser): Promise<string> {
    const stream = await this.mustGet(id);
    assertCanManage(stream, actor);
    const { key, hash } = newStreamKey();
    await this.db.query('UPDATE streams SET stream_key_hash = $2, updated_at = now() WHERE id = $1', [id, hash]);
    return key;
  }

  async verifyStreamKey(id: string, key: string): Promise<boolean> {
    if (typeof key !== 'string' || id.length > 64) return false;
    const rows = await this.db.query<{ stream_key_hash: string }>('SELECT stream_key_hash FROM streams WHERE id = $1', [id]);
    return rows[0] ? streamKeyMatches(key, rows[0].stream_key_hash) : false;
  }

  /**
   * The stream a key opens, for ingest protocols that present only the key (RTMP, SRT). Keys are
   * high-entropy and stored as sha256 (stream-keys.ts), so the lookup is by hash, on an index.
   */
  async streamIdForKey(key: string): Promise<string | undefined> {
    if (typeof key !== 'string' || key.length === 0 || key.length > 256) return undefined;
    const rows = await this.db.query<{ id: string }>('SELECT id FROM streams WHERE stream_key_hash = $1', [hashStreamKey(key)]);
    return rows[0]?.id;
  }

  async markLive(id: string): Promise<void> {
    await this.mustUpdate(id, 'live = true, started_at = now(), ended_at = NULL, ended_reason = NULL');
    this.changed(id);
  }

  /** Offline, with the media plane's reason code for the end (its owner sees why on the dashboard). */
  async markOffline(id: string, reason: string): Promise<void> {
    const code = /^[a-z0-9_]{1,64}$/.test(reason) ? reason : 'unknown';
    await this.mustUpdate(id, 'live = false, ended_at = now(), ended_reason = $2, viewer_count = 0', [code]);
    this.changed(id);
  }

  async setViewerCount(id: string, viewers: number): Promise<void> {
    const n = Number.isFinite(viewers) ? Math.min(Math.max(0, Math.floor(viewers)), 2 ** 31 - 1) : 0;
    await this.db.query('UPDATE streams SET viewer_count = $2 WHERE id = $1', [id, n]);
  }

  /** The stream, or 404 `stream_not_found`. */
  async mustGet(id: string): Promise<StreamRecord> {
    const stream = await this.get(id);
    if (!stream) throw streamNotFound();
    return stream;
  }

  private async mustUpdate(id: string, assignments: string, params: unknown[] = []): Promise<void> {
    const rows = await this.db.query(`UPDATE streams SET ${assignments}, updated_at = now() WHERE id = $1 RETURNING id`, [id, ...params]);
    if (rows.length === 0) throw streamNotFound();
  }
}

function streamNotFound(): AppError {
  return notFound('stream_not_found', 'no such stream');
}

function assertCanManage(stream: StreamRecord, actor: AuthUser): void {
  if (stream.ownerId !== actor.id && actor.role !== 'admin') throw forbidden('forbidden', 'only the owner may change this stream');
}
