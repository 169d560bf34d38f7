// The directory as viewers read it: `GET /api/streams` pages, cached and stable. Two jobs on top of
// StreamListing (which owns the filters, the cursors and the SQL) and StreamCatalog (the data):
//  - Stable paging under moving viewer counts. A listing sorted by viewers or relevance is a session:
//    its first page freezes the order of up to frozenMax (2,000) matching ids in the DirectoryStore; the
//    cursor names that frozen list and an offset. Later pages slice it and show current data, so no
//    stream appears twice and none is skipped however the counts change. Past the frozen part,
//    paging falls back to StreamListing's keyset cursor. Only orders that can move are frozen: live
//    streams by viewers (ended ones follow them, with 0 viewers, in a fixed order) and searches.
//  - Not asking PostgreSQL per request. Each page is cached for pageTtlMs under its normalised query
//    and the listing generation, which any create/edit/live/offline bumps; viewer counts are at most
//    pageTtlMs stale (they are written once a second anyway).
// Never holds stream data of record, and never trusts a cursor beyond what it can validate.
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { badRequest } from '../errors.js';
import type { StreamCatalog } from '../streams/stream-catalog.js';
import { normaliseCategory, normaliseLanguage, normaliseTagFilter } from '../streams/stream-input.js';
import type { StreamRecord } from '../streams/stream-record.js';
import type { DirectoryStore } from './directory-store.js';
import { clampLimit, resolveSort, type StreamListing, type StreamListQuery, type StreamPage } from './stream-listing.js';
import { parseSearchQuery } from './stream-search.js';

export interface StreamDirectoryOptions {
  /** How long a rendered page is reused (default 1000 ms). */
  pageTtlMs?: number;
  /** How long a listing session's frozen order lives after its first page (default 10 min). */
  listingTtlMs?: number;
  /**
   * At most this many ids are frozen per listing (default 2,000: 100 pages of 20). A popular
   * listing is frozen again about once a second (each time its first page leaves the cache), so
   * this times listingTtlMs bounds the store's memory: ~1.2 M ids (~25 MB in Redis) for the home page.
   */
  frozenMax?: number;
}

/** A page plus an ETag-ready fingerprint of its content. */
export interface DirectoryPage extends StreamPage {
  /** sha256 (base64url, 22 chars) of the page's JSON: equal pages have equal versions. */
  version: string;
}

const ListingCursor = z.strictObject({
  s: z.enum(['viewers', 'relevance']),
  l: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  o: z.number().int().min(1).max(1_000_000),
});
type ListingCursor = z.infer<typeof ListingCursor>;

export class StreamDirectory {
  private readonly pageTtlMs: number;
  private readonly listingTtlMs: number;
  private readonly frozenMax: number;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly catalog: StreamCatalog,
    private readonly listing: StreamListing,
    private readonly store: DirectoryStore,
    options: StreamDirectoryOptions = {},
  ) {
    this.pageTtlMs = options.pageTtlMs ?? 1000;
    this.listingTtlMs = options.listingTtlMs ?? 10 * 60_000;
    this.frozenMax = options.frozenMax ?? 2_000;
    this.unsubscribe = catalog.onListingChange(() => void this.store.bumpGeneration().catch(() => {}));
  }

  async list(query: StreamListQuery = {}): Promise<DirectoryPage> {
    const search = parseSearchQuery(query.q); // 400s for bad q before anything is cached
    const sort = resolveSort(query.sort, search !== null);
    const limit = clampLimit(query.limit);
    const tags = normaliseTagFilter(query.tag); // 400s for too many tags, likewise
    const normalised = {
      live: query.live,
      words: search?.words,
      tags: tags.length > 0 ? tags : undefined,
      category: query.category === undefined ? undefined : normaliseCategory(query.category).toLowerCase() || undefined,
      language: query.language === undefined ? undefined : normaliseLanguage(query.language) || undefined,
      sort,
      limit,
      cursor: query.cursor,
    };
    const generation = await this.store.generation();
    const key = `page:${generation}:${digest(JSON.stringify(normalised))}`;
    const cached = await this.store.get(key);
    if (cached !== null) return reviveDirectoryPage(cached);

    const page = await this.compute({ ...query, sort, limit });
    const json = JSON.stringify({ items: page.items, nextCursor: page.nextCursor });
    const result = { ...page, version: digest(json) };
    await this.store.set(key, JSON.stringify({ ...result, items: page.items }), this.pageTtlMs);
    return result;
  }

  /** Stops following the catalog's changes (the store is closed by its owner). */
  close(): void {
    this.unsubscribe();
  }

  private async compute(query: StreamListQuery & { sort: NonNullable<StreamListQuery['sort']>; limit: number }): Promise<StreamPage> {
    // Nothing to freeze where no order moves: start times only grow, ended streams have no viewers.
    if (query.sort === 'recent' || (query.sort === 'viewers' && query.live === false && !query.q?.trim())) return this.listing.list(query);
    const session = query.cursor ? decodeListingCursor(query.cursor, query.sort) : null;
    if (query.cursor && !session) return this.listing.list(query); // past the frozen part: keyset

    if (session) {
      const frozen = await this.store.readOrder(orderKey(session.l), session.o, query.limit);
      if (!frozen) throw badRequest('cursor_expired', 'this listing has expired; start again from the first page');
      const items = await this.catalog.getMany(frozen.ids);
      const end = session.o + frozen.ids.length;
      const nextCursor =
        end < frozen.total ? encodeListingCursor({ s: session.s, l: session.l, o: end }) : await this.store.get(tailKey(session.l));
      return { items, nextCursor: nextCursor || null };
    }

    // A new listing: freeze its order.
    const { cursor: _none, ...first } = query;
    // Ended streams after the live ones: only the first page's worth is frozen (their order is fixed).
    const order = await this.listing.listIdsWithPage(first, this.frozenMax, query.limit, query.limit);
    const items = order.items;
    if (order.ids.length <= query.limit) return { items, nextCursor: order.nextCursor };
    const id = randomBytes(16).toString('base64url');
    await this.store.saveOrder(orderKey(id), order.ids, this.listingTtlMs);
    if (order.nextCursor) await this.store.set(tailKey(id), order.nextCursor, this.listingTtlMs);
    return { items, nextCursor: encodeListingCursor({ s: query.sort as ListingCursor['s'], l: id, o: query.limit }) };
  }
}

const orderKey = (listing: string) => `order:${listing}`;
const tailKey = (listing: string) => `tail:${listing}`;

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

function encodeListingCursor(cursor: ListingCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** A listing cursor of this sort; null for any other well-formed JSON (a keyset cursor, checked by StreamListing). */
function decodeListingCursor(text: string, sort: string): ListingCursor | null {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof json !== 'object' || json === null || !('l' in json)) return null;
  const parsed = ListingCursor.safeParse(json);
  if (!parsed.success || parsed.data.s !== sort) throw badRequest('invalid_cursor', 'cursor is not one this listing gave out');
  return parsed.data;
}

const DATE_FIELDS = ['startedAt', 'endedAt', 'createdAt', 'updatedAt'] as const;

function reviveDirectoryPage(json: string): DirectoryPage {
  const page = JSON.parse(json) as DirectoryPage;
  for (const item of page.items as unknown as Record<string, unknown>[]) {
    for (const field of DATE_FIELDS) if (typeof item[field] === 'string') item[field] = new Date(item[field]);
  }
  return page as DirectoryPage & { items: StreamRecord[] };
}
