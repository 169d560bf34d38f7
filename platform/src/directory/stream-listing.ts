// The directory's listing planner: turns a listing query (live, tags, category, language, a search,
// a sort and a cursor) into the SQL that reads one page of streams, keyset-paginated on the sort's
// ordering values, and the opaque cursors that continue it. It and StreamSearch (stream-search.ts,
// which it asks for a search's candidates, filter and score) are the only owners of the directory's
// SQL. Reads only: it never writes a stream, never caches or freezes a listing (StreamDirectory does)
// and never trusts a cursor beyond what its schema accepts. Every shape is bounded by an index or a
// candidate set, and anything that may read ended streams runs under the statement guard.
import { z } from 'zod';
import type { Database } from '../db/database.js';
import { badRequest } from '../errors.js';
import { normaliseCategory, normaliseLanguage, normaliseTagFilter } from '../streams/stream-input.js';
import { STREAM_FROM, STREAM_COLUMNS, toRecord, type StreamRecord, type StreamRow } from '../streams/stream-record.js';
import {
  parseSearchQuery,
  PostgresStreamSearch,
  SEARCH_TIMEOUT_MS,
  type AddParam,
  type SearchQuery,
  type StreamSearch,
} from './stream-search.js';

/** `relevance` needs `q`; it is the default sort when `q` is given, `viewers` otherwise. */
export type StreamSort = 'viewers' | 'recent' | 'relevance';

export interface StreamListQuery {
  live?: boolean;
  q?: string;
  /** One tag or several: a stream is listed when it has every one (AND); at most MAX_TAGS. */
  tag?: string | readonly string[];
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

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

// ---- cursors ----------------------------------------------------------------------------------

const Cursor = z.discriminatedUnion('s', [
  // e: the last item was an ended stream (viewers lists live streams first, then ended ones)
  z.object({
    s: z.literal('viewers'),
    v: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1),
    id: z.string().max(64),
    e: z.literal(1).optional(),
  }),
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

// ---- the planner ------------------------------------------------------------------------------

/** STREAM_COLUMNS but those a listing's ids query already returns (id, live, viewer_count). */
const PAGE_COLUMNS = `s.owner_id, u.username AS owner_name, s.title, s.tags, s.category, s.language,
  s.started_at, s.ended_at, s.created_at, s.updated_at`;
/** What `sort=recent` orders by: when it last went live, else when it was created. */
const RECENT_KEY = 'coalesce(s.started_at, s.created_at)';
/** PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout. */
const QUERY_CANCELED = '57014';
const RECENT_US = `(extract(epoch FROM ${RECENT_KEY}) * 1000000)::bigint::text`;

/** A listing of ids only (see StreamListing.listIds). */
export interface StreamIdPage {
  ids: string[];
  nextCursor: string | null;
}

/** A listing of ids with the records of the first ones (see StreamListing.listIdsWithPage). */
export interface StreamIdPageWithItems extends StreamIdPage {
  /** The records of the first `pageSize` ids, in the same order. */
  items: StreamRecord[];
}

/**
 * What a listing query returns per row: `full` every row's record; `ids` ids and sort keys only;
 * `{ page: n }` ids and sort keys, plus the record of the first n rows (read in the same statement).
 */
type Rows = 'full' | 'ids' | { page: number };

export class StreamListing {
  constructor(
    private readonly db: Database,
    private readonly search: StreamSearch = new PostgresStreamSearch(),
  ) {}

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
    const tags = normaliseTagFilter(query.tag);
    const category = query.category === undefined ? '' : normaliseCategory(query.category);
    const language = query.language === undefined ? '' : normaliseLanguage(query.language);
    const filters = [category, language].filter((f) => f !== '').length + tags.length;
    if ((filters >= 2 || tags.length > 0) && query.live !== true && !search) {
      // Over ended streams, a tag or a combination of filters is one GIN entry (migration 005):
      // exactly the matching streams, however rare the combination, instead of an ordered scan
      // that filters through everything when the combination is rare or empty. Several tags are one
      // entry each, all of which the stream must hold.
      const c = param(category || null);
      const l = param(language || null);
      const keys =
        tags.length === 0 ? [`stream_filter_key(NULL, ${c}, ${l})`] : tags.map((t) => `stream_filter_key(${param(t)}, ${c}, ${l})`);
      where.push(`s.filter_keys @> ARRAY[${keys.join(', ')}]`);
    } else {
      if (tags.length > 0) where.push(`s.tags @> ${param(tags)}::text[]`);
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
    const result =
      setup.length === 0 ? await this.db.query<StreamRow>(sql, params) : await this.guarded(setup, sql, params, search !== null);
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
