// A CDN edge (Debian's nginx, proxy_cache + proxy_cache_lock, keyed by the full URI) in front of the
// origin serves many LL-HLS players while the origin sees about one request per object: every player
// polls blocking playlist reloads, fetches the preload-hinted part, every part and every segment.
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CmafPackager } from '@onair/hls-fallback';
import { LADDER_SMALL, LiveEncoder, tracksOf } from './support/encoder.js';
import { startNginxCache, type NginxEdge } from './support/nginx.js';
import { startOrigin, type TestOrigin } from './support/origin.js';
import { parseMediaPlaylist } from './support/playlists.js';

const PLAYERS = 20;
const RUN_MS = 8000;
let origin: TestOrigin;
let edge: NginxEdge;
let p: CmafPackager;
let encoder: LiveEncoder;

beforeAll(async () => {
  origin = await startOrigin();
  p = new CmafPackager('cdn', tracksOf(LADDER_SMALL), { partTargetMs: 200, segmentTargetMs: 1000, windowSegments: 8 });
  origin.packagers.set('cdn', p);
  encoder = new LiveEncoder(p, LADDER_SMALL).start();
  edge = await startNginxCache(origin.url);
  await p.waitUntil(() => (p.trackByName('360p')!.timeline.segments.length ?? 0) >= 2, 15_000);
});
afterAll(async () => {
  await encoder?.stop();
  p?.close();
  await edge?.stop();
  await origin?.close();
});

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

function get(path: string): Promise<{ status: number; body: Buffer; cache: string }> {
  return new Promise((resolve, reject) => {
    request(edge.url + path, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), cache: String(res.headers['x-cache-status']) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** An LL-HLS player as hls.js behaves: blocking reload for the next part, hint, parts, segments. */
async function player(until: number, stats: { requests: number; failures: string[] }): Promise<void> {
  const base = '/hls/cdn/360p/';
  const fetched = new Set<string>();
  let next: { msn: number; part: number } | undefined;
  while (Date.now() < until) {
    const url = `${base}index.m3u8${next ? `?_HLS_msn=${next.msn}&_HLS_part=${next.part}` : ''}`;
    const res = await get(url);
    stats.requests++;
    if (res.status !== 200) {
      stats.failures.push(`${res.status} ${url}`);
      next = undefined;
      continue;
    }
    const pl = parseMediaPlaylist(res.body.toString());
    const objects = pl.segments.flatMap((s) => [...s.parts.map((x) => x.uri), ...(s.uri ? [s.uri] : [])]);
    if (pl.preloadHint) objects.push(pl.preloadHint);
    // a joining player takes only the live edge, like a real one
    const fresh = objects.filter((u) => !fetched.has(u)).slice(fetched.size ? 0 : -4);
    await Promise.all(
      fresh.map(async (u) => {
        fetched.add(u);
        const r = await get(base + u);
        stats.requests++;
        // a hint for a part that the segment end made moot is a 404, the rest must succeed
        if (r.status !== 200 && !(u === pl.preloadHint && r.status === 404)) stats.failures.push(`${r.status} ${u}`);
      }),
    );
    const lastSeg = pl.segments.at(-1)!;
    const lastPart = lastSeg.parts.length - 1;
    next = lastSeg.uri ? { msn: lastSeg.msn + 1, part: 0 } : { msn: lastSeg.msn, part: lastPart + 1 };
  }
}

it(`serves ${PLAYERS} LL-HLS players through nginx with about one origin request per object`, async () => {
  origin.hits.clear();
  const stats = { requests: 0, failures: [] as string[] };
  const until = Date.now() + RUN_MS;
  await Promise.all(Array.from({ length: PLAYERS }, () => player(until, stats)));

  const hits = [...origin.hits.entries()].filter(([u]) => u.startsWith('/hls/cdn/360p/'));
  const objects = hits.filter(([u]) => /\.(m4s|mp4)$/.test(u));
  const blocking = hits.filter(([u]) => u.includes('_HLS_msn='));
  const originRequests = hits.reduce((a, [, n]) => a + n, 0);
  const report = {
    players: PLAYERS,
    playerRequests: stats.requests,
    originRequests,
    distinctUrls: hits.length,
    objects: objects.length,
    blockingReloads: blocking.length,
  };
  console.log(JSON.stringify(report));

  expect(stats.failures).toEqual([]);
  expect(objects.length).toBeGreaterThan(20); // the run covered several segments' worth of parts
  expect(blocking.length).toBeGreaterThan(10);
  // every part and segment came from the origin once...
  for (const [u, n] of objects) expect(n, u).toBe(1);
  // ...and every blocking reload about once (a lock can expire under load: at most twice)
  for (const [u, n] of blocking) expect(n, u).toBeLessThanOrEqual(2);
  expect(originRequests / hits.length).toBeLessThan(1.1);
  // the edge absorbed the players: the origin saw a small fraction of their requests
  expect(originRequests * 8).toBeLessThan(stats.requests);
  expect(await edge.errorLog()).not.toMatch(/\[(error|crit|alert|emerg)\]/);
}, 60_000);
