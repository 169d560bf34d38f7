import { describe, expect, it } from 'vitest';
import { STORAGE_KINDS, useTestDatabase } from '../../test/support/databases.js';
import { streamFixtures } from '../../test/support/stream-fixtures.js';
import { appError } from '../../test/support/app-error.js';

describe.each(STORAGE_KINDS)('stream moderators on %s storage', (kind) => {
  const t = useTestDatabase(kind);
  const setup = () => streamFixtures(t.db);

  it('only the owner grants and revokes moderation', async () => {
    const { catalog, moderators, newUser } = await setup();
    const owner = await newUser('owner');
    const mod = await newUser('mod');
    const stranger = await newUser('stranger');
    const { stream } = await catalog.create(owner.id, { title: 'moderated' });

    expect(await moderators.isModerator(stream.id, mod.id)).toBe(false);
    expect(await moderators.grant(stream.id, owner, mod.id)).toEqual({ userId: mod.id, username: mod.username });
    await moderators.grant(stream.id, owner, mod.id); // idempotent
    expect(await moderators.isModerator(stream.id, mod.id)).toBe(true);
    expect(await moderators.list(stream.id)).toEqual([{ userId: mod.id, username: mod.username }]);

    const denied = await appError(moderators.grant(stream.id, stranger, stranger.id));
    expect([denied.status, denied.code]).toEqual([403, 'forbidden']);
    const byMod = await appError(moderators.revoke(stream.id, mod, mod.id));
    expect(byMod.code).toBe('forbidden');
    const unknownUser = await appError(moderators.grant(stream.id, owner, '00000000-0000-4000-8000-000000000000'));
    expect([unknownUser.status, unknownUser.code]).toEqual([404, 'user_not_found']);
    const unknownStream = await appError(moderators.grant('doesnotexist', owner, mod.id));
    expect(unknownStream.code).toBe('stream_not_found');

    await moderators.revoke(stream.id, owner, mod.id);
    expect(await moderators.isModerator(stream.id, mod.id)).toBe(false);
    expect(await moderators.isModerator(stream.id, 'not-a-uuid')).toBe(false);
  });
});
