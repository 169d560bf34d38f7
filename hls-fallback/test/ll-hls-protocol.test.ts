// LL-HLS as draft-pantos-hls-rfc8216bis specifies it, served from a real ffmpeg ladder: blocking
// playlist reload, the 400/503 answers, preload hints, delta updates, rendition reports, the end of a
// stream and an encoder restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CmafPackager, type PackagedTrack } from '@onair/hls-fallback';
import { LADDER_SMALL, LiveEncoder, recordOutputs, replay, tracksOf } from './support/encoder.js';
import { startOrigin, type TestOrigin } from './support/origin.js';
import { lastPartOf, parseMediaPlaylist } from './support/playlists.js';

const OPTS = { partTargetMs: 200, segmentTargetMs: 1000, windowSegments: 8 };
const TRACKS = tracksOf(LADDER_SMALL);
let origin: TestOrigin;
let recorded: Buffer[];

beforeAll(async () => {
  origin = await startOrigin({ noMediaWaitMs: 500 });
  recorded = await recordOutputs(LADDER_SMALL, 12);
});
afterAll(async () => {
  for (const p of origin?.packagers.values() ?? []) p.close();
  await origin?.close();
});

const get = (path: string, init?: RequestInit) => fetch(origin.url + path, init);
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

/** The spec's "playlist holds part P of segment M, or something later". */
function holds(t: PackagedTrack, msn: number, part: number): boolean {
  const last = t.timeline.last;
  if (!last) return false;
  return last.msn > msn || (last.msn === msn && (last.complete || last.parts.length > part));
}

function recordedPackager(id: string, fraction = 1): CmafPackager {
  const p = new CmafPackager(id, TRACKS, OPTS);
  origin.packagers.set(id, p);
  replay(
    p,
    recorded.map((b) => b.subarray(0, Math.floor(b.length * fraction))),
  );
  return p;
}

describe('a live ladder', () => {
  let p: CmafPackager;
  let encoder: LiveEncoder;
  beforeAll(async () => {
    p = new CmafPackager('live', TRACKS, OPTS);
    origin.packagers.set('live', p);
    encoder = new LiveEncoder(p, LADDER_SMALL).start();
    // the origin itself holds the first request until there is media
    for (let i = 0; i < 20; i++) if ((await get('/hls/live/360p/index.m3u8')).status === 200) break;
  });
  afterAll(async () => {
    await encoder?.stop();
    p?.close();
  });

  it('lists the ladder in the multivariant playlist, with codecs read from the init segments', async () => {
    const res = await get('/hls/live/index.m3u8');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const text = await res.text();
    expect(text).toContain('#EXT-X-INDEPENDENT-SEGMENTS');
    expect(text).toMatch(
      /#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio\/index.m3u8"/,
    );
    const inf = [...text.matchAll(/#EXT-X-STREAM-INF:(.*)\n(.*)/g)].map((m) => ({ attrs: m[1]!, uri: m[2]! }));
    expect(inf.map((i) => i.uri)).toEqual(['360p/index.m3u8', '180p/index.m3u8']);
    expect(inf[0]!.attrs).toMatch(
      /BANDWIDTH=896000,CODECS="avc1\.4d40[0-9a-f]{2},mp4a\.40\.2",RESOLUTION=640x360,FRAME-RATE=30\.000,AUDIO="audio"/,
    );
    expect(inf[1]!.attrs).toMatch(/RESOLUTION=320x180/);
  });

  it('serves LL-HLS media playlists: parts, independent parts at segment starts, server control, preload hint', async () => {
    const pl = parseMediaPlaylist(await (await get('/hls/live/360p/index.m3u8')).text());
    expect(pl.version).toBe(9);
    expect(pl.serverControl['CAN-BLOCK-RELOAD']).toBe('YES');
    expect(pl.partTarget).toBeCloseTo(0.2, 3);
    expect(Number(pl.serverControl['PART-HOLD-BACK'])).toBeGreaterThanOrEqual(3 * pl.partTarget! - 1e-9);
    expect(Number(pl.serverControl['HOLD-BACK'])).toBeGreaterThanOrEqual(3 * pl.targetDuration);
    expect(Number(pl.serverControl['CAN-SKIP-UNTIL'])).toBeGreaterThanOrEqual(6 * pl.targetDuration);
    const withParts = pl.segments.filter((s) => s.parts.length);
    expect(withParts.length).toBeGreaterThan(0);
    for (const s of withParts) {
      expect(s.parts[0]!.independent).toBe(true);
      for (const part of s.parts) expect(part.duration).toBeLessThanOrEqual(pl.partTarget! + 1e-9);
    }
    expect(pl.preloadHint).toMatch(/^[0-9a-z]+\/\d+\.\d+\.m4s$/);
    expect(pl.segments.every((s) => s.pdt !== undefined)).toBe(true);
  });

  it('holds a blocking reload until the part exists, then answers within one part duration', async () => {
    const track = p.trackByName('360p')!;
    const lags: number[] = [];
    for (let attempt = 0; lags.length < 5 && attempt < 20; attempt++) {
      const pl = parseMediaPlaylist(await (await get('/hls/live/360p/index.m3u8')).text());
      // the next part, as the preload hint names it: usually not there yet...
      const [msn, index] = /(\d+)\.(\d+)\.m4s$/.exec(pl.preloadHint!)!.slice(1).map(Number) as [number, number];
      const want = { msn, index };
      if (holds(track, want.msn, want.index)) continue; // ...unless a busy machine bunched ffmpeg's output
      let appearedAt = 0;
      const stop = p.subscribe(() => {
        if (!appearedAt && holds(track, want.msn, want.index)) appearedAt = performance.now();
      });
      const path = `/hls/live/360p/index.m3u8?_HLS_msn=${want.msn}&_HLS_part=${want.index}`;
      const res = await get(path);
      const receivedAt = performance.now();
      stop();
      expect(res.status).toBe(200);
      expect(appearedAt).toBeGreaterThan(0); // it was held until the part appeared...
      const got = parseMediaPlaylist(await res.text());
      const last = lastPartOf(got);
      expect(last.msn > want.msn || (last.msn === want.msn && last.index >= want.index)).toBe(true);
      // ...and answered soon after: the origin's send, and (looser, the test's own event loop is
      // on a shared machine) the client's receipt
      lags.push(origin.sentAt.get(path)! - appearedAt);
      expect(receivedAt - appearedAt).toBeLessThan(1000);
    }
    expect(lags).toHaveLength(5);
    for (const lag of lags) {
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThan(200); // one part duration
    }
  });

  it('serves the PRELOAD-HINT part once it is complete', async () => {
    const track = p.trackByName('360p')!;
    let hint: { msn: number; index: number } | undefined;
    for (let i = 0; i < 10 && !hint; i++) {
      const pl = parseMediaPlaylist(await (await get('/hls/live/360p/index.m3u8')).text());
      const [msn, index] = /(\d+)\.(\d+)\.m4s$/.exec(pl.preloadHint!)!.slice(1).map(Number) as [number, number];
      // a hint inside a GOP (the hint at a segment boundary is the next segment's part 0)
      if (index >= 1 && index <= 3) hint = { msn, index };
      else await new Promise((r) => setTimeout(r, 120));
    }
    expect(hint).toBeDefined();
    expect(track.timeline.find(hint!.msn)?.parts[hint!.index]).toBeUndefined();
    const res = await get(`/hls/live/360p/${p.session}/${hint!.msn}.${hint!.index}.m4s`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(track.timeline.find(hint!.msn)!.parts[hint!.index]!.bytes)).toBe(true);
    expect(body.toString('latin1', 4, 8)).toBe('moof');
  });

  it('reports the other renditions (EXT-X-RENDITION-REPORT) as they are', async () => {
    const pl = parseMediaPlaylist(await (await get('/hls/live/360p/index.m3u8')).text());
    expect(pl.renditionReports.map((r) => r.uri)).toEqual(['../180p/index.m3u8', '../audio/index.m3u8']);
    for (const r of pl.renditionReports) {
      const other = parseMediaPlaylist(await (await get(`/hls/live/${r.uri.split('/')[1]}/index.m3u8`)).text());
      const last = lastPartOf(other);
      // the other playlist, fetched after, is at or past the reported part, never behind it
      expect(last.msn > r.lastMsn || (last.msn === r.lastMsn && last.index >= r.lastPart)).toBe(true);
      expect(last.msn - r.lastMsn).toBeLessThanOrEqual(1);
    }
  });

  it('answers 400 to malformed or out-of-range delivery directives', async () => {
    const pl = parseMediaPlaylist(await (await get('/hls/live/360p/index.m3u8')).text());
    const last = lastPartOf(pl).msn;
    for (const q of [
      '_HLS_part=1',
      `_HLS_msn=${last + 3}`,
      '_HLS_msn=abc',
      '_HLS_msn=-1',
      '_HLS_msn=1&_HLS_msn=2',
      `_HLS_msn=${last}&_HLS_skip=NO`,
    ]) {
      const t0 = performance.now();
      const res = await get(`/hls/live/360p/index.m3u8?${q}`);
      expect(res.status, q).toBe(400);
      expect(performance.now() - t0).toBeLessThan(500); // never parked
      expect(['bad_query', 'msn_out_of_range']).toContain(await errorCode(res));
    }
    // last + 2 is allowed: held until that segment begins, about two seconds
    const res = await get(`/hls/live/360p/index.m3u8?_HLS_msn=${last + 2}&_HLS_part=0`);
    expect(res.status).toBe(200);
  });
});

describe('a recorded ladder', () => {
  it('answers 503 when the requested part does not appear within 3 target durations', async () => {
    const p = recordedPackager('stalled');
    const t = p.trackByName('360p')!;
    const next = t.timeline.nextPart();
    const t0 = performance.now();
    const [playlist, part] = await Promise.all([
      get(`/hls/stalled/360p/index.m3u8?_HLS_msn=${next.msn}&_HLS_part=${next.index}`),
      get(`/hls/stalled/360p/${p.session}/${next.msn}.${next.index}.m4s`),
    ]);
    const waited = performance.now() - t0;
    expect(playlist.status).toBe(503);
    expect(playlist.headers.get('retry-after')).toBe('1');
    expect(await errorCode(playlist)).toBe('not_available_yet');
    expect(part.status).toBe(503);
    expect(waited).toBeGreaterThanOrEqual(2900);
    expect(waited).toBeLessThan(5000);
    expect(p.waitingRequests).toBe(0);
  });

  it('leaves old segments out of a delta update (_HLS_skip=YES)', async () => {
    const p = recordedPackager('delta');
    const full = parseMediaPlaylist(await (await get('/hls/delta/360p/index.m3u8')).text());
    const delta = parseMediaPlaylist(await (await get('/hls/delta/360p/index.m3u8?_HLS_skip=YES')).text());
    expect(full.serverControl['CAN-SKIP-UNTIL']).toBe('6.0');
    expect(delta.skipped).toBeGreaterThan(0);
    expect(delta.mediaSequence).toBe(full.mediaSequence);
    expect(delta.segments.map((s) => s.uri)).toEqual(full.segments.slice(delta.skipped).map((s) => s.uri));
    // what was skipped ends at least CAN-SKIP-UNTIL before the end of the playlist
    const after = full.segments.slice(delta.skipped).reduce((a, s) => a + (s.duration ?? s.parts.reduce((x, q) => x + q.duration, 0)), 0);
    expect(after).toBeGreaterThanOrEqual(6 - full.segments[delta.skipped]!.duration!);
    expect(delta.segments[0]!.map).toBe(`${p.session}/init-0.mp4`);
    p.close();
  });

  it('ends the playlist after end() and answers blocked requests at once', async () => {
    const p = recordedPackager('ending', 0.5);
    const next = p.trackByName('360p')!.timeline.nextPart();
    const blocked = get(`/hls/ending/360p/index.m3u8?_HLS_msn=${next.msn}&_HLS_part=${next.index}`);
    await new Promise((r) => setTimeout(r, 200));
    expect(p.waitingRequests).toBe(1);
    const t0 = performance.now();
    p.end();
    const res = await blocked;
    expect(performance.now() - t0).toBeLessThan(200);
    expect(res.status).toBe(200);
    const pl = parseMediaPlaylist(await res.text());
    expect(pl.endList).toBe(true);
    expect(pl.preloadHint).toBeUndefined();
    expect(pl.segments.every((s) => s.uri)).toBe(true); // the last segment was closed
    const mpd = await (await get('/dash/ending/manifest.mpd')).text();
    expect(mpd).toContain('type="static"');
    expect(mpd).toMatch(/mediaPresentationDuration="PT[1-9]/);
    p.close();
  });

  it('answers a request parked on a packager that closes (410), never leaving it hanging', async () => {
    const p = recordedPackager('closing', 0.3);
    const next = p.trackByName('180p')!.timeline.nextPart();
    const blocked = get(`/hls/closing/180p/index.m3u8?_HLS_msn=${next.msn}&_HLS_part=${next.index}`);
    const hinted = get(`/hls/closing/180p/${p.session}/${next.msn}.${next.index}.m4s`);
    await new Promise((r) => setTimeout(r, 200));
    expect(p.waitingRequests).toBe(2);
    p.close();
    expect((await blocked).status).toBe(410);
    expect((await hinted).status).toBe(410);
    expect(p.waitingRequests).toBe(0);
  });

  it('keeps sequence numbers across an encoder restart, with a discontinuity and a new init', async () => {
    const p = recordedPackager('restart');
    const video = p.trackByName('360p')!;
    const lastBefore = video.timeline.last!.msn;
    p.restart();
    replay(
      p,
      recorded.map((b) => b.subarray(0, Math.floor(b.length * 0.4))),
    );
    let pl = parseMediaPlaylist(await (await get('/hls/restart/360p/index.m3u8')).text());
    for (const s of pl.segments) if (s.uri) expect(s.uri).toBe(`${p.session}/${s.msn}.m4s`);
    const disc = pl.segments.filter((s) => s.discontinuity);
    expect(disc.map((s) => s.msn)).toEqual([lastBefore + 1]);
    expect(disc[0]!.map).toBe(`${p.session}/init-1.mp4`);
    expect(pl.discontinuitySequence).toBe(0);
    // PROGRAM-DATE-TIME never goes back, although the new encoder's media time starts again at 0
    const before = pl.segments[pl.segments.indexOf(disc[0]!) - 1]!;
    expect(disc[0]!.pdt!).toBeGreaterThanOrEqual(before.pdt! + before.duration! * 1000 - 1);
    const init1 = await get(`/hls/restart/360p/${p.session}/init-1.mp4`);
    expect(init1.status).toBe(200);
    expect(Buffer.from(await init1.arrayBuffer()).toString('latin1', 4, 8)).toBe('ftyp');

    const mpd = await (await get('/dash/restart/manifest.mpd')).text();
    expect([...mpd.matchAll(/<Period id="(p\d)"/g)].map((m) => m[1])).toEqual(['p0', 'p1']);
    expect(mpd).toContain(`startNumber="${lastBefore + 1}"`);

    // once the discontinuity slides out of the window, the sequence counts it
    replay(
      p,
      recorded.map((b) => b.subarray(Math.floor(b.length * 0.4))),
    );
    pl = parseMediaPlaylist(await (await get('/hls/restart/360p/index.m3u8')).text());
    expect(pl.segments.some((s) => s.discontinuity)).toBe(false);
    expect(pl.mediaSequence).toBeGreaterThan(lastBefore + 1);
    expect(pl.discontinuitySequence).toBe(1);
    expect(pl.segments[0]!.map).toBe(`${p.session}/init-1.mp4`);
    expect((await get(`/hls/restart/360p/${p.session}/init-0.mp4`)).status).toBe(404);
    p.close();
  });

  it('answers 503 with Retry-After for a live stream without media, 404 for unknown things', async () => {
    origin.packagers.set('empty', new CmafPackager('empty', TRACKS, OPTS));
    for (const path of ['/hls/empty/index.m3u8', '/hls/empty/360p/index.m3u8', '/dash/empty/manifest.mpd']) {
      const t0 = performance.now();
      const res = await get(path);
      expect(res.status, path).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(450); // held briefly first
    }
    const p = recordedPackager('known', 0.5);
    const cases: [string, string][] = [
      ['/hls/nope/index.m3u8', 'stream_not_found'],
      ['/hls/known/1080p/index.m3u8', 'track_not_found'],
      [`/hls/known/360p/${p.session}/999999.m4s`, 'object_not_found'],
      [`/hls/known/360p/${p.session}/foo.txt`, 'object_not_found'],
      ['/hls/known/360p/oldsession/0.m4s', 'object_not_found'],
    ];
    for (const [path, code] of cases) {
      const t0 = performance.now();
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(performance.now() - t0).toBeLessThan(300);
      expect(await res.json()).toMatchObject({ error: { code } });
    }
    p.close();
    origin.packagers.get('empty')!.close();
  });
});
