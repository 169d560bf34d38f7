// Low-latency DASH from a live ffmpeg ladder: the MPD is well-formed and describes the ladder, its
// $Number$ template addresses exactly the media the segments hold (times and numbers; audio, cut at
// the AAC frame nearest each video boundary, within half a frame), its wall clock agrees with HLS's
// PROGRAM-DATE-TIME and with when parts arrived, and the segment in progress is sent with chunked
// transfer as its parts arrive.
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CmafPackager } from '@onair/hls-fallback';
import { LADDER_SMALL, LiveEncoder, tracksOf } from './support/encoder.js';
import { startOrigin, type TestOrigin } from './support/origin.js';
import { parseMediaPlaylist } from './support/playlists.js';
import { elements, isoDurationSec, parseXml, type XmlElement } from './support/xml.js';

const run = promisify(execFile);
let origin: TestOrigin;
let p: CmafPackager;
let encoder: LiveEncoder;
let dir: string;

beforeAll(async () => {
  origin = await startOrigin();
  dir = await mkdtemp(join(tmpdir(), 'onair-dash-'));
  p = new CmafPackager('live', tracksOf(LADDER_SMALL), { partTargetMs: 200, segmentTargetMs: 1000, windowSegments: 8 });
  origin.packagers.set('live', p);
  encoder = new LiveEncoder(p, LADDER_SMALL).start();
  // four complete segments in every track
  await p.waitUntil(() => p.tracks.every((t) => t.timeline.segments.filter((s) => s.complete).length >= 4), 20_000);
});
afterAll(async () => {
  await encoder?.stop();
  p?.close();
  await origin?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function mpd(): Promise<XmlElement> {
  const res = await fetch(`${origin.url}/dash/live/manifest.mpd`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/dash+xml');
  return parseXml(await res.text());
}

it('describes the ladder in a well-formed dynamic low-latency MPD', async () => {
  const root = await mpd();
  expect(root.name).toBe('MPD');
  expect(root.attrs.type).toBe('dynamic');
  expect(root.attrs.profiles).toContain('http://dashif.org/guidelines/dash-if-low-latency');
  expect(Math.abs(Date.parse(root.attrs.availabilityStartTime!) - Date.now())).toBeLessThan(60_000);
  expect(Number([...elements(root, 'Latency')][0]!.attrs.target)).toBeGreaterThan(0);
  const utc = [...elements(root, 'UTCTiming')][0]!;
  expect(utc.attrs.schemeIdUri).toBe('urn:mpeg:dash:utc:http-iso:2014');
  const time = await fetch(utc.attrs.value!);
  expect(time.headers.get('cache-control')).toBe('no-store');
  expect(Math.abs(Date.parse(await time.text()) - Date.now())).toBeLessThan(1000);

  const sets = [...elements(root, 'AdaptationSet')];
  expect(sets.map((s) => s.attrs.contentType)).toEqual(['video', 'audio']);
  const video = [...elements(sets[0]!, 'Representation')];
  expect(video.map((r) => [r.attrs.id, r.attrs.width, r.attrs.height, r.attrs.frameRate])).toEqual([
    ['360p', '640', '360', '30'],
    ['180p', '320', '180', '30'],
  ]);
  const multivariant = await (await fetch(`${origin.url}/hls/live/index.m3u8`)).text();
  for (const r of video) expect(multivariant).toContain(`CODECS="${r.attrs.codecs},mp4a.40.2"`);
  const audio = [...elements(sets[1]!, 'Representation')];
  expect(audio.map((r) => [r.attrs.id, r.attrs.codecs, r.attrs.audioSamplingRate])).toEqual([['audio', 'mp4a.40.2', '48000']]);
  for (const t of elements(root, 'SegmentTemplate')) {
    expect(t.attrs.media).toMatch(/^\w+\/[0-9a-z]+\/\$Number\$\.m4s$/);
    expect(t.attrs.availabilityTimeComplete).toBe('false');
    const ato = Number(t.attrs.availabilityTimeOffset);
    expect(ato).toBeGreaterThan(0);
    expect(ato).toBeLessThan(Number(t.attrs.duration) / Number(t.attrs.timescale));
  }
});

it('addresses with $Number$ exactly the media each segment holds (audio within half an AAC frame), on the wall clock HLS uses', async () => {
  const root = await mpd();
  const ast = Date.parse(root.attrs.availabilityStartTime!);
  const period = [...elements(root, 'Period')][0]!;
  const periodStartMs = isoDurationSec(period.attrs.start!) * 1000;
  const arrivalErrors: number[] = [];
  for (const rep of elements(period, 'Representation')) {
    const name = rep.attrs.id!;
    const t = [...elements(rep, 'SegmentTemplate')][0]!.attrs;
    const [ts, d, start, pto] = [t.timescale, t.duration, t.startNumber, t.presentationTimeOffset].map(Number) as [
      number,
      number,
      number,
      number,
    ];
    const track = p.trackByName(name)!;
    // video segments are the GOP to the tick; an audio segment starts at the AAC frame (1024
    // samples) nearest the video's, within half a frame of the template's time (DASH-IF IOP 4.3
    // allows @duration addressing that much and more)
    const slackSec = track.spec.kind === 'audio' ? 512 / ts + 0.0005 : 0.0005;
    const hls = parseMediaPlaylist(await (await fetch(`${origin.url}/hls/live/${name}/index.m3u8`)).text());
    const init = Buffer.from(await (await fetch(`${origin.url}/dash/live/${t.initialization}`)).arrayBuffer());
    const complete = track.timeline.segments.filter((s) => s.complete);
    for (const seg of complete.slice(0, -1)) {
      const n = seg.msn;
      const res = await fetch(`${origin.url}/dash/live/${t.media!.replace('$Number$', String(n))}`);
      expect(res.status).toBe(200);
      const file = join(dir, `${name}-${n}.mp4`);
      await writeFile(file, Buffer.concat([init, Buffer.from(await res.arrayBuffer())]));
      const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', file]);
      const pts = stdout
        .trim()
        .split('\n')
        .map((l) => l.split(',').map(Number) as [number, number]);
      const firstSec = pts[0]![0];
      const endSec = pts.at(-1)![0] + pts.at(-1)![1];
      // the template says where segment n starts and how long it is; the media agrees (see slackSec)
      expect(Math.abs(firstSec - (pto + (n - start) * d) / ts), `${name} #${n} start`).toBeLessThan(slackSec);
      expect(Math.abs(endSec - firstSec - d / ts), `${name} #${n} duration`).toBeLessThan(2 * slackSec);
      // wall clock: DASH and HLS put segment n at the same instant...
      const dashWallMs = ast + periodStartMs + ((n - start) * d * 1000) / ts;
      const hlsPdt = hls.segments.find((s) => s.msn === n)?.pdt;
      if (hlsPdt !== undefined) expect(Math.abs(dashWallMs - hlsPdt), `${name} #${n} PDT`).toBeLessThanOrEqual(2 + slackSec * 1000);
      // ...which is the ingest clock: its first part arrived one part duration (and the encoder's
      // per-frame delay) later
      const firstPart = seg.parts[0]!;
      const partMs = (firstPart.durationTicks / ts) * 1000;
      arrivalErrors.push(Math.abs(firstPart.arrivedAtMs - partMs - dashWallMs));
    }
  }
  // ffmpeg on a busy machine delivers some parts late, but there is no systematic offset (such as
  // ffmpeg's own clock, about 1 s late after probing)
  arrivalErrors.sort((a, b) => a - b);
  expect(arrivalErrors[arrivalErrors.length >> 1]).toBeLessThan(250);
  expect(arrivalErrors.at(-1)).toBeLessThan(1000);
});

it('sends the segment in progress with chunked transfer as its parts arrive', async () => {
  const track = p.trackByName('360p')!;
  const n = track.timeline.last!.msn + 1; // starts within a second: requested early, like a DASH player with availabilityTimeOffset
  let completedAt = 0;
  const stop = p.subscribe(() => {
    if (!completedAt && track.timeline.find(n)?.complete) completedAt = performance.now();
  });
  const { headers, chunks } = await new Promise<{ headers: Record<string, unknown>; chunks: { at: number; bytes: Buffer }[] }>(
    (resolve, reject) => {
      const chunks: { at: number; bytes: Buffer }[] = [];
      request(`${origin.url}/dash/live/360p/${p.session}/${n}.m4s`, (res) => {
        res.on('data', (b: Buffer) => chunks.push({ at: performance.now(), bytes: b }));
        res.on('end', () => resolve({ headers: res.headers, chunks }));
        res.on('error', reject);
      }).end();
    },
  );
  stop();
  expect(headers['transfer-encoding']).toBe('chunked');
  expect(headers['content-length']).toBeUndefined();
  expect(headers['cache-control']).toBe('public, max-age=31536000, immutable');
  expect(completedAt).toBeGreaterThan(0);
  // bytes flowed while the segment was still being encoded (its ~1 s; a busy machine can bunch
  // ffmpeg's parts, so the bound is loose), in several chunks
  expect(completedAt - chunks[0]!.at).toBeGreaterThan(150);
  expect(chunks.length).toBeGreaterThanOrEqual(3);
  const body = Buffer.concat(chunks.map((c) => c.bytes));
  expect(body.equals(track.timeline.find(n)!.joined ?? track.timeline.segmentBytes(track.timeline.find(n)!))).toBe(true);
  // and the same URL, now complete, answers the same bytes with a length
  const again = await fetch(`${origin.url}/dash/live/360p/${p.session}/${n}.m4s`);
  expect(again.headers.get('content-length')).toBe(String(body.length));
  expect(Buffer.from(await again.arrayBuffer()).equals(body)).toBe(true);
});

it('answers 404 at once for a segment far beyond the live edge or out of the window', async () => {
  const next = p.trackByName('360p')!.timeline.nextPart().msn;
  for (const n of [next + 5, 0]) {
    if (n === 0 && p.trackByName('360p')!.timeline.first!.msn === 0) continue;
    const t0 = performance.now();
    const res = await fetch(`${origin.url}/dash/live/360p/${p.session}/${n}.m4s`);
    expect(res.status).toBe(404);
    expect(performance.now() - t0).toBeLessThan(300);
  }
});
