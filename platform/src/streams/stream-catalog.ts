// The stream catalog: what the directory lists (title, tags, category, language, live state, viewer
// count) and who may change it (owner, admin, moderators). Owns input normalisation and keyset
// pagination. Never stores or returns a stream key except the moment one is made (create, rotate).
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AuthUser } from '../accounts/tokens.js';
import type { Database } from '../db/database.js';
import {
  parseSearchQuery,
  PostgresStreamSearch,
  SEARCH_TIMEOUT_MS,
  type AddParam,
  type SearchQuery,
  type StreamSearch,
} from '../directory/stream-search.js';
import { AppError, badRequest, forbidden, notFound } from '../errors.js';
import { newStreamKey, streamKeyMatches } from './stream-keys.js';

export interface StreamRecord {
  id: string;
  ownerId: string;
  ownerName: string;
  title: string;
  tags: string[];
  category: string;
  language: string;
  live: boolean;
  startedAt: Date | null;
  endedAt: Date | null;
  viewerCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface StreamInput {
  title: string;
  tags?: string[];
  category?: string;
  language?: string;
}

export type StreamPatch = Partial<StreamInput>;

/** `relevance` needs `q`; it is the default sort when `q` is given, `viewers` otherwise. */
export type StreamSort = 'viewers' | 'recent' | 'relevance';

export interface StreamListQuery {
  live?: boolean;
  q?: string;
  tag?: string;
  category?: string;
  language?: string;
  /** Default: `relevance` when q is given, else `viewers`. */
  sort?: StreamSort;
  limit?: number;
  /** Opaque: the nextCursor of the previous page, with the same sort. */
  cursor?: string;
}

export interface StreamPage {
  items: StreamRecord[];
  nextCursor: string | null;
}

export interface Moderator {
  userId: string;
  username: string;
}

export const DEFAULT_PAGE_SIZE = 20;
/** GET /api/me/streams lists at most this many of a user's streams. */
export const MAX_OWNED_STREAMS = 100;
export const MAX_PAGE_SIZE = 100;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---- input normalisation ----------------------------------------------------------------------

/**
 * lower-case, trimmed, a leading '#' dropped ("#Speedrun"), inner whitespace and runs of '-' as one
 * '-'; empty entries dropped, duplicates removed (by the Tags schema).
 */
export function normaliseTag(tag: string): string {
  return tag
    .normalize('NFKC')
    .trim()
    .toLowerCase()
    .replace(/^#+/, '')
    .replace(/[\s-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** trimmed, runs of whitespace as one space; case is kept for display (filters ignore it). */
export function normaliseCategory(category: string): string {
  return category.normalize('NFKC').trim().replace(/\s+/g, ' ');
}

/** trimmed, lower-case, '_' as '-' ("PT_br" -> "pt-br"). */
export function normaliseLanguage(language: string): string {
  return language.trim().toLowerCase().replace(/_/g, '-');
}

const Title = z.string().trim().min(1, 'title must not be empty').max(140, 'title is at most 140 characters');
const Tags = z
  .array(z.string(), 'tags must be a list of strings')
  .max(100, 'at most 10 tags')
  .transform((tags) => [...new Set(tags.map(normaliseTag).filter((t) => t.length > 0))])
  .pipe(
    z
      .array(z.string().regex(/^[a-z0-9-]{1,25}$/, 'a tag is 1 to 25 letters, digits or dashes'))
      .max(10, 'at most 10 tags'),
  );
const Category = z.string().transform(normaliseCategory).pipe(z.string().max(50, 'category is at most 50 characters'));
const Language = z
  .string()
  .transform(normaliseLanguage)
  .pipe(z.string().max(8).regex(/^[a-z]{2,3}(-[a-z0-9]{2,4})?$/, 'language is a code such as "en" or "pt-br"'));

const CreateInput = z.object({
  title: Title,
  tags: Tags.default([]),
  category: Category.default(''),
  language: Language.default('en'),
});
const PatchInput = z.object({
  title: Title.optional(),
  tags: Tags.optional(),
  category: Category.optional(),
  language: Language.optional(),
});

/** The first offending field names the code (`invalid_title`, `invalid_tags`, ...). */
function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const field = String(issues[0]?.path[0] ?? 'stream');
  const message = issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
  throw badRequest(`invalid_${field}`, message);
}

// ---- ids and cursors --------------------------------------------------------------------------

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

const Cursor = z.discriminatedUnion('s', [
  // e: the last item was an ended stream (viewers lists live streams first, then ended ones)
  z.object({ s: z.literal('viewers'), v: z.number().int().min(0).max(2 ** 31 - 1), id: z.string().max(64), e: z.literal(1).optional() }),
  // k: the sort timestamp in epoch microseconds, as text (exact, unlike a JS Date)
  z.object({ s: z.literal('recent'), k: z.string().regex(/^-?\d{1,18}$/), id: z.string().max(64) }),
  // r: the search score as exact decimal text (see PostgresStreamSearch)
  z.object({ s: z.literal('relevance'), r: z.string().regex(/^-?\d{1,6}(\.\d{1,6})?$/), id: z.string().max(64) }),
]);
type Cursor = z.infer<typeof Cursor>;

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string, sort: StreamSort): Cursor {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = Cursor.safeParse(json);
  if (!parsed.success || parsed.data.s !== sort) throw badRequest('invalid_cursor', 'cursor is not one this listing gave out');
  return parsed.data;
}

// ---- the catalog ------------------------------------------------------------------------------

interface StreamRow {
  id: string;
  owner_id: string;
  owner_name: string;
  title: string;
  tags: string[];
  category: string;
  language: string;
  live: boolean;
  started_at: Date | null;
  ended_at: Date | null;
  viewer_count: number;
  created_at: Date;
  updated_at: Date;
  sort_us?: string;
  score?: string;
}

const STREAM_COLUMNS = `s.id, s.owner_id, u.username AS owner_name, s.title, s.tags, s.category, s.language,
  s.live, s.started_at, s.ended_at, s.viewer_count, s.created_at, s.updated_at`;
const STREAM_FROM = 'FROM streams s JOIN users u ON u.id = s.owner_id';
/** STREAM_COLUMNS but those a listing's ids query already returns (id, live, viewer_count). */
const PAGE_COLUMNS = `s.owner_id, u.username AS owner_name, s.title, s.tags, s.category, s.language,
  s.started_at, s.ended_at, s.created_at, s.updated_at`;
/** What `sort=recent` orders by: when it last went live, else when it was created. */
const RECENT_KEY = 'coalesce(s.started_at, s.created_at)';
/** PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout. */
const QUERY_CANCELED = '57014';
const RECENT_US = `(extract(epoch FROM ${RECENT_KEY}) * 1000000)::bigint::text`;

/** A listing of ids only (see StreamCatalog.listIds). */
export interface StreamIdPage {
  ids: string[];
  nextCursor: string | null;
}

/** A listing of ids with the records of the first ones (see StreamCatalog.listIdsWithPage). */
export interface StreamIdPageWithItems extends StreamIdPage {
  /** The records of the first `pageSize` ids, in the same order. */
  items: StreamRecord[];
}

/**
 * What a listing query returns per row: `full` every row's record; `ids` ids and sort keys only;
 * `{ page: n }` ids and sort keys, plus the record of the first n rows (read in the same statement).
 */
type Rows = 'full' | 'ids' | { page: number };

export class StreamCatalog {
  private readonly listeners = new Set<(streamId: string) => void>();

  constructor(
    private readonly db: Database,
    private readonly search: StreamSearch = new PostgresStreamSearch(),
  ) {}

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
    const data = parseInput(CreateInput, input);
    const { key, hash } = newStreamKey();
    const id = newStreamId();
    const inserted = UUID_PATTERN.test(ownerId)
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
    if (!UUID_PATTERN.test(ownerId)) return [];
    const rows = await this.db.query<StreamRow>(
      `SELECT ${STREAM_COLUMNS} ${STREAM_FROM} WHERE s.owner_id = $1 ORDER BY s.created_at DESC, s.id DESC LIMIT ${MAX_OWNED_STREAMS}`,
      [ownerId],
    );
    return rows.map(toRecord);
  }

  /** One page of the directory, keyset-paginated on the sort's ordering values. */
  async list(query: StreamListQuery = {}): Promise<StreamPage> {
    const { rows, nextCursor } = await this.select(query, clampLimit(query.limit), 'full');
    return { items: rows.map(toRecord), nextCursor };
  }

  /**
   * Like list, but only ids, and up to `max` of them (not clamped to MAX_PAGE_SIZE): what the
   * directory freezes as the order of a listing session. A listing of live and ended streams by
   * viewers freezes the live part (up to `max`) and at most `endedMax` ended streams after it
   * (ended streams have no viewers, so their order does not move; the cursor reads on from there).
   */
  async listIds(query: StreamListQuery, max: number, endedMax = max): Promise<StreamIdPage> {
    const { rows, nextCursor } = await this.select(query, Math.max(1, Math.floor(max)), 'ids', Math.max(1, Math.floor(endedMax)));
    return { ids: rows.map((r) => r.id), nextCursor };
  }

  /**
   * listIds plus the records of the first `pageSize` ids, read by the same statements (one round trip
   * fewer than listIds then getMany, and the page is from the same snapshot as the order).
   */
  async listIdsWithPage(query: StreamListQuery, max: number, endedMax: number, pageSize: number): Promise<StreamIdPageWithItems> {
    const page = Math.max(1, Math.floor(pageSize));
    const { rows, nextCursor } = await this.select(query, Math.max(1, Math.floor(max)), { page }, Math.max(1, Math.floor(endedMax)));
    return { ids: rows.map((r) => r.id), items: rows.slice(0, page).map(toRecord), nextCursor };
  }

  private async select(
    query: StreamListQuery,
    limit: number,
    rows: Rows,
    endedMax = limit,
  ): Promise<{ rows: StreamRow[]; nextCursor: string | null }> {
    const search = parseSearchQuery(query.q);
    const sort = resolveSort(query.sort, search !== null);
    const cursor = query.cursor ? decodeCursor(query.cursor, sort) : undefined;
    if (sort === 'viewers' && !search && query.live === undefined) {
      // Live streams first, then ended ones: two queries that each read one index in order.
      const after = cursor?.s === 'viewers' ? cursor : undefined;
      if (typeof rows === 'object' && !after && endedMax < limit) {
        // A first page that freezes the order reads at most endedMax ended streams: they are asked
        // for at the same time as the live ones (two statements in parallel, not one after the
        // other), all with their records; unused when the live ones fill the listing.
        const endedTake = endedMax + 1;
        const [live, ended] = await Promise.all([
          this.run({ ...query, live: true }, search, sort, limit + 1, rows, undefined),
          this.run({ ...query, live: false }, search, sort, endedTake, { page: endedTake }, undefined),
        ]);
        if (live.length > limit) return this.page(live, limit, sort);
        const room = Math.min(limit - live.length, endedMax);
        return this.page([...live, ...ended.slice(0, room + 1)], live.length + room, sort);
      }
      const live = after?.e ? [] : await this.run({ ...query, live: true }, search, sort, limit + 1, rows, after);
      if (live.length > limit) return this.page(live, limit, sort);
      const room = Math.min(limit - live.length, endedMax);
      // the ended rows follow live.length rows: the page's records are the first pageSize - live.length
      const endedRows = typeof rows === 'object' ? { page: Math.max(0, rows.page - live.length) } : rows;
      const ended = await this.run({ ...query, live: false }, search, sort, room + 1, endedRows, after?.e ? after : undefined);
      return this.page([...live, ...ended], live.length + room, sort);
    }
    return this.page(await this.run(query, search, sort, limit + 1, rows, cursor), limit, sort);
  }

  private page(rows: StreamRow[], limit: number, sort: StreamSort): { rows: StreamRow[]; nextCursor: string | null } {
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    let nextCursor: string | null = null;
    if (rows.length > limit && last) {
      nextCursor = encodeCursor(
        sort === 'viewers'
          ? { s: 'viewers', v: last.viewer_count, id: last.id, ...(last.live ? {} : { e: 1 as const }) }
          : sort === 'recent'
            ? { s: 'recent', k: last.sort_us!, id: last.id }
            : { s: 'relevance', r: last.score!, id: last.id },
      );
    }
    return { rows: page, nextCursor };
  }

  /** One query: up to `take` rows of the listing after `cursor`. */
  private async run(
    query: StreamListQuery,
    search: SearchQuery | null,
    sort: StreamSort,
    take: number,
    rows: Rows,
    cursor: Cursor | undefined,
  ): Promise<StreamRow[]> {
    const params: unknown[] = [];
    const param: AddParam = (v) => `$${params.push(v)}`;
    const where: string[] = [];

    // inline, not a parameter: a generic plan could not use the partial indexes on live streams
    if (query.live !== undefined) where.push(query.live ? 's.live' : 'NOT s.live');
    let score = '0::numeric';
    let setup: string[] = [];
    let from = '';
    let ctes = '';
    let source = 'streams s';
    if (search) {
      const match = this.search.match(search, param, query.live === undefined ? 'all' : query.live ? 'live' : 'ended');
      where.push(match.where);
      score = match.score;
      setup = match.setup;
      from = match.from;
      ctes = match.with;
      source = match.source;
    }
    const tag = query.tag === undefined ? '' : normaliseTag(query.tag);
    const category = query.category === undefined ? '' : normaliseCategory(query.category);
    const language = query.language === undefined ? '' : normaliseLanguage(query.language);
    const filters = [tag, category, language].filter((f) => f !== '').length;
    if ((filters >= 2 || tag) && query.live !== true && !search) {
      // Over ended streams, a tag or a combination of filters is one GIN entry (migration 005):
      // exactly the matching streams, however rare the combination, instead of an ordered scan
      // that filters through everything when the combination is rare or empty.
      where.push(`s.filter_keys @> ARRAY[stream_filter_key(${param(tag || null)}, ${param(category || null)}, ${param(language || null)})]`);
    } else {
      if (tag) where.push(`s.tags @> ARRAY[${param(tag)}]::text[]`);
      if (category) where.push(`lower(s.category) = lower(${param(category)})`);
      if (language) where.push(`s.language = ${param(language)}`);
    }

    // Viewers: live streams first (only a search over live and ended streams has both in one query).
    const bothInOne = sort === 'viewers' && query.live === undefined;
    if (cursor?.s === 'viewers') {
      const below = `(s.viewer_count, s.id) < (${param(cursor.v)}::int, ${param(cursor.id)})`;
      if (!bothInOne) where.push(cursor.e && query.live ? 'false' : below);
      else where.push(cursor.e ? `NOT s.live AND ${below}` : `(s.live AND ${below} OR NOT s.live)`);
    } else if (cursor?.s === 'recent') {
      const at = `timestamptz 'epoch' + ${param(cursor.k)}::bigint * interval '1 microsecond'`;
      where.push(`(${RECENT_KEY}, s.id) < (${at}, ${param(cursor.id)})`);
    } else if (cursor?.s === 'relevance') {
      where.push(`(${score}, s.id) < (${param(cursor.r)}::numeric, ${param(cursor.id)})`);
    }
    const order =
      sort === 'viewers'
        ? `${bothInOne ? 's.live DESC, ' : ''}s.viewer_count DESC, s.id DESC`
        : sort === 'recent'
          ? `${RECENT_KEY} DESC, s.id DESC`
          : `${score} DESC, s.id DESC`;

    // Ids and sort keys first, from what the indexes hold (an index-only scan where possible: the
    // live state is a constant when filtered on), then, for a full page, its rows and owners.
    const live = query.live === undefined ? 's.live' : `${query.live} AS live`;
    const sortUs = sort === 'recent' ? RECENT_US : 'NULL::text';
    const filtered = `FROM ${source} ${from}
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ${order} LIMIT ${param(take)}`;
    // A search's score is computed once per row: the ORDER BY reuses the select list's expression
    // (the same expression), and the text of it is taken outside.
    const ids = search
      ? `SELECT ranked.id, ranked.viewer_count, ranked.live, ranked.sort_us, ranked.rank::text AS score FROM
         (SELECT s.id, s.viewer_count, ${live}, ${sortUs} AS sort_us, ${score} AS rank ${filtered}) ranked`
      : `SELECT s.id, s.viewer_count, ${live}, ${sortUs} AS sort_us, NULL::text AS score ${filtered}`;
    let sql = `${ctes ? `WITH ${ctes} ` : ''}${ids}`;
    if (typeof rows === 'object') {
      // Up to thousands of ids, but as one array (on the first row): a row per id costs the client
      // ~3 us each to parse. Rows come back only for the first rows.page ids, with their record, and
      // for the last two (what a next cursor is made from). row_number() numbers the ids in the order
      // it reads them (the ORDER BY of the ids query). OFFSET 0 keeps the record's subquery whole, so
      // `r.n <= ...` is a one-time filter inside it: the record is read for the page rows only.
      const page = param(rows.page);
      sql = `WITH ${ctes ? `${ctes}, ` : ''}r AS MATERIALIZED (SELECT i.*, (row_number() OVER ())::int AS n FROM (${ids}) i),
       a AS MATERIALIZED (SELECT count(*)::int AS total, array_agg(r.id ORDER BY r.n) AS ids FROM r)
       SELECT r.id, r.viewer_count, r.live, r.sort_us, r.score, r.n, CASE WHEN r.n = 1 THEN a.ids END AS all_ids, p.*
       FROM a CROSS JOIN r
       LEFT JOIN LATERAL (SELECT ${PAGE_COLUMNS} ${STREAM_FROM} WHERE r.n <= ${page} AND s.id = r.id OFFSET 0) p ON true
       WHERE r.n = 1 OR r.n <= ${page} OR r.n >= a.total - 1
       ORDER BY r.n`;
    } else if (rows === 'full') {
      const outer =
        sort === 'viewers'
          ? `${bothInOne ? 'r.live DESC, ' : ''}r.viewer_count DESC, r.id DESC`
          : sort === 'recent'
            ? 'r.sort_us::bigint DESC, r.id DESC'
            : 'r.score::numeric DESC, r.id DESC';
      sql = `${ctes ? `WITH ${ctes} ` : ''}SELECT ${STREAM_COLUMNS}, r.sort_us, r.score FROM (${ids}) r
       JOIN streams s ON s.id = r.id JOIN users u ON u.id = s.owner_id ORDER BY ${outer}`;
    }
    // Anything that may read ended streams runs under the statement guard (see SEARCH_TIMEOUT_MS).
    if (setup.length === 0 && query.live !== true) setup = [`SET LOCAL statement_timeout = ${SEARCH_TIMEOUT_MS}`];
    const result = setup.length === 0 ? await this.db.query<StreamRow>(sql, params) : await this.guarded(setup, sql, params, search !== null);
    return typeof rows === 'object' ? expandIds(result as IdsRow[]) : result;
  }

  /** The statement after its setup, in one transaction; a cancelled statement is a 400. */
  private guarded(setup: string[], sql: string, params: unknown[], searching: boolean): Promise<StreamRow[]> {
    return this.db
      .transaction(async (tx) => {
        // Sent together (the connection answers them in order): one round trip, not one per statement.
        const sent = [...setup.map((statement) => tx.query<StreamRow>(statement)), tx.query<StreamRow>(sql, params)];
        const answers = await Promise.all(sent);
        return answers[answers.length - 1]!;
      })
      .catch((err: unknown) => {
        if ((err as { code?: unknown }).code !== QUERY_CANCELED) throw err;
        throw searching
          ? badRequest('search_too_broad', 'this search took too long to rank; add words or filters such as live=true')
          : badRequest('listing_too_broad', 'this listing took too long; add filters such as live=true or a category');
      });
  }

  /** Title/tags/category/language; owner or admin only. */
  async update(id: string, actor: AuthUser, patch: StreamPatch): Promise<StreamRecord> {
    const stream = await this.mustGet(id);
    assertCanManage(stream, actor);
    const data = parseInput(PatchInput, patch);
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

  async markLive(id: string): Promise<void> {
    await this.mustUpdate(id, 'live = true, started_at = now(), ended_at = NULL');
    this.changed(id);
  }

  async markOffline(id: string): Promise<void> {
    await this.mustUpdate(id, 'live = false, ended_at = now(), viewer_count = 0');
    this.changed(id);
  }

  async setViewerCount(id: string, viewers: number): Promise<void> {
    const n = Number.isFinite(viewers) ? Math.min(Math.max(0, Math.floor(viewers)), 2 ** 31 - 1) : 0;
    await this.db.query('UPDATE streams SET viewer_count = $2 WHERE id = $1', [id, n]);
  }

  /**
   * Grants moderation of a stream to a user, named by id or by username (case-insensitive); the
   * owner only. Idempotent. The owner cannot be their own moderator (400 `owner_is_moderator`).
   */
  async addModerator(streamId: string, actor: AuthUser, who: string | { username: string }): Promise<Moderator> {
    const stream = await this.mustGet(streamId);
    assertOwner(stream, actor);
    const users =
      typeof who === 'object'
        ? await this.db.query<{ id: string; username: string }>('SELECT id, username FROM users WHERE username_key = lower($1)', [who.username.trim()])
        : UUID_PATTERN.test(who)
          ? await this.db.query<{ id: string; username: string }>('SELECT id, username FROM users WHERE id = $1', [who])
          : [];
    const user = users[0];
    if (!user) throw notFound('user_not_found', typeof who === 'object' ? `nobody is called ${JSON.stringify(who.username.trim())}` : 'no such user');
    if (user.id === stream.ownerId) throw badRequest('owner_is_moderator', 'the owner already moderates their own stream');
    await this.db.query('INSERT INTO stream_moderators (stream_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      streamId,
      user.id,
    ]);
    return { userId: user.id, username: user.username };
  }

  /** Revokes moderation; the owner only. Idempotent. */
  async removeModerator(streamId: string, actor: AuthUser, userId: string): Promise<void> {
    const stream = await this.mustGet(streamId);
    assertOwner(stream, actor);
    if (!UUID_PATTERN.test(userId)) return;
    await this.db.query('DELETE FROM stream_moderators WHERE stream_id = $1 AND user_id = $2', [streamId, userId]);
  }

  async isModerator(streamId: string, userId: string): Promise<boolean> {
    if (!UUID_PATTERN.test(userId)) return false;
    const rows = await this.db.query('SELECT 1 FROM stream_moderators WHERE stream_id = $1 AND user_id = $2', [
      streamId,
      userId,
    ]);
    return rows.length > 0;
  }

  async listModerators(streamId: string): Promise<Moderator[]> {
    await this.mustGet(streamId);
    const rows = await this.db.query<{ user_id: string; username: string }>(
      `SELECT m.user_id, u.username FROM stream_moderators m JOIN users u ON u.id = m.user_id
       WHERE m.stream_id = $1 ORDER BY u.username_key`,
      [streamId],
    );
    return rows.map((r) => ({ userId: r.user_id, username: r.username }));
  }

  private async mustGet(id: string): Promise<StreamRecord> {
    const stream = await this.get(id);
    if (!stream) throw streamNotFound();
    return stream;
  }

  private async mustUpdate(id: string, assignments: string): Promise<void> {
    const rows = await this.db.query(`UPDATE streams SET ${assignments}, updated_at = now() WHERE id = $1 RETURNING id`, [id]);
    if (rows.length === 0) throw streamNotFound();
  }
}

function streamNotFound(): AppError {
  return notFound('stream_not_found', 'no such stream');
}

function assertCanManage(stream: StreamRecord, actor: AuthUser): void {
  if (stream.ownerId !== actor.id && actor.role !== 'admin') throw forbidden('forbidden', 'only the owner may change this stream');
}

function assertOwner(stream: StreamRecord, actor: AuthUser): void {
  if (stream.ownerId !== actor.id) throw forbidden('forbidden', "only the stream's owner may do this");
}

/** The sort a listing uses: relevance only means something with a search. */
export function resolveSort(sort: StreamSort | undefined, searching: boolean): StreamSort {
  if (sort === 'relevance' && !searching) throw badRequest('invalid_query', 'sort=relevance needs q');
  return sort ?? (searching ? 'relevance' : 'viewers');
}

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_PAGE_SIZE;
  return Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(limit)));
}

/** A row of an ids query with `{ page }` rows (see run): the first row carries every id. */
interface IdsRow extends StreamRow {
  n: number;
  all_ids: string[] | null;
}

/** Every id of an ids query in order, as rows: the rows it returned where it did, `{ id }` elsewhere. */
function expandIds(got: IdsRow[]): StreamRow[] {
  const first = got[0];
  if (!first) return [];
  const byN = new Map(got.map((row) => [row.n, row]));
  return (first.all_ids ?? []).map((id, i) => byN.get(i + 1) ?? ({ id } as StreamRow));
}

function toRecord(row: StreamRow): StreamRecord {
  return {
    id: row.id,
    ownerId: row.owner_id,
    ownerName: row.owner_name,
    title: row.title,
    tags: row.tags,
    category: row.category,
    language: row.language,
    live: row.live,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    viewerCount: row.viewer_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
