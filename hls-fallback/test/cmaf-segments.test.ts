// Every rendition's init segment plus each of its segments (and parts) is a valid, decodable MP4 as
// ffprobe/ffmpeg see it, segments begin with a keyframe, and they last the 1 s target within 10 %.
// The ladder is the product's (720p/480p/240p + AAC, the per-output arguments of the encoder),
// replayed into the packager in odd-sized chunks, and fetched over HTTP like a player would.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CmafPackager } from '@onair/hls-fallback';
import { LADDER_720, recordOutputs, replay, tracksOf } from './support/encoder.js';
import { startOrigin, type TestOrigin } from './support/origin.js';
import { parseMediaPlaylist } from './support/playlists.js';

const run = promisify(execFile);
let origin: TestOrigin;
let dir: string;
let p: CmafPackager;

beforeAll(async () => {
  origin = await startOrigin();
  dir = await mkdtemp(join(tmpdir(), 'onair-cmaf-'));
  p = new CmafPackager('ladder', tracksOf(LADDER_720), { partTargetMs: 200, segmentTargetMs: 1000, windowSegments: 8 });
  origin.packagers.set('ladder', p);
  replay(p, await recordOutputs(LADDER_720, 7), 4093);
});
afterAll(async () => {
  p?.close();
  await origin?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const bytes = async (path: string) => {
  const res = await fetch(origin.url + path);
  expect(res.status, path).toBe(200);
  return Buffer.from(await res.arrayBuffer());
};

interface Probe {
  streams: { codec_name: string; width?: number; height?: number; sample_rate?: string; channels?: number }[];
  packets: { pts_time: string; duration_time: string; flags: string }[];
}

async function probe(file: string): Promise<Probe> {
  const { stdout, stderr } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_name,width,height,sample_rate,channels:packet=pts_time,duration_time,flags',
    '-of',
    'json',
    file,
  ]);
  expect(stderr).toBe('');
  return JSON.parse(stdout) as Probe;
}

async function decodesCleanly(file: string): Promise<void> {
  const { stderr } = await run('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-']);
  expect(stderr).toBe('');
}

it.each([
  ['720p', 'h264', 1280, 720],
  ['480p', 'h264', 854, 480],
  ['240p', 'h264', 426, 240],
  ['audio', 'aac', undefined, undefined],
])(
  '%s: init + each segment probes and decodes; segments last 1 s within 10 %%',
  async (name, codec, width, height) => {
    const pl = parseMediaPlaylist(await (await fetch(`${origin.url}/hls/ladder/${name}/index.m3u8`)).text());
    const init = await bytes(`/hls/ladder/${name}/${pl.segments[0]!.map}`);
    const complete = pl.segments.filter((s) => s.uri);
    expect(complete.length).toBeGreaterThanOrEqual(5);
    const all: Buffer[] = [init];
    for (const s of complete) {
      const seg = await bytes(`/hls/ladder/${name}/${s.uri}`);
      all.push(seg);
      const file = join(dir, `${name}-${s.msn}.mp4`);
      await writeFile(file, Buffer.concat([init, seg]));
      const info = await probe(file);
      expect(info.streams).toHaveLength(1);
      expect(info.streams[0]!.codec_name).toBe(codec);
      if (width) expect([info.streams[0]!.width, info.streams[0]!.height]).toEqual([width, height]);
      else expect([info.streams[0]!.sample_rate, info.streams[0]!.channels]).toEqual(['48000', 2]);
      expect(info.packets[0]!.flags.startsWith('K')).toBe(true);
      // (ffprobe leaves the duration of a fragment's first AAC packet N/A; the span is what counts)
      const lastPacket = info.packets.at(-1)!;
      const mediaSec = Number(lastPacket.pts_time) + Number(lastPacket.duration_time) - Number(info.packets[0]!.pts_time);
      expect(Math.abs(mediaSec - s.duration!), `EXTINF of ${s.msn} matches its media`).toBeLessThan(0.002);
      // the last segment of the recording may be cut short by the end of the input
      if (s !== complete.at(-1)) expect(Math.abs(mediaSec - 1)).toBeLessThanOrEqual(0.1);
      if (width) expect(info.packets).toHaveLength(30);
      await decodesCleanly(file);
    }
    // the segments follow each other without gaps or overlaps
    const whole = join(dir, `${name}-all.mp4`);
    await writeFile(whole, Buffer.concat(all));
    const info = await probe(whole);
    const step = Number(info.packets[1]!.duration_time);
    info.packets.forEach((k, i) => {
      if (i) expect(Math.abs(Number(k.pts_time) - Number(info.packets[i - 1]!.pts_time) - step), `packet ${i}`).toBeLessThan(0.001);
    });
    // a single part, with the init segment, is playable on its own too
    const lastWithParts = pl.segments.filter((s) => s.parts.length).at(-1)!;
    const partFile = join(dir, `${name}-part.mp4`);
    await writeFile(partFile, Buffer.concat([init, await bytes(`/hls/ladder/${name}/${lastWithParts.parts[0]!.uri}`)]));
    await decodesCleanly(partFile);
  },
  60_000,
);

it('advertises codecs, sizes and frame rate read from the init segments', async () => {
  const text = await (await fetch(`${origin.url}/hls/ladder/index.m3u8`)).text();
  expect(text).toContain('RESOLUTION=1280x720,FRAME-RATE=30.000');
  expect(text).toContain('RESOLUTION=854x480');
  expect(text).toMatch(/CODECS="avc1\.4d40(1f|20),mp4a\.40\.2"/); // main profile, level 3.1/3.2 at 720p30
});
