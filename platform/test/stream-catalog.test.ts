import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Accounts, StreamCatalog, type AuthUser, type StreamListQuery, type StreamRecord } from '@onair/platform';
import { STORAGE_KINDS, useTestDatabase } from '../../test/support/databases.js';
import { appError } from '../../test/support/app-error.js';

let seq = 0;
const unique = (prefix: string) => `${prefix}${process.pid % 1000}x${++seq}`;

/** Every page of a listing, following nextCursor to the end. */
async function allPages(catalog: StreamCatalog, query: StreamListQuery): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await catalog.list({ ...query, cursor });
    expect(page.items.length).toBeLessThanOrEqual(query.limit ?? 20);
    ids.push(...page.items.map((s) => s.id));
    cursor = page.nextCursor ?? undefined;
    pages++;
    if (pages > 100) throw new Error('pagination does not end');
  } while (cursor);
  return { ids, pages };
}

describe.each(STORAGE_KINDS)('stream catalog on %s storage', (kind) => {
  const t = useTestDatabase(kind);
  const setup = async () => {
    const accounts = await Accounts.open(t.db, { jwtTtlSeconds: 60 });
    const catalog = new StreamCatalog(t.db);
    const newUser = async (prefix = 'u'): Promise<AuthUser> => (await accounts.register(unique(prefix), 'password123')).user;
    return { accounts, catalog, newUser };
  };

  it('a new stream is offline, normalised, and comes with a one-time stream key', async () => {
    const { catalog, newUser } = await setup();
    const owner = await newUser('owner');
    const { stream, streamKey } = await catalog.create(owner.id, {
      title: '  Late night coding  ',
      tags: ['TypeScript', ' live coding ', 'typescript', ''],
      category: ' Software ',
      language: 'PT_BR',
    });
    expect(stream).toMatchObject({
      title: 'Late night coding',
      tags: ['typescript', 'live-coding'],
      category: 'Software',
      language: 'pt-br',
      ownerId: owner.id,
      ownerName: owner.username,
      live: false,
      viewerCount: 0,
      startedAt: null,
    });
    expect(stream.id).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(streamKey).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(await catalog.get(stream.id)).toEqual(stream);

    const defaults = await catalog.create(owner.id, { title: 'x' });
    expect(defaults.stream).toMatchObject({ tags: [], category: '', language: 'en' });
  });

  it('the database never contains the stream key, only its sha256', async () => {
    const { catalog, newUser } = await setup();
    const { stream, streamKey } = await catalog.create((await newUser()).id, { title: 'secret keeper' });
    const rows = await t.db.query<{ row: string; stream_key_hash: string }>(
      'SELECT row_to_json(s)::text AS row, s.stream_key_hash FROM streams s WHERE id = $1',
      [stream.id],
    );
    expect(rows[0]?.row).not.toContain(streamKey);
    expect(rows[0]?.row).not.toContain(streamKey.slice(3));
    expect(rows[0]?.stream_key_hash).toBe(createHash('sha256').update(streamKey).digest('hex'));
    expect(JSON.stringify(await catalog.get(stream.id))).not.toContain(streamKey);
  });

  it('only the current stream key is accepted, and rotating replaces it', async () => {
    const { catalog, newUser } = await setup();
    const owner = await newUser();
    const { stream, streamKey } = await catalog.create(owner.id, { title: 'rotation' });
    expect(await catalog.verifyStreamKey(stream.id, streamKey)).toBe(true);
    expect(await catalog.verifyStreamKey(stream.id, `${streamKey}x`)).toBe(false);
    expect(await catalog.verifyStreamKey('nosuchstream', streamKey)).toBe(false);

    const rotated = await catalog.rotateKey(stream.id, owner);
    expect(rotated).not.toBe(streamKey);
    expect(await catalog.verifyStreamKey(stream.id, streamKey)).toBe(false);
    expect(await catalog.verifyStreamKey(stream.id, rotated)).toBe(true);

    const stranger = await newUser();
    const err = await appError(catalog.rotateKey(stream.id, stranger));
    expect([err.status, err.code]).toEqual([403, 'forbidden']);
    expect(await catalog.verifyStreamKey(stream.id, rotated)).toBe(true);
  });

  it.each([
    ['an empty title', { title: '   ' }, 'invalid_title'],
    ['a 141-character title', { title: 'x'.repeat(141) }, 'invalid_title'],
    ['a missing title', {}, 'invalid_title'],
    ['eleven tags', { title: 't', tags: Array.from({ length: 11 }, (_, i) => `tag${i}`) }, 'invalid_tags'],
    ['a tag with punctuation', { title: 't', tags: ['c++'] }, 'invalid_tags'],
    ['a 26-character tag', { title: 't', tags: ['x'.repeat(26)] }, 'invalid_tags'],
    ['tags that are not strings', { title: 't', tags: [1, 2] }, 'invalid_tags'],
    ['a 51-character category', { title: 't', category: 'c'.repeat(51) }, 'invalid_category'],
    ['a language that is not a code', { title: 't', language: 'english' }, 'invalid_language'],
    ['a language with symbols', { title: 't', language: 'e!' }, 'invalid_language'],
  ])('a stream with %s is refused', async (_name, input, code) => {
    const { catalog, newUser } = await setup();
    const err = await appError(catalog.create((await newUser()).id, input as never));
    expect([err.status, err.code]).toEqual([400, code]);
  });

  it('the owner and admins may edit a stream, nobody else', async () => {
    const { catalog, newUser } = await setup();
    const owner = await newUser('owner');
    const { stream } = await catalog.create(owner.id, { title: 'before', tags: ['a'] });

    const edited = await catalog.update(stream.id, owner, { title: ' after ', tags: ['B', 'b c'] });
    expect(edited).toMatchObject({ title: 'after', tags: ['b', 'b-c'], category: '', language: 'en' });
    expect(edited.updatedAt.getTime()).toBeGreaterThanOrEqual(stream.updatedAt.getTime());

    const stranger = await newUser('stranger');
    const denied = await appError(catalog.update(stream.id, stranger, { title: 'hijacked' }));
    expect([denied.status, denied.code]).toEqual([403, 'forbidden']);
    expect((await catalog.get(stream.id))?.title).toBe('after');

    const admin = await newUser('admin');
    await t.db.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [admin.id]);
    const byAdmin = await catalog.update(stream.id, { ...admin, role: 'admin' }, { category: 'Music' });
    expect(byAdmin.category).toBe('Music');

    const missing = await appError(catalog.update('doesnotexist', owner, { title: 'x' }));
    expect([missing.status, missing.code]).toEqual([404, 'stream_not_found']);
    const invalid = await appError(catalog.update(stream.id, owner, { title: '' }));
    expect([invalid.status, invalid.code]).toEqual([400, 'invalid_title']);
    expect(await catalog.update(stream.id, owner, {})).toMatchObject({ title: 'after', category: 'Music' });
  });

  it('going live and offline sets the times and resets the viewer count', async () => {
    const { catalog, newUser } = await setup();
    const { stream } = await catalog.create((await newUser()).id, { title: 'live show' });
    await catalog.markLive(stream.id);
    await catalog.setViewerCount(stream.id, 42);
    const live = await catalog.get(stream.id);
    expect(live).toMatchObject({ live: true, viewerCount: 42, endedAt: null });
    expect(live?.startedAt).toBeInstanceOf(Date);

    await catalog.setViewerCount(stream.id, -3);
    expect((await catalog.get(stream.id))?.viewerCount).toBe(0);

    await catalog.setViewerCount(stream.id, 7);
    await catalog.markOffline(stream.id);
    const ended = await catalog.get(stream.id);
    expect(ended).toMatchObject({ live: false, viewerCount: 0 });
    expect(ended?.endedAt).toBeInstanceOf(Date);

    const err = await appError(catalog.markLive('doesnotexist'));
    expect(err.code).toBe('stream_not_found');
  });

  it('paging through the directory yields every stream exactly once, in order, for both sorts', async () => {
    const { catalog, newUser } = await setup();
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
      const viewers = await allPages(catalog, { category, sort: 'viewers', limit });
      expect(viewers.ids).toEqual(byViewers);
      expect(viewers.pages).toBe(Math.max(1, Math.ceil(23 / limit)));
      const recent = await allPages(catalog, { category, sort: 'recent', limit });
      expect(new Set(recent.ids).size).toBe(23);
      expect(recent.ids).toEqual(byRecent);
      // with two filters, the ended part is read through its filter key
      expect((await allPages(catalog, { category, tag: 'paged', sort: 'viewers', limit })).ids).toEqual(byViewers);
      expect((await allPages(catalog, { category, tag: 'paged', sort: 'recent', limit })).ids).toEqual(byRecent);
    }
  });

  it('a malformed cursor, or one from another sort, is refused', async () => {
    const { catalog, newUser } = await setup();
    const owner = await newUser();
    const category = unique('cursor');
    for (let i = 0; i < 3; i++) await catalog.create(owner.id, { title: `c${i}`, category });
    const page = await catalog.list({ category, limit: 1, sort: 'viewers' });
    expect(page.nextCursor).toBeTruthy();

    const forged = Buffer.from(JSON.stringify({ s: 'recent', k: "1; DROP TABLE streams", id: 'x' })).toString('base64url');
    for (const cursor of ['garbage!!', 'e30', forged, Buffer.from('[1,2]').toString('base64url')]) {
      const err = await appError(catalog.list({ cursor }));
      expect([err.status, err.code]).toEqual([400, 'invalid_cursor']);
    }
    const mixed = await appError(catalog.list({ category, sort: 'recent', cursor: page.nextCursor! }));
    expect(mixed.code).toBe('invalid_cursor');
  });

  it('the directory filters by live state, tag, category, language and text', async () => {
    const { catalog, newUser } = await setup();
    const owner = await newUser('Zed');
    const marker = unique('m');
    const a = (await catalog.create(owner.id, { title: `${marker} chess blitz`, tags: ['chess', marker], category: 'Games', language: 'en' })).stream;
    const b = (await catalog.create(owner.id, { title: `${marker} lo-fi beats`, tags: ['music', marker], category: 'Music', language: 'fr' })).stream;
    const c = (await catalog.create(owner.id, { title: `${marker} 100% pure`, tags: [marker], category: 'Music', language: 'fr' })).stream;
    await catalog.markLive(b.id);
    const ids = async (query: StreamListQuery) => (await catalog.list({ tag: marker, ...query })).items.map((s) => s.id).sort();

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
    await catalog.markOffline(b.id);
    expect(await ids({ q: 'beats', live: false })).toEqual([b.id]);
    expect(await ids({ q: 'beats', live: true })).toEqual([]);
  });

  it('page size defaults to 20 and is clamped to 1..100', async () => {
    const { catalog, newUser } = await setup();
    const owner = await newUser();
    const category = unique('limit');
    for (let i = 0; i < 22; i++) await catalog.create(owner.id, { title: `l${i}`, category });
    expect((await catalog.list({ category })).items).toHaveLength(20);
    expect((await catalog.list({ category, limit: 0 })).items).toHaveLength(1);
    expect((await catalog.list({ category, limit: 1000 })).items).toHaveLength(22);
  });

  it('only the owner grants and revokes moderation', async () => {
    const { catalog, newUser } = await setup();
    const owner = await newUser('owner');
    const mod = await newUser('mod');
    const stranger = await newUser('stranger');
    const { stream } = await catalog.create(owner.id, { title: 'moderated' });

    expect(await catalog.isModerator(stream.id, mod.id)).toBe(false);
    expect(await catalog.addModerator(stream.id, owner, mod.id)).toEqual({ userId: mod.id, username: mod.username });
    await catalog.addModerator(stream.id, owner, mod.id); // idempotent
    expect(await catalog.isModerator(stream.id, mod.id)).toBe(true);
    expect(await catalog.listModerators(stream.id)).toEqual([{ userId: mod.id, username: mod.username }]);

    const denied = await appError(catalog.addModerator(stream.id, stranger, stranger.id));
    expect([denied.status, denied.code]).toEqual([403, 'forbidden']);
    const byMod = await appError(catalog.removeModerator(stream.id, mod, mod.id));
    expect(byMod.code).toBe('forbidden');
    const unknownUser = await appError(catalog.addModerator(stream.id, owner, '00000000-0000-4000-8000-000000000000'));
    expect([unknownUser.status, unknownUser.code]).toEqual([404, 'user_not_found']);
    const unknownStream = await appError(catalog.addModerator('doesnotexist', owner, mod.id));
    expect(unknownStream.code).toBe('stream_not_found');

    await catalog.removeModerator(stream.id, owner, mod.id);
    expect(await catalog.isModerator(stream.id, mod.id)).toBe(false);
    expect(await catalog.isModerator(stream.id, 'not-a-uuid')).toBe(false);
  });
});
