// Search and listing never repeat a stream, live or ended, however many of its fields (title, tags,
// category, owner name) and spellings of a word match at once. Runs on both storage adapters.
import { describe, expect, it } from 'vitest';
import { Accounts, MemoryDirectoryStore, StreamCatalog, StreamDirectory, StreamListing, type StreamListQuery } from '@onair/platform';
import { STORAGE_KINDS, useTestDatabase } from '../../test/support/databases.js';
import { unique } from '../../test/support/unique-name.js';
import { TEST_SCRYPT } from '../../test/support/fast-hashing.js';

describe.each(STORAGE_KINDS)('directory answers on %s storage', (kind) => {
  const t = useTestDatabase(kind);

  it('never list a stream twice when a word matches its title, tags, category and owner name at once', async () => {
    const accounts = await Accounts.open(t.db, { jwtTtlSeconds: 60, scrypt: TEST_SCRYPT });
    const catalog = new StreamCatalog(t.db);
    const listing = new StreamListing(t.db);
    const directory = new StreamDirectory(catalog, listing, new MemoryDirectoryStore(), { pageTtlMs: 0 });
    const owner = (await accounts.register(unique('lofi'), 'password123')).user;
    const category = unique('Lo-fi Music');
    const ownerActor = { id: owner.id, username: owner.username, role: 'user' as const };

    // "Lo-fi" is indexed as lo-fi, lo and fi, all near spellings of "lofi"; the tag adds lofi itself.
    const live = (await catalog.create(owner.id, { title: 'Lo-fi beats, lofi guitar & chat', category })).stream.id;
    await catalog.markLive(live);
    await catalog.update(live, ownerActor, { tags: ['lofi', 'lo-fi', 'chill'] }); // an edit while live
    const ended = (await catalog.create(owner.id, { title: 'Lo-fi lofi study session', tags: ['lofi', 'lo-fi'], category })).stream.id;
    await catalog.markLive(ended);
    await catalog.markOffline(ended, 'publisher_unpublished');
    const never = (await catalog.create(owner.id, { title: 'lofi lo-fi loop', tags: ['lofi'], category })).stream.id;

    const expectations: [StreamListQuery, string[]][] = [
      [{ live: true, q: 'lofi' }, [live]],
      [{ live: false, q: 'lofi' }, [ended, never]],
      [{ q: 'lofi' }, [live, ended, never]],
      [{ live: true, q: 'lo-fi chill' }, [live]],
      [{ live: false, q: 'lofi lo fi' }, [ended, never]],
      [{ live: true, q: owner.username }, [live]],
      [{ live: false, q: owner.username }, [ended, never]],
      [{ live: true, q: 'lofi', sort: 'recent' }, [live]],
      [{ live: false, q: 'lofi', sort: 'viewers' }, [ended, never]],
      [{ live: true, tag: 'lofi' }, [live]],
      [{ live: false, tag: 'lofi' }, [ended, never]],
      [{ live: true, tag: ['lofi', 'lo-fi'] }, [live]],
      [{ tag: ['lofi', 'lo-fi'] }, [live, ended]],
    ];
    for (const [query, want] of expectations) {
      for (const list of [(q: StreamListQuery) => listing.list(q), (q: StreamListQuery) => directory.list(q)]) {
        const ids = (await list({ category, ...query })).items.map((s) => s.id);
        expect(ids, JSON.stringify(query)).toHaveLength(new Set(ids).size);
        expect(new Set(ids), JSON.stringify(query)).toEqual(new Set(want));
      }
    }
    // Paged one by one, the same: every match once, none skipped.
    for (const [liveOnly, want] of [
      [true, [live]],
      [false, [ended, never]],
    ] as const) {
      const paged: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await directory.list({ category, live: liveOnly, q: 'lofi', limit: 1, cursor });
        paged.push(...page.items.map((s) => s.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor && paged.length < 10);
      expect(paged).toHaveLength(new Set(paged).size);
      expect(new Set(paged)).toEqual(new Set(want));
    }
  });
});
