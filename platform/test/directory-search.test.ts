import { describe, expect, it } from 'vitest';
import {
  Accounts,
  AppError,
  ENDED_CANDIDATES_PER_WORD,
  MemoryDirectoryStore,
  PostgresStreamSearch,
  RedisDirectoryStore,
  StreamCatalog,
  StreamDirectory,
  StreamListing,
  parseSearchQuery,
  type Database,
  type DirectoryStore,
  type StreamListQuery,
  type StreamSearch,
} from '@onair/platform';
import { STORAGE_KINDS, useTestDatabase } from '../../test/support/databases.js';
import { streamFixtures } from '../../test/support/stream-fixtures.js';
import { unique } from '../../test/support/unique-name.js';
import { appError } from '../../test/support/app-error.js';
import { TEST_SCRYPT } from '../../test/support/fast-hashing.js';

const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The same Database, counting the statements that reach it. */
function counting(db: Database): { db: Database; count: () => number } {
  let n = 0;
  const wrapped: Database = {
    kind: db.kind,
    capabilities: db.capabilities,
    query: (text, params) => {
      n++;
      return db.query(text, params);
    },
    transaction: (fn) => db.transaction(fn),
    ping: () => db.ping(),
    close: () => db.close(),
  };
  return { db: wrapped, count: () => n };
}

/** A deterministic shuffle of viewer counts (a small LCG), different for each round. */
function pseudoRandom(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe('search query parsing', () => {
  it('splits on everything but letters and digits, lower-cases, dedupes and bounds the words', () => {
    expect(parseSearchQuery('  ')).toBeNull();
    expect(parseSearchQuery(undefined)).toBeNull();
    expect(parseSearchQuery("Minecraft  SPEEDRUN minecraft'; DROP TABLE streams; --")?.words).toEqual([
      'minecraft',
      'speedrun',
      'drop',
      'table',
      'streams',
    ]);
    expect(parseSearchQuery('.* | & ! :* \\ %_ ()')?.words).toEqual([]);
    expect(parseSearchQuery('Ünïcödé ＦＵＬＬＷＩＤＴＨ')?.words).toEqual(['ünïcödé', 'fullwidth']);
    expect(parseSearchQuery('a b c d e f g h i j k')?.words).toHaveLength(8);
  });

  it('an over-long query is a 400, not a slow search', () => {
    expect(() => parseSearchQuery('x'.repeat(201))).toThrow(AppError);
    try {
      parseSearchQuery('x'.repeat(201));
    } catch (err) {
      expect([(err as AppError).status, (err as AppError).code]).toEqual([400, 'invalid_query']);
    }
  });
});

describe('the in-process directory store', () => {
  it('expires entries and stays within its bounds on entries and frozen ids', async () => {
    let now = 0;
    const store = new MemoryDirectoryStore(3, 100, () => now);
    await store.set('a', '1', 10);
    expect(await store.get('a')).toBe('1');
    now = 10;
    expect(await store.get('a')).toBeNull();

    await store.saveOrder(
      'o1',
      Array.from({ length: 60 }, (_, i) => `x${i}`),
      1000,
    );
    await store.saveOrder(
      'o2',
      Array.from({ length: 30 }, (_, i) => `y${i}`),
      1000,
    );
    expect((await store.readOrder('o1', 58, 5))?.ids).toEqual(['x58', 'x59']);
    await store.saveOrder(
      'o3',
      Array.from({ length: 30 }, (_, i) => `z${i}`),
      1000,
    ); // 60 + 30 + 30 > 100 ids
    expect(await store.readOrder('o1', 0, 1)).toBeNull(); // the oldest went
    expect((await store.readOrder('o2', 0, 1))?.total).toBe(30);
    await store.set('b', '2', 1000);
    await store.set('c', '3', 1000); // a 4th entry: over 3 entries
    expect(await store.readOrder('o2', 0, 1)).toBeNull();
    expect([await store.get('b'), await store.get('c')]).toEqual(['2', '3']);
    await store.close();
  });
});

describe.each(STORAGE_KINDS)('directory search on %s storage', (kind) => {
  const t = useTestDatabase(kind);
  const setup = () => streamFixtures(t.db);

  it('finds a title despite typos and partial words, best match first', async () => {
    const { catalog, listing, newUser } = await setup();
    const owner = await newUser();
    const category = unique('cat');
    const make = async (title: string, tags: string[] = []) => (await catalog.create(owner.id, { title, tags, category })).stream.id;
    const speedrun = await make('Minecraft Speedrun any% world record attempts');
    const building = await make('Minecraft building a castle');
    const other = await make('Chess blitz with viewers');
    const search = async (q: string) => (await listing.list({ q, category })).items.map((s) => s.id);

    expect((await search('minecraf speedrn'))[0]).toBe(speedrun);
    expect(await search('minecraf speedrn')).not.toContain(other);
    expect(await search('minecraft speedrun')).toEqual([speedrun]); // every word must match
    expect(new Set(await search('minecr'))).toEqual(new Set([speedrun, building])); // prefix
    expect(new Set(await search('mincraft'))).toEqual(new Set([speedrun, building])); // a missing letter
    expect(await search('cstle')).toEqual([building]);
    expect(await search('blitz chess')).toEqual([other]); // word order does not matter
    expect(await search('zzyzx')).toEqual([]);
  });

  it('a tag match ranks above the same word as noise in titles', async () => {
    const { catalog, listing, newUser } = await setup();
    const owner = await newUser();
    const category = unique('cat');
    const noise1 = (await catalog.create(owner.id, { title: 'talking about retro consoles and retro games', category })).stream.id;
    const tagged = (await catalog.create(owner.id, { title: 'Sunday stream', tags: ['retro'], category })).stream.id;
    const noise2 = (await catalog.create(owner.id, { title: 'retro', category })).stream.id;
    const page = await listing.list({ q: 'retro', category });
    expect(page.items.map((s) => s.id)).toEqual([tagged, expect.any(String), expect.any(String)]);
    expect(new Set(page.items.map((s) => s.id))).toEqual(new Set([tagged, noise1, noise2]));
  });

  it("matches the owner's name, the category and hyphenated tags", async () => {
    const { catalog, listing, newUser } = await setup();
    const owner = await newUser('Zelda');
    const category = unique('Speed Cubing');
    const a = (await catalog.create(owner.id, { title: 'morning session', tags: ['Speed Run'], category })).stream.id;
    const byOwner = await listing.list({ q: owner.username.slice(0, 5), category });
    expect(byOwner.items.map((s) => s.id)).toEqual([a]);
    expect((await listing.list({ q: 'cubing', category })).items.map((s) => s.id)).toEqual([a]);
    expect((await listing.list({ q: 'speed-run', category })).items.map((s) => s.id)).toEqual([a]);
    expect((await listing.list({ q: 'run', category })).items.map((s) => s.id)).toEqual([a]);
  });

  it('SQL, LIKE, regex and tsquery metacharacters are plain text', async () => {
    const { catalog, listing, newUser } = await setup();
    const owner = await newUser();
    const category = unique('cat');
    const a = (await catalog.create(owner.id, { title: "O'Brien's 100% (live) [c++]", category })).stream.id;
    for (const q of ["'; DROP TABLE streams; --", '.*', '%', '_', '\\', 'a & b | !c', ':*', '<->', '(((', "'", '$1']) {
      const page = await listing.list({ q, category });
      expect(page.items.map((s) => s.id)).toEqual([]);
    }
    expect((await listing.list({ q: "o'brien's", category })).items.map((s) => s.id)).toEqual([a]);
    expect((await listing.list({ q: '100%', category })).items.map((s) => s.id)).toEqual([a]);
    expect((await t.db.query('SELECT count(*)::int AS n FROM streams'))[0]).toMatchObject({ n: expect.any(Number) });
  });

  it('search combines with live, tag, category and language filters', async () => {
    const { catalog, listing, newUser } = await setup();
    const owner = await newUser();
    const category = unique('Games');
    const mk = async (title: string, tags: string[], language: string, live: boolean) => {
      const { stream } = await catalog.create(owner.id, { title, tags, category, language });
      if (live) await catalog.markLive(stream.id);
      return stream.id;
    };
    const enLive = await mk('Zelda speedrun glitchless', ['speedrun', 'zelda'], 'en', true);
    const frLive = await mk('Zelda speedrun en français', ['speedrun'], 'fr', true);
    const enOff = await mk('Zelda speedrun practice', ['zelda'], 'en', false);
    await mk('Mario kart', ['speedrun'], 'en', true);
    const ids = async (query: StreamListQuery) => (await listing.list({ category, ...query })).items.map((s) => s.id).sort();

    expect(await ids({ q: 'zelda speedrun' })).toEqual([enLive, frLive, enOff].sort());
    expect(await ids({ q: 'zelda speedrun', live: true })).toEqual([enLive, frLive].sort());
    expect(await ids({ q: 'zelda', live: true, language: 'EN' })).toEqual([enLive]);
    expect(await ids({ q: 'zeld', tag: '#Zelda' })).toEqual([enLive, enOff].sort());
    expect(await ids({ q: 'zelda', tag: 'speedrun', language: 'fr', live: true, category: `  ${category.toUpperCase()} ` })).toEqual([
      frLive,
    ]);
    expect(await ids({ q: 'zelda', live: false, language: 'fr' })).toEqual([]);
  });

  it('relevance pages never repeat or skip a match', async () => {
    const { catalog, listing, newUser } = await setup();
    const owner = await newUser();
    const category = unique('cat');
    for (let i = 0; i < 17; i++) {
      const tags = i % 3 === 0 ? ['puzzle'] : [];
      await catalog.create(owner.id, { title: `${'puzzle '.repeat(1 + (i % 4))}night ${i}`, tags, category });
    }
    const all = (await listing.list({ q: 'puzzle', category, limit: 100 })).items.map((s) => s.id);
    expect(all).toHaveLength(17);
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listing.list({ q: 'puzzle', category, limit: 4, cursor });
      paged.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(paged).toEqual(all);
  });

  it('sort=relevance needs q', async () => {
    const { listing } = await setup();
    const err = await appError(listing.list({ sort: 'relevance' }));
    expect([err.status, err.code]).toEqual([400, 'invalid_query']);
  });

  it('tags and categories are normalised: case, "#", spaces, dashes and duplicates', async () => {
    const { catalog, newUser } = await setup();
    const owner = await newUser();
    const { stream } = await catalog.create(owner.id, {
      title: 't',
      tags: ['#Speed  Run', 'speed--run', '-Retro-', 'RETRO', '##'],
      category: '  Just   Chatting ',
    });
    expect(stream.tags).toEqual(['speed-run', 'retro']);
    expect(stream.category).toBe('Just Chatting');
    const err = await appError(catalog.create(owner.id, { title: 't', tags: ['c#'] }));
    expect(err.code).toBe('invalid_tags');
  });

  it('every search reads bounded candidates from indexes (no sequential scan of streams)', async () => {
    const search = new PostgresStreamSearch();
    for (const scope of ['live', 'ended', 'all'] as const) {
      for (const q of ['minecraf speedrn', 'a', 'lo fi', 'zelda']) {
        const params: unknown[] = [];
        const sql = search.match(parseSearchQuery(q)!, (v) => `$${params.push(v)}`, scope);
        const live = scope === 'live' ? 's.live AND ' : scope === 'ended' ? 'NOT s.live AND ' : '';
        const plan = await t.db.transaction(async (tx) => {
          for (const statement of [...sql.setup, 'SET LOCAL enable_seqscan = off']) await tx.query(statement);
          const rows = await tx.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN ${sql.with ? `WITH ${sql.with} ` : ''}SELECT s.id, ${sql.score} FROM ${sql.source} ${sql.from} WHERE ${live}${sql.where}`,
            params,
          );
          return rows.map((r) => r['QUERY PLAN']).join('\n');
        });
        expect(plan, `${scope} ${q}\n${plan}`).not.toMatch(/Seq Scan on (streams|search_postings)/);
        // candidates come from the postings of live and/or ended streams; streams are read by id
        expect(plan).toMatch(/streams_pkey/);
        if (scope !== 'ended') expect(plan, `${scope} ${q}\n${plan}`).toMatch(/search_postings_live_idx/);
        if (scope !== 'live') expect(plan).toMatch(/search_postings_ended_idx/);
      }
    }
  });

  it('over the whole history, candidates are bounded yet rare words in ended streams are found', async () => {
    const { catalog, listing, newUser } = await setup();
    const owner = await newUser();
    const category = unique('cat');
    // More ended streams sharing a word than one word may contribute as candidates...
    const many = ENDED_CANDIDATES_PER_WORD + 20;
    await t.db.query(
      `INSERT INTO streams (id, owner_id, title, category, stream_key_hash)
       SELECT $1 || i, $2, 'glimmerwort meadow ' || i, $3, 'x' FROM generate_series(1, ${many}) i`,
      [unique('gw'), owner.id, category],
    );
    const rare = (await catalog.create(owner.id, { title: 'a glimmerwort rarity', category, tags: ['quixotic'] })).stream.id;
    const tagged = (await catalog.create(owner.id, { title: 'sunday', tags: ['glimmerwort'], category })).stream.id;
    const live = (await catalog.create(owner.id, { title: 'glimmerwort live show', category })).stream.id;
    await catalog.markLive(live);

    // ...a common word is answered from a bounded set: live matches, tag matches, newest titles.
    const common = await listing.list({ q: 'glimmerwort', limit: 100 });
    expect(common.items[0]?.id).toBe(tagged); // the tag match first
    const found = common.items.map((s) => s.id);
    for (let cursor = common.nextCursor; cursor; ) {
      const page = await listing.list({ q: 'glimmerwort', limit: 100, cursor });
      found.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor;
    }
    expect(new Set(found).size).toBe(found.length);
    expect(found).toContain(live);
    expect(found).toContain(rare); // among the newest title matches
    expect(found.length).toBeGreaterThan(ENDED_CANDIDATES_PER_WORD - 10);
    expect(found.length).toBeLessThanOrEqual(ENDED_CANDIDATES_PER_WORD + 2); // bounded: not all 420+ matches
    // sorted by viewers, the live match comes first
    expect((await listing.list({ q: 'glimmerwort', sort: 'viewers' })).items[0]?.id).toBe(live);
    // A rare word finds its ended stream, with typos and as a prefix, also combined with a common word.
    for (const q of ['quixotic', 'quixotc', 'quixo', 'glimmerwort quixotic']) {
      expect((await listing.list({ q, live: false })).items.map((s) => s.id)).toEqual([rare]);
      expect((await listing.list({ q })).items.map((s) => s.id)).toEqual([rare]);
    }
    expect((await listing.list({ q: 'glimmerwort', live: true })).items.map((s) => s.id)).toEqual([live]);
  });

  // PostgreSQL only: embedded PGlite runs queries in-process with no statement timer to cancel them.
  it.runIf(kind === 'postgres')('a search cancelled by the statement guard is a 400 search_too_broad, not a 500', async () => {
    const { newUser } = await setup();
    const owner = await newUser();
    const category = unique('cat');
    // The real search, made slow (a sleep per candidate) under a short guard.
    const slow: StreamSearch = {
      match: (query, param, scope) => {
        const sql = new PostgresStreamSearch().match(query, param, scope);
        return { ...sql, where: `${sql.where} AND pg_sleep(0.2) IS NOT NULL`, setup: [...sql.setup, 'SET LOCAL statement_timeout = 50'] };
      },
    };
    await new StreamCatalog(t.db).create(owner.id, { title: 'slowpoke marathon', category });
    const err = await appError(new StreamListing(t.db, slow).list({ q: 'slowpoke' }));
    expect([err.status, err.code]).toEqual([400, 'search_too_broad']);
    // the guard is per query: the connection is fine afterwards
    expect((await new StreamListing(t.db).list({ q: 'slowpoke' })).items).toHaveLength(1);
  });

  it("a renamed owner's streams are found by the new name", async () => {
    const { catalog, listing, newUser } = await setup();
    const owner = await newUser();
    const category = unique('cat');
    const { stream } = await catalog.create(owner.id, { title: 'x', category });
    const name = unique('Renamed');
    await t.db.query('UPDATE users SET username = $2, username_key = lower($2) WHERE id = $1', [owner.id, name]);
    expect((await listing.list({ q: name, category })).items.map((s) => s.id)).toEqual([stream.id]);
  });
});

describe.each(STORAGE_KINDS)('the directory on %s storage', (kind) => {
  const t = useTestDatabase(kind);
  const setup = async (store: DirectoryStore = new MemoryDirectoryStore(), options = {}) => {
    const accounts = await Accounts.open(t.db, { jwtTtlSeconds: 60, scrypt: TEST_SCRYPT });
    const catalog = new StreamCatalog(t.db);
    const listing = new StreamListing(t.db);
    const directory = new StreamDirectory(catalog, listing, store, options);
    const owner = (await accounts.register(unique('owner'), 'password123')).user;
    const category = unique('cat');
    const liveStreams = async (n: number, title = 'stream') => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const { stream } = await catalog.create(owner.id, { title: `${title} ${i}`, category });
        await catalog.markLive(stream.id);
        await catalog.setViewerCount(stream.id, (i * 7) % 11);
        ids.push(stream.id);
      }
      return ids;
    };
    return { catalog, listing, directory, category, liveStreams };
  };

  /** Pages through a listing, scrambling every viewer count between two pages. */
  async function pageWhileCountsChange(
    directory: StreamDirectory,
    catalog: StreamCatalog,
    ids: string[],
    query: StreamListQuery,
    scramble = true,
  ): Promise<string[]> {
    const seen: string[] = [];
    let cursor: string | undefined;
    let round = 0;
    do {
      const page = await directory.list({ ...query, cursor });
      seen.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor ?? undefined;
      const rand = pseudoRandom(++round);
      if (scramble) for (const id of ids) await catalog.setViewerCount(id, Math.floor(rand() * 1000));
      if (round > 50) throw new Error('pagination does not end');
    } while (cursor);
    return seen;
  }

  it('pages sorted by viewers have no duplicates or gaps while counts change between pages', async () => {
    const { catalog, listing, directory, category, liveStreams } = await setup();
    const ids = await liveStreams(23);
    const first = await directory.list({ category, live: true, limit: 5 });
    expect(first.items.map((s) => s.viewerCount)).toEqual([...first.items.map((s) => s.viewerCount)].sort((a, b) => b - a));
    const seen = await pageWhileCountsChange(directory, catalog, ids, { category, live: true, limit: 5 });
    expect(seen).toHaveLength(23);
    expect(new Set(seen)).toEqual(new Set(ids));

    // The planner's plain keyset cursor cannot promise this: the directory's frozen order is needed.
    const keyset: string[] = [];
    let cursor: string | undefined;
    let round = 100;
    do {
      const page = await listing.list({ category, live: true, limit: 5, sort: 'viewers', cursor });
      keyset.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor ?? undefined;
      const rand = pseudoRandom(++round);
      for (const id of ids) await catalog.setViewerCount(id, Math.floor(rand() * 1000));
    } while (cursor);
    expect(keyset.length !== 23 || new Set(keyset).size !== 23).toBe(true);
  });

  it('search results page stably too, and past the frozen part the keyset takes over', async () => {
    const { catalog, directory, category, liveStreams } = await setup(new MemoryDirectoryStore(), { frozenMax: 8 });
    const ids = await liveStreams(19, 'galaxy quest');
    await liveStreams(3, 'unrelated');
    const bySearch = await pageWhileCountsChange(directory, catalog, ids, { category, q: 'galxy quest', limit: 3 });
    expect(bySearch).toHaveLength(19);
    expect(new Set(bySearch)).toEqual(new Set(ids));
    // Past the first frozenMax (8) ids, pages follow the planner's keyset (stable only while counts hold).
    const byViewers = await pageWhileCountsChange(directory, catalog, ids, { category, q: 'galaxy', sort: 'viewers', limit: 3 }, false);
    expect(byViewers).toHaveLength(19);
    expect(new Set(byViewers)).toEqual(new Set(ids));
  });

  it('a listing filtered by several tags pages through the streams having all of them, cached per tag set', async () => {
    const { catalog, directory, category } = await setup(new MemoryDirectoryStore(), { pageTtlMs: 60_000 });
    const accounts = await Accounts.open(t.db, { jwtTtlSeconds: 60, scrypt: TEST_SCRYPT });
    const owner = (await accounts.register(unique('tagger'), 'password123')).user;
    const make = async (title: string, tags: string[], live: boolean) => {
      const { stream } = await catalog.create(owner.id, { title, tags, category });
      if (live) await catalog.markLive(stream.id);
      return stream.id;
    };
    const both = [await make('both live', ['retro', 'speedrun'], true), await make('both ended', ['speedrun', 'retro', 'pc'], false)];
    await make('retro only', ['retro'], true);
    await make('speedrun only', ['speedrun'], false);
    const ids = async (query: StreamListQuery) => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await directory.list({ category, limit: 1, ...query, cursor });
        seen.push(...page.items.map((s) => s.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return seen;
    };
    expect(await ids({ tag: ['retro', 'speedrun'] })).toEqual(both); // live first, then ended
    expect(await ids({ tag: ['Speedrun', '#retro'] })).toEqual(both); // the same tag set, normalised
    expect(await ids({ tag: ['retro', 'speedrun'], sort: 'recent' })).toHaveLength(2);
    expect(await ids({ tag: ['retro', 'speedrun', 'pc'] })).toEqual([both[1]]);
    expect((await ids({ tag: ['retro', 'speedrun'], q: 'both' })).sort()).toEqual([...both].sort()); // ranked, not live first
    const tooMany = await appError(directory.list({ tag: Array.from({ length: 11 }, (_, i) => `tag${i}`) }));
    expect([tooMany.status, tooMany.code]).toEqual([400, 'invalid_query']);
    directory.close();
  });

  it('an expired listing, a forged listing cursor and one from another sort are 400s', async () => {
    const { directory, category, liveStreams } = await setup(new MemoryDirectoryStore(), { listingTtlMs: 1 });
    await liveStreams(4);
    const page = await directory.list({ category, limit: 2 });
    expect(page.nextCursor).toBeTruthy();
    await new Promise((r) => setTimeout(r, 5));
    const expired = await appError(directory.list({ category, limit: 2, cursor: page.nextCursor! }));
    expect([expired.status, expired.code]).toEqual([400, 'cursor_expired']);
    const forged = Buffer.from(JSON.stringify({ s: 'viewers', l: '../../etc', o: -1 })).toString('base64url');
    const bad = await appError(directory.list({ category, cursor: forged }));
    expect([bad.status, bad.code]).toEqual([400, 'invalid_cursor']);
    const other = await appError(directory.list({ category, sort: 'recent', cursor: page.nextCursor! }));
    expect(other.code).toBe('invalid_cursor');
    const garbage = await appError(directory.list({ cursor: '!!!' }));
    expect(garbage.code).toBe('invalid_cursor');
  });

  it('repeated listings are served from the cache until the listing changes', async () => {
    const { db, count } = counting(t.db);
    const catalog = new StreamCatalog(db);
    const directory = new StreamDirectory(catalog, new StreamListing(db), new MemoryDirectoryStore(), { pageTtlMs: 60_000 });
    const accounts = await Accounts.open(t.db, { jwtTtlSeconds: 60, scrypt: TEST_SCRYPT });
    const owner = (await accounts.register(unique('owner'), 'password123')).user;
    const category = unique('cat');
    const { stream } = await catalog.create(owner.id, { title: 'cached', category });
    await catalog.markLive(stream.id);

    const first = await directory.list({ live: true, category });
    const before = count();
    for (let i = 0; i < 50; i++) expect((await directory.list({ live: true, category })).version).toBe(first.version);
    expect(count()).toBe(before);

    // Going live (or offline, or an edit) shows at once; viewer counts wait for the page TTL.
    const second = (await catalog.create(owner.id, { title: 'another', category })).stream;
    await catalog.markLive(second.id);
    const after = await directory.list({ live: true, category });
    expect(after.items.map((s) => s.id).sort()).toEqual([stream.id, second.id].sort());
    expect(after.version).not.toBe(first.version);
    directory.close();
  });
});

describe('the directory store on real Redis', () => {
  const t = useTestDatabase('embedded');

  it('keeps values, frozen orders and the generation, with expiry', async () => {
    const store = await RedisDirectoryStore.connect(TEST_REDIS_URL, `onair:test:${unique('r')}:`);
    try {
      await store.set('k', 'v', 60_000);
      expect(await store.get('k')).toBe('v');
      await store.set('short', 'v', 1);
      await new Promise((r) => setTimeout(r, 20));
      expect(await store.get('short')).toBeNull();
      const ids = Array.from({ length: 2500 }, (_, i) => `id${i}`);
      await store.saveOrder('o', ids, 60_000);
      expect(await store.readOrder('o', 1998, 4)).toEqual({ ids: ['id1998', 'id1999', 'id2000', 'id2001'], total: 2500 });
      expect(await store.readOrder('o', 2499, 10)).toEqual({ ids: ['id2499'], total: 2500 });
      expect(await store.readOrder('missing', 0, 10)).toBeNull();
      const g = await store.generation();
      await store.bumpGeneration();
      expect(await store.generation()).toBe(g + 1);
    } finally {
      await store.close();
    }
  });

  it('two nodes sharing Redis page one listing stably and see each other’s changes', async () => {
    const prefix = `onair:test:${unique('r')}:`;
    const [a, b] = await Promise.all([
      RedisDirectoryStore.connect(TEST_REDIS_URL, prefix),
      RedisDirectoryStore.connect(TEST_REDIS_URL, prefix),
    ]);
    try {
      const accounts = await Accounts.open(t.db, { jwtTtlSeconds: 60, scrypt: TEST_SCRYPT });
      const catalogA = new StreamCatalog(t.db);
      const catalogB = new StreamCatalog(t.db);
      const nodeA = new StreamDirectory(catalogA, new StreamListing(t.db), a, { pageTtlMs: 60_000 });
      const nodeB = new StreamDirectory(catalogB, new StreamListing(t.db), b, { pageTtlMs: 60_000 });
      const owner = (await accounts.register(unique('owner'), 'password123')).user;
      const category = unique('cat');
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const { stream } = await catalogA.create(owner.id, { title: `r${i}`, category });
        await catalogA.markLive(stream.id);
        await catalogA.setViewerCount(stream.id, i);
        ids.push(stream.id);
      }
      // Pages alternate between the nodes; counts scramble in between.
      const seen: string[] = [];
      let cursor: string | undefined;
      let round = 0;
      do {
        const node = round % 2 === 0 ? nodeA : nodeB;
        const page = await node.list({ category, live: true, limit: 5, cursor });
        seen.push(...page.items.map((s) => s.id));
        cursor = page.nextCursor ?? undefined;
        const rand = pseudoRandom(++round);
        for (const id of ids) await catalogA.setViewerCount(id, Math.floor(rand() * 100));
      } while (cursor);
      expect(seen).toHaveLength(12);
      expect(new Set(seen)).toEqual(new Set(ids));

      const cachedOnB = await nodeB.list({ category, live: true });
      await catalogA.markOffline(ids[0]!, 'publisher_unpublished'); // a change on node A...
      const afterOnB = await nodeB.list({ category, live: true }); // ...is seen by node B at once
      expect(afterOnB.items.map((s) => s.id)).not.toContain(ids[0]);
      expect(afterOnB.version).not.toBe(cachedOnB.version);
      nodeA.close();
      nodeB.close();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
