// The recorder as a pure stage behind a real CmafPackager fed with real ffmpeg CMAF: every complete
// segment of every track reaches the store whole and in order (even with a live window of 3
// segments, far shorter than the recording), the index read back from the store adds up to the
// media, and a disk that fills stops the recording with its reason while the packager (live
// playback) carries on.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, FileRecordingStore } from '@onair/platform';
import { BroadcastRecorder, CmafPackager, readRecordingIndex, renderVodMediaPlaylist, type RecordingCatalog } from '@onair/hls-fallback';
import { LADDER_SMALL, recordOutputs, replay, tracksOf } from './support/encoder.js';

const log = createLogger('silent');
const SECONDS = 6;

class MemoryCatalog implements RecordingCatalog {
  begun = 0;
  finished: { durationMs: number; bytes: number; stopReason?: string } | undefined;
  async begin(_streamId: string, _startedAtMs: number) {
    this.begun++;
    return { id: 'B', prefix: 'broadcasts/B' };
  }
  async progress() {}
  async finish(_id: string, f: { durationMs: number; bytes: number; stopReason?: string }) {
    this.finished = f;
  }
}

/** A filesystem store whose disk fills after `okPuts` objects. */
class FillingStore extends FileRecordingStore {
  puts = 0;
  constructor(
    root: string,
    private readonly okPuts: number,
  ) {
    super(root);
  }
  override async put(key: string, bytes: Buffer): Promise<void> {
    if (++this.puts > this.okPuts) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return super.put(key, bytes);
  }
}

describe('the broadcast recorder', () => {
  let outputs: Buffer[];
  const dir = mkdtempSync(join(tmpdir(), 'onair-recorder-'));
  beforeAll(async () => {
    outputs = await recordOutputs(LADDER_SMALL, SECONDS);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const newPackager = () =>
    new CmafPackager('rec', tracksOf(LADDER_SMALL), { partTargetMs: 200, segmentTargetMs: 1000, windowSegments: 3 });

  it('writes every complete segment of every track, whole, and the index adds up to the media', async () => {
    const store = new FileRecordingStore(join(dir, 'ok'));
    const catalog = new MemoryCatalog();
    const packager = newPackager();
    const recorder = new BroadcastRecorder(packager, store, catalog, { maxQueueBytes: 64e6, progressIntervalMs: 1000 }, log);
    replay(packager, outputs);
    packager.end();
    await recorder.done;
    expect(recorder.state).toBe('finished');
    expect(catalog.begun).toBe(1);
    expect(catalog.finished?.stopReason).toBeUndefined();
    const index = (await readRecordingIndex(store, 'broadcasts/B'))!;
    expect(index.tracks.map((t) => t.name)).toEqual(['360p', '180p', 'audio']);
    for (const t of index.tracks) {
      expect(Math.abs(t.durationSec - SECONDS), `${t.name}: ${t.durationSec} s`).toBeLessThanOrEqual(0.5);
      const msns = t.segments.map((s) => s.msn);
      expect(msns).toEqual(msns.map((_, i) => i)); // none missing, though the live window holds 3
      const playlist = renderVodMediaPlaylist(t, { ended: true, startedAtMs: 0 });
      expect(playlist).toContain('#EXT-X-ENDLIST');
      expect(playlist.match(/#EXTINF/g)?.length).toBe(t.segments.length);
    }
    expect(catalog.finished!.bytes).toBe(recorder.bytes);
    expect(Math.abs(catalog.finished!.durationMs - SECONDS * 1000)).toBeLessThanOrEqual(500);
    packager.close();
  });

  it('stops with "the disk is full" when the store fills; the packager keeps packaging', async () => {
    const store = new FillingStore(join(dir, 'full'), 6);
    const catalog = new MemoryCatalog();
    const packager = newPackager();
    const recorder = new BroadcastRecorder(packager, store, catalog, { maxQueueBytes: 64e6, progressIntervalMs: 1000 }, log);
    const half = outputs.map((o) => o.subarray(0, Math.floor(o.length / 2)));
    replay(packager, half);
    packager.end(); // the recorder starts writing once the clock is known; the stream ending makes it so
    await recorder.done;
    expect(recorder.state).toBe('stopped');
    expect(recorder.stopReason).toBe('the disk is full');
    expect(catalog.finished?.stopReason).toBe('the disk is full');
    // What was written before stays readable and whole (meta.json + 5 objects, no temp files).
    for (const t of ['360p', '180p', 'audio']) {
      const names = (() => {
        try {
          return readdirSync(join(dir, 'full', 'broadcasts', 'B', t));
        } catch {
          return [];
        }
      })();
      expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
    }
    expect(store.puts).toBe(7);
    packager.close();
  });

  it('a failed recording leaves the live packager untouched', async () => {
    const store = new FillingStore(join(dir, 'full-live'), 0);
    const catalog = new MemoryCatalog();
    const packager = newPackager();
    const recorder = new BroadcastRecorder(packager, store, catalog, { maxQueueBytes: 64e6, progressIntervalMs: 1000 }, log);
    // The start waits for the packager's clock to settle (ANCHOR_SETTLE_MS of arrival time) or 8 s;
    // replayed media arrives at once, so the clock never settles here: time runs out instead.
    replay(
      packager,
      outputs.map((o) => o.subarray(0, Math.floor(o.length / 2))),
    );
    expect(recorder.state).toBe('waiting');
    const realNow = Date.now;
    Date.now = () => realNow() + 10_000;
    try {
      replay(
        packager,
        outputs.map((o) => o.subarray(Math.floor(o.length / 2))),
      );
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      Date.now = realNow;
    }
    expect(recorder.state).toBe('stopped');
    expect(recorder.stopReason).toMatch(/could not start the recording|the disk is full/);
    expect(packager.state).toBe('live');
    for (const t of packager.tracks) expect(t.timeline.segments.length).toBeGreaterThan(0);
    packager.write(0, Buffer.alloc(0));
    packager.end();
    packager.close();
  });
});
