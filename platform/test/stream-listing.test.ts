import { describe, expect, it } from 'vitest';
import type { StreamListing, StreamListQuery, StreamRecord } from '@onair/platform';
import { STORAGE_KINDS, useTestDatabase } from '../../test/support/databases.js';
import { streamFixtures } from '../../test/support/stream-fixtures.js';
import { unique } from '../../test/support/unique-name.js';
import { appError } from '../../test/support/app-error.js';

/** Every page of a listing, following nextCursor to the end. */
async function allPages(listing: StreamListing, query: StreamListQuery): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await listing.list({ ...query, cursor });
    expect(page.items.length).toBeLessThanOrEqual(query.limit ?? 20);
    ids.push(...page.items.map((s) => s.id));
    cursor = page.nextCursor ?? undefined;
    pages++;
    if (pages > 100) throw new Error('pagination does not end');
  } while (cursor);
  return { ids, pages };
}

describe.each(STORAGE_KINDS)('the directory listing on %s storage', (kind) => {
  const t = useTestDatabase(kind);
  const setup = () => streamFixtures(t.db);

  it('paging through the directory yields every stream exactly once, in order, for both sorts', async () => {
    const { catalog, listing, newUser } = await setup();
    const owner = await newUser();
    const category = unique('paging');
    const created: string[] = [];
    for (let i = 0; i < 23; i++) {
      const { stream } = await catalog.create(owner.id, { title: `stream ${i}`, category, tags: ['paged'] });
      created.push(stream.id);
      if (i % 3 === 0) await catalog.markLive(stream.id);
      await catalog.setViewerCount(stream.id, i % 4); // many ties: order falls back to id
    }
    const all = await Promise.all(created.map((id) => catalog.get(id) as Promise<StreamRecord>));
    // Live streams first (an offline stream here still has a count: the order must not rely on 0s)
    const byViewers = [...all]
      .sort((a, b) => Number(b.live) - Number(a.live) || b.viewerCount - a.viewerCount || (a.id < b.id ? 1 : -1))
      .map((s) => s.id);
    // Microsecond timestamps: the database's own order is the reference (a JS Date keeps only ms).
    const byRecent = (
      await t.db.query<{ id: string }>(
        'SELECT id FROM streams WHERE category = $1 ORDER BY coalesce(started_at, created_at) DESC, id DESC',
        [category],
      )
    ).map((r) => r.id);
    expect(new Set(byRecent)).toEqual(new Set(created));

    for (const limit of [1, 5, 7, 23, 50]) {
      const viewers = await allPages(listing, { category, sort: 'viewers', limit });
      expect(viewers.ids).toEqual(byViewers);
      expect(viewers.pages).toBe(Math.max(1, Math.ceil(23 / limit)));
      const recent = await allPages(listing, { category, sort: 'recent', limit });
      expect(new Set(recent.ids).size).toBe(23);
      expect(recent.ids).toEqual(byRecent);
      // with two filters, the ended part is read through its filter key
      expect((await allPages(listing, { category, tag: 'paged', sort: 'viewers', limit })).ids).toEqual(byViewers);
      expect((await allPages(listing, { category, tag: 'paged', sort: 'recent', limit })).ids).toEqual(byRecent);
    }
  });

  it('a malformed cursor, or one from another sort, is refused', async () => {
    const { catalog, listing, newUser } = await setup();
    const owner = await newUser();
    const category = unique('cursor');
    for (let i = 0; i < 3; i++) await catalog.create(owner.id, { title: `c${i}`, category });
    const page = await listing.list({ category, limit: 1, sort: 'viewers' });
    expect(page.nextCursor).toBeTruthy();

    const forged = Buffer.from(JSON.stringify({ s: 'recent', k: '1; DROP TABLE streams', id: 'x' })).toString('base64url');
    for (const cursor of ['garbage!!', 'e30', forged, Buffer.from('[1,2]').toString('base64url')]) {
      const err = await appError(listing.list({ cursor }));
      expect([err.status, err.code]).toEqual([400, 'invalid_cursor']);
    }
    const mixed = await appError(listing.list({ category, sort: 'recent', cursor: page.nextCursor! }));
    expect(mixed.code).toBe('invalid_cursor');
  });

  it('the directory filters by live state, tag, category, language and text', async () => {
    const { catalog, listing, newUser } = await setup();
    const owner = await newUser('Zed');
    const marker = unique('m');
    const a = (
      await catalog.create(owner.id, { title: `${marker} chess blitz`, tags: ['chess', marker], category: 'Games', language: 'en' })
    ).stream;
    const b = (
      await catalog.create(owner.id, { title: `${marker} lo-fi beats`, tags: ['music', marker], category: 'Music', language: 'fr' })
    ).stream;
    const c = (await catalog.create(owner.id, { title: `${marker} 100% pure`, tags: [marker], category: 'Music', language: 'fr' })).stream;
    await catalog.markLive(b.id);
    const ids = async (query: StreamListQuery) => (await listing.list({ tag: marker, ...query })).items.map((s) => s.id).sort();

    expect(await ids({})).toEqual([a.id, b.id, c.id].sort());
    expect(await ids({ live: true })).toEqual([b.id]);
    expect(await ids({ live: false })).toEqual([a.id, c.id].sort());
    expect(await ids({ tag: 'CHESS' })).toEqual([a.id]);
    expect(await ids({ category: 'music' })).toEqual([b.id, c.id].sort());
    expect(await ids({ language: 'FR' })).toEqual([b.id, c.id].sort());
    expect(await ids({ q: 'BLITZ' })).toEqual([a.id]);
    expect(await ids({ q: 'music' })).toEqual([b.id, c.id].sort()); // tag and category
    expect(await ids({ q: '100%' })).toEqual([c.id]);
    expect(await ids({ q: '%' })).toEqual([]); // no words: wildcards are not patterns, so nothing matches
    expect(await ids({ q: owner.username.toLowerCase() })).toEqual([a.id, b.id, c.id].sort());
    // combinations of filters over ended streams (one filter key each), including an empty one
    expect(await ids({ live: false, category: 'MUSIC', language: 'fr' })).toEqual([c.id]);
    expect(await ids({ category: 'games', language: 'fr' })).toEqual([]);
    expect(await ids({ category: 'games', language: 'en', sort: 'recent' })).toEqual([a.id]);
    // the search over ended streams follows streams going offline
    expect(await ids({ q: 'beats', live: false })).toEqual([]);
    await catalog.markOffline(b.id, 'publisher_unpublished');
    expect(await ids({ q: 'beats', live: false })).toEqual([b.id]);
    expect(await ids({ q: 'beats', live: true })).toEqual([]);
  });

  it('repeated tag filters list the streams having every one of the tags', async () => {
    const { catalog, listing, newUser } = await setup();
    const owner = await newUser();
    const marker = unique('t');
    const a = (await catalog.create(owner.id, { title: 'a', tags: [marker, 'chess', 'blitz'], category: 'Games', language: 'en' })).stream;
    const b = (await catalog.create(owner.id, { title: 'b', tags: [marker, 'chess'], category: 'Games', language: 'fr' })).stream;
    const c = (await catalog.create(owner.id, { title: 'c', tags: [marker, 'blitz'], category: 'Games', language: 'en' })).stream;
    const ids = async (query: StreamListQuery) => (await listing.list(query)).items.map((s) => s.id).sort();

    // live and ended, ended only (one filter key per tag), live only (the live tags index), recent, search
    for (const scope of [{}, { live: false }, { sort: 'recent' as const }]) {
      expect(await ids({ ...scope, tag: [marker, 'chess'] })).toEqual([a.id, b.id].sort());
      expect(await ids({ ...scope, tag: ['#Chess', marker, 'BLITZ'] })).toEqual([a.id]); // normalised like stored tags
      expect(await ids({ ...scope, tag: [marker, 'chess', 'nosuchtag'] })).toEqual([]);
      expect(await ids({ ...scope, tag: [marker, 'chess'], language: 'fr' })).toEqual([b.id]);
      expect(await ids({ ...scope, tag: [marker, 'blitz', 'blitz', ''] })).toEqual([a.id, c.id].sort()); // duplicates and blanks ignored
    }
    expect(await ids({ live: true, tag: [marker, 'chess'] })).toEqual([]);
    await catalog.markLive(a.id);
    await catalog.markLive(c.id);
    expect(await ids({ live: true, tag: [marker, 'blitz'] })).toEqual([a.id, c.id].sort());
    expect(await ids({ live: true, tag: [marker, 'blitz', 'chess'] })).toEqual([a.id]);
    expect(await ids({ tag: [marker, 'chess'] })).toEqual([a.id, b.id].sort()); // live a, then ended b
    expect(await ids({ q: 'a', tag: [marker, 'chess'] })).toEqual([a.id]);

    const tooMany = await appError(listing.list({ tag: Array.from({ length: 11 }, (_, i) => `t${i}`) }));
    expect([tooMany.status, tooMany.code]).toEqual([400, 'invalid_query']);
  });

  it('page size defaults to 20 and is clamped to 1..100', async () => {
    const { catalog, listing, newUser } = await setup();
    const owner = await newUser();
    const category = unique('limit');
    for (let i = 0; i < 22; i++) await catalog.create(owner.id, { title: `l${i}`, category });
    expect((await listing.list({ category })).items).toHaveLength(20);
    expect((await listing.list({ category, limit: 0 })).items).toHaveLength(1);
    expect((await listing.list({ category, limit: 1000 })).items).toHaveLength(22);
  });
});
