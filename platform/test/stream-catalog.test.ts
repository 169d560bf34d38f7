import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { STORAGE_KINDS, useTestDatabase } from '../../test/support/databases.js';
import { streamFixtures } from '../../test/support/stream-fixtures.js';
import { appError } from '../../test/support/app-error.js';

describe.each(STORAGE_KINDS)('stream catalog on %s storage', (kind) => {
  const t = useTestDatabase(kind);
  const setup = () => streamFixtures(t.db);

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

  it('going live and offline sets the times and why it ended, and resets the viewer count', async () => {
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
    await catalog.markOffline(stream.id, 'publisher_unpublished');
    const ended = await catalog.get(stream.id);
    expect(ended).toMatchObject({ live: false, viewerCount: 0, endedReason: 'publisher_unpublished' });
    expect(ended?.endedAt).toBeInstanceOf(Date);
    // Going live again clears why the last broadcast ended; a reason that is not a code is kept as 'unknown'.
    await catalog.markLive(stream.id);
    expect((await catalog.get(stream.id))?.endedReason).toBeNull();
    await catalog.markOffline(stream.id, 'Unsupported codec: <script>');
    expect((await catalog.get(stream.id))?.endedReason).toBe('unknown');

    const err = await appError(catalog.markLive('doesnotexist'));
    expect(err.code).toBe('stream_not_found');
  });
});
