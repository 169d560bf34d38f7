import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { broadcastPrefix, Broadcasts, createLogger, FileRecordingStore } from '@onair/platform';
import { STORAGE_KINDS, useTestDatabase } from '../../test/support/databases.js';
import { streamFixtures } from '../../test/support/stream-fixtures.js';
import { appError } from '../../test/support/app-error.js';

const DAY_MS = 86_400_000;

describe.each(STORAGE_KINDS)('broadcast retention and deletion on %s storage', (kind) => {
  const t = useTestDatabase(kind);
  const dir = mkdtempSync(join(tmpdir(), 'onair-retention-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const log = createLogger('silent');

  it('evicts the oldest finished broadcasts beyond the disk budget and those past the retention, never one being recorded', async () => {
    const { catalog, newUser } = await streamFixtures(t.db);
    const store = new FileRecordingStore(join(dir, kind));
    let now = Date.now();
    const broadcasts = new Broadcasts(t.db, store, log, () => now);
    const owner = await newUser('streamer');
    const { stream } = await catalog.create(owner.id, { title: 'evicted' });
    const make = async (startedAtMs: number, bytes: number, finished = true) => {
      const b = await broadcasts.begin(stream.id, startedAtMs);
      await store.put(`${broadcastPrefix(b.id)}/meta.json`, Buffer.alloc(bytes));
      if (finished) await broadcasts.finish(b.id, { durationMs: 1000, bytes });
      else await broadcasts.progress(b.id, { durationMs: 1000, bytes });
      return b.id;
    };
    const ancient = await make(now - 40 * DAY_MS, 100);
    const old = await make(now - 3 * DAY_MS, 1000);
    const middle = await make(now - 2 * DAY_MS, 1000);
    const live = await make(now - 1 * DAY_MS, 1000, false);
    const recent = await make(now - 1000, 1000);
    expect(await store.usageBytes()).toBe(4100);
    expect(await broadcasts.usedBytes()).toBe(4100);

    // Retention first (the 40-day-old one), then the oldest finished while over 2.5 kB: `old`, then `middle`.
    const evicted = await broadcasts.evict({ retentionDays: 30, budgetBytes: 2500 });
    expect(evicted).toEqual([ancient, old, middle]);
    expect(await store.usageBytes()).toBe(2000);
    const left = (await broadcasts.listForStream(stream.id)).items.map((b) => b.id);
    expect(left).toEqual([recent, live]);
    expect(await broadcasts.lookup(old)).toBe('deleted');
    expect(await store.list(broadcastPrefix(old))).toEqual([]);
    // The one still recording stays even when alone over budget.
    expect(await broadcasts.evict({ retentionDays: 0, budgetBytes: 10 })).toEqual([recent]);
    expect((await broadcasts.listForStream(stream.id)).items.map((b) => b.id)).toEqual([live]);

    // A recording whose node stopped beating reads as partial, with its last heartbeat as its end.
    now += 60_000;
    const cut = await broadcasts.get(live);
    expect(cut).toMatchObject({ status: 'partial', stopReason: 'the recording node stopped' });
    expect(await broadcasts.current(stream.id)).toBeNull();
  });

  it('only the owner or an admin deletes a broadcast; odd ids are unknown', async () => {
    const { catalog, newUser } = await streamFixtures(t.db);
    const store = new FileRecordingStore(join(dir, `${kind}-delete`));
    const broadcasts = new Broadcasts(t.db, store, log);
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');
    const { stream } = await catalog.create(owner.id, { title: 'mine' });
    const b = await broadcasts.begin(stream.id, Date.now());
    const denied = await appError(broadcasts.delete(b.id, stranger));
    expect([denied.status, denied.code]).toEqual([403, 'not_stream_owner']);
    const recording = await appError(broadcasts.delete(b.id, owner));
    expect([recording.status, recording.code]).toEqual([409, 'broadcast_recording']);
    await broadcasts.finish(b.id, { durationMs: 1000, bytes: 0 });
    await broadcasts.delete(b.id, { ...stranger, role: 'admin' });
    expect(await broadcasts.lookup(b.id)).toBe('deleted');
    expect(await broadcasts.lookup('../../etc/passwd')).toBeNull();
    expect(await broadcasts.lookup('AAAAAAAAAAAA')).toBeNull();
    const missing = await appError(broadcasts.delete(b.id, owner));
    expect([missing.status, missing.code]).toEqual([404, 'broadcast_not_found']);
    const unknownStream = await appError(broadcasts.begin('nosuchstream', Date.now()));
    expect(unknownStream.code).toBe('stream_not_found');
  });
});
