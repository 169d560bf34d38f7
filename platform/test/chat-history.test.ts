// Chat history on both storage adapters: batched appends, newest-first paging, deletion, retention.
import { describe, expect, it } from 'vitest';
import { ChatHistory, createLogger, StreamCatalog } from '@onair/platform';
import { STORAGE_KINDS, useTestDatabase } from '../../test/support/databases.js';

describe.each(STORAGE_KINDS)('chat history (%s)', (kind) => {
  const t = useTestDatabase(kind);

  async function streamWithHistory() {
    const [user] = await t.db.query<{ id: string }>(
      `INSERT INTO users (username, username_key, password_hash) VALUES ($1, lower($1), 'x') RETURNING id`,
      [`h_${Math.random().toString(36).slice(2, 10)}`],
    );
    const { stream } = await new StreamCatalog(t.db).create(user!.id, { title: 'history' });
    return { userId: user!.id, streamId: stream.id, history: new ChatHistory(t.db, createLogger('silent'), 60_000) };
  }

  it('stores appended messages in one flush and pages back from the newest', async () => {
    const { userId, streamId, history } = await streamWithHistory();
    const base = Date.now() - 10_000;
    for (let i = 0; i < 5; i++) history.append({ id: `m${i}`, streamId, userId, username: 'ann', text: `t${i}`, sentAtMs: base + i });
    history.append({ id: 'm0', streamId, userId, username: 'ann', text: 'duplicate id', sentAtMs: base }); // ignored
    await history.flush();
    const page = await history.recent(streamId, { limit: 3 });
    expect(page.map((m) => m.text)).toEqual(['t2', 't3', 't4']);
    const older = await history.recent(streamId, { beforeMs: page[0]!.sentAtMs, limit: 3 });
    expect(older.map((m) => m.text)).toEqual(['t0', 't1']);
    expect(await history.markDeleted(streamId, 'm3')).toBe(true);
    expect(await history.markDeleted(streamId, 'nope')).toBe(false);
    expect((await history.recent(streamId)).map((m) => m.id)).toEqual(['m0', 'm1', 'm2', 'm4']);
    await history.close();
  });

  it('prunes messages older than the retention', async () => {
    const { userId, streamId, history } = await streamWithHistory();
    history.append({ id: 'old', streamId, userId, username: 'ann', text: 'old', sentAtMs: Date.now() - 120_000 });
    history.append({ id: 'new', streamId, userId, username: 'ann', text: 'new', sentAtMs: Date.now() });
    await history.flush();
    expect(await history.prune()).toBe(1);
    expect((await history.recent(streamId)).map((m) => m.id)).toEqual(['new']);
    await history.close();
  });
});
