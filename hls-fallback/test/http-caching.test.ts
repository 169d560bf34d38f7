// The origin's HTTP as CDNs and browsers rely on it: immutable media objects, short-lived playlists
// (blocking ones cacheable by their query), validators and 304, byte ranges, gzip for playlists,
// CORS and content types.
import { gunzipSync } from 'node:zlib';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CmafPackager } from '@onair/hls-fallback';
import { LADDER_SMALL, recordOutputs, replay, tracksOf } from './support/encoder.js';
import { startOrigin, type TestOrigin } from './support/origin.js';
import { parseMediaPlaylist } from './support/playlists.js';

let origin: TestOrigin;
let p: CmafPackager;
let segPath: string;
let partPath: string;
let segment: Buffer;

beforeAll(async () => {
  origin = await startOrigin();
  p = new CmafPackager('s', tracksOf(LADDER_SMALL), { partTargetMs: 200, segmentTargetMs: 1000, windowSegments: 8 });
  origin.packagers.set('s', p);
  replay(p, await recordOutputs(LADDER_SMALL, 4));
  const seg = p.trackByName('360p')!.timeline.segments[1]!;
  segPath = `/hls/s/360p/${p.session}/${seg.msn}.m4s`;
  partPath = `/hls/s/360p/${p.session}/${seg.msn}.1.m4s`;
  segment = p.trackByName('360p')!.timeline.segmentBytes(seg);
});
afterAll(async () => {
  p?.close();
  await origin?.close();
});

/** node:http, which (unlike fetch) sends exactly the headers given and does not decode gzip */
function raw(
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpRequest(origin.url + path, { headers, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

it('serves segments, parts and init segments as immutable objects with validators', async () => {
  for (const [path, type] of [
    [segPath, 'video/mp4'],
    [partPath, 'video/mp4'],
    [`/hls/s/audio/${p.session}/init-0.mp4`, 'audio/mp4'],
  ] as const) {
    const res = await raw(path);
    expect(res.status, path).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers.etag).toMatch(/^"[^"]+"$/);
    expect(Date.parse(String(res.headers['last-modified']))).toBeGreaterThan(0);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    const byTag = await raw(path, { 'if-none-match': String(res.headers.etag) });
    expect(byTag.status).toBe(304);
    expect(byTag.body.length).toBe(0);
    expect((await raw(path, { 'if-modified-since': String(res.headers['last-modified']) })).status).toBe(304);
    expect((await raw(path, { 'if-none-match': '"something-else"' })).status).toBe(200);
  }
  // the DASH URL of the same object is the same bytes
  const dash = await raw(segPath.replace('/hls/', '/dash/'));
  expect(dash.body.equals(segment)).toBe(true);
});

it('answers byte ranges with 206 and unsatisfiable ones with 416', async () => {
  const first = await raw(segPath, { range: 'bytes=0-99' });
  expect(first.status).toBe(206);
  expect(first.headers['content-range']).toBe(`bytes 0-99/${segment.length}`);
  expect(first.body.equals(segment.subarray(0, 100))).toBe(true);
  const tail = await raw(segPath, { range: 'bytes=-50' });
  expect(tail.status).toBe(206);
  expect(tail.body.equals(segment.subarray(segment.length - 50))).toBe(true);
  const open = await raw(segPath, { range: `bytes=${segment.length - 10}-` });
  expect(open.body.equals(segment.subarray(segment.length - 10))).toBe(true);
  const beyond = await raw(segPath, { range: `bytes=${segment.length}-` });
  expect(beyond.status).toBe(416);
  expect(beyond.headers['content-range']).toBe(`bytes */${segment.length}`);
  // a stale If-Range gets the whole object
  const stale = await raw(segPath, { range: 'bytes=0-99', 'if-range': '"old"' });
  expect(stale.status).toBe(200);
  expect(stale.body.length).toBe(segment.length);
});

it('keeps playlists and the MPD short-lived; a blocking reload is cacheable by its query', async () => {
  const plain = await raw('/hls/s/360p/index.m3u8');
  expect(plain.headers['cache-control']).toBe('public, max-age=1');
  expect(plain.headers['content-type']).toBe('application/vnd.apple.mpegurl');
  const pl = parseMediaPlaylist(plain.body.toString());
  const last = pl.segments.at(-1)!;
  const blocking = await raw(`/hls/s/360p/index.m3u8?_HLS_msn=${last.msn}&_HLS_part=0`);
  expect(blocking.status).toBe(200);
  expect(blocking.headers['cache-control']).toBe('public, max-age=3');
  const mpd = await raw('/dash/s/manifest.mpd');
  expect(mpd.headers['cache-control']).toBe('public, max-age=1');
  expect(mpd.headers['content-type']).toBe('application/dash+xml');
  for (const r of [plain, blocking, mpd]) expect(r.headers.etag).toBeDefined();
  const again = await raw('/hls/s/360p/index.m3u8', { 'if-none-match': String(plain.headers.etag) });
  expect(again.status).toBe(304);
  // errors are never cached
  const missing = await raw('/hls/s/360p/index.m3u8?_HLS_part=1');
  expect(missing.status).toBe(400);
  expect(missing.headers['cache-control']).toBe('no-store');
});

it('gzips playlists and the MPD only for clients that accept it', async () => {
  for (const path of ['/hls/s/index.m3u8', '/hls/s/360p/index.m3u8', '/dash/s/manifest.mpd']) {
    const identity = await raw(path);
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.headers.vary).toBe('Accept-Encoding');
    const gz = await raw(path, { 'accept-encoding': 'br;q=1, gzip;q=0.8' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('Accept-Encoding');
    expect(gunzipSync(gz.body).equals(identity.body)).toBe(true);
    expect(gz.headers.etag).not.toBe(identity.headers.etag);
    expect((await raw(path, { 'accept-encoding': 'gzip;q=0' })).headers['content-encoding']).toBeUndefined();
  }
  // media is already compressed: never gzipped
  expect((await raw(segPath, { 'accept-encoding': 'gzip' })).headers['content-encoding']).toBeUndefined();
});

it('allows any origin and exposes the headers players read', async () => {
  const res = await raw(segPath, { origin: 'https://player.example', range: 'bytes=0-9' });
  expect(res.headers['access-control-allow-origin']).toBe('*');
  const exposed = String(res.headers['access-control-expose-headers']).split(/,\s*/);
  for (const h of ['Content-Range', 'Content-Length', 'ETag', 'Retry-After', 'Date']) expect(exposed).toContain(h);
  const pre = await raw(
    '/hls/s/360p/index.m3u8',
    { origin: 'https://player.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' },
    'OPTIONS',
  );
  expect(pre.status).toBe(204);
  expect(pre.headers['access-control-allow-origin']).toBe('*');
  const err = await raw('/hls/nope/index.m3u8', { origin: 'https://player.example' });
  expect(err.status).toBe(404);
  expect(err.headers['access-control-allow-origin']).toBe('*');
  expect(err.headers['content-type']).toMatch(/^application\/json/);
});
