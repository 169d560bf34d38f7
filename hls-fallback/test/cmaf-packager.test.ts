// The packager's handling of its input and its memory, with real ffmpeg output: any chunking of the
// pipe gives the same parts; audio is cut at the AAC frame nearest each video boundary, its samples
// unchanged, and all tracks list the same instants; bad bytes break only their track until the
// encoder restarts; a new init without restart() is treated as one; the window bounds memory;
// close() releases everything; the wall clock is the ingest clock, however late the encoder's first
// parts come out.
import { beforeAll, expect, it } from 'vitest';
import { describeFragment, describeInit, CmafPackager } from '@onair/hls-fallback';
import { fragmentSamples } from '../src/package/media-fragment.js';
import { LADDER_SMALL, recordOutputs, replay, tracksOf } from './support/encoder.js';

const OPTS = { partTargetMs: 200, segmentTargetMs: 1000, windowSegments: 4 };
const TRACKS = tracksOf(LADDER_SMALL);
let recorded: Buffer[];

beforeAll(async () => {
  recorded = await recordOutputs(LADDER_SMALL, 8);
});

/** The end of the last whole top-level box before `offset`: where an encoder's output could stop. */
function boxBoundary(buf: Buffer, offset: number): number {
  let at = 0;
  while (at + 8 <= buf.length && at + buf.readUInt32BE(at) <= offset) at += buf.readUInt32BE(at);
  return at;
}
const halves = (f: number) => recorded.map((b) => boxBoundary(b, Math.floor(b.length * f)));

const partsOf = (p: CmafPackager, track: number) => p.tracks[track]!.timeline.segments.flatMap((s) => s.parts.map((x) => x.bytes));

it('cuts the same parts whatever the chunk boundaries of the pipe', () => {
  const whole = new CmafPackager('a', TRACKS, OPTS);
  recorded.forEach((b, i) => whole.write(i, b));
  const bytewise = new CmafPackager('b', TRACKS, OPTS);
  // prime-sized chunks, and the first third of the audio one byte at a time
  replay(bytewise, recorded, 997);
  const audio = recorded.length - 1;
  const fine = new CmafPackager('c', TRACKS, OPTS);
  // (the video first: the audio is cut where the video's parts end)
  for (let i = 0; i < audio; i++) fine.write(i, recorded[i]!);
  const third = recorded[audio]!.length / 3;
  for (let at = 0; at < third; at++) fine.write(audio, recorded[audio]!.subarray(at, at + 1));
  fine.write(audio, recorded[audio]!.subarray(Math.ceil(third)));
  for (let i = 0; i < recorded.length; i++) {
    const expected = partsOf(whole, i);
    expect(expected.length).toBeGreaterThan(10);
    expect(partsOf(bytewise, i)).toEqual(expected);
  }
  expect(partsOf(fine, audio)).toEqual(partsOf(whole, audio));
  // and the parts are the input, cut at fragment boundaries: moof+mdat, nothing lost in between
  // (after them ffmpeg's trailer, an mfra box, which is not media)
  const held = Buffer.concat(partsOf(whole, 0));
  const at = recorded[0]!.indexOf(held);
  expect(at).toBeGreaterThan(0);
  expect(recorded[0]!.toString('latin1', at + held.length + 4, at + held.length + 8)).toBe('mfra');
  for (const p of [whole, bytewise, fine]) p.close();
});

it('segments video at key frames, and keeps only the window', () => {
  const p = new CmafPackager('w', TRACKS, OPTS);
  replay(p, recorded);
  for (const t of p.tracks) {
    const segs = t.timeline.segments;
    expect(segs.length).toBeLessThanOrEqual(OPTS.windowSegments + 1);
    expect(segs[0]!.msn).toBeGreaterThan(0); // older ones were dropped
    for (const s of segs) {
      expect(s.parts[0]!.independent).toBe(true);
      const sec = s.durationTicks / t.latestInit!.info.timescale;
      if (t.spec.kind === 'video' && s !== segs.at(-1)) expect(sec).toBeCloseTo(1, 3);
    }
  }
  // the windows slide together: every track's playlist begins at the same segment
  expect(new Set(p.tracks.map((t) => t.timeline.first!.msn)).size).toBe(1);
  p.close();
});

it('cuts audio parts and segments at the AAC frame nearest each video boundary, so every playlist lists the same instants', () => {
  const p = new CmafPackager('a', TRACKS, { ...OPTS, windowSegments: 20 });
  replay(p, recorded);
  const [video, , audio] = p.tracks as [(typeof p.tracks)[0], unknown, (typeof p.tracks)[0]];
  const vts = video.latestInit!.info.timescale;
  const ats = audio.latestInit!.info.timescale;
  const frame = 1024 / ats; // an AAC frame, 21.3 ms at 48 kHz
  const vSegs = video.timeline.segments;
  const aSegs = audio.timeline.segments;
  expect(aSegs.length).toBeGreaterThanOrEqual(7);
  // segment N of the audio starts within half a frame of segment N of the video, and has as many parts
  expect(aSegs.map((s) => s.msn)).toEqual(vSegs.map((s) => s.msn));
  const durations = new Set<number>();
  for (const [i, a] of aSegs.entries()) {
    const v = vSegs[i]!;
    expect(Math.abs(a.startTicks / ats - v.startTicks / vts), `segment ${a.msn}`).toBeLessThanOrEqual(frame / 2 + 1e-9);
    expect(Math.abs(a.programDateMs - v.programDateMs)).toBeLessThanOrEqual(11);
    expect(a.parts.length).toBe(v.parts.length);
    expect(a.complete).toBe(v.complete);
    a.parts.forEach((part, j) => {
      const vp = v.parts[j]!;
      const end = (part.startTicks + part.durationTicks) / ats;
      expect(Math.abs(end - (vp.startTicks + vp.durationTicks) / vts), `part ${a.msn}.${j}`).toBeLessThanOrEqual(frame / 2 + 1e-9);
      expect(part.durationTicks % 1024).toBe(0);
    });
    if (a.complete) durations.add(a.durationTicks / ats);
  }
  // so audio segments last 46 or 47 frames (0.981 or 1.003 s): EXTINF says which
  expect([...durations].every((d) => Math.abs(d - 1) <= frame)).toBe(true);
  expect(durations.size).toBeGreaterThan(1);
  // the encoder's samples, unchanged and none lost, from the one nearest the video's start on
  const encoded = fragmentsOf(recorded)[2]!.fragments.flatMap((f) => {
    const moofSize = f.bytes.readUInt32BE(0);
    const r = fragmentSamples(f.bytes.subarray(0, moofSize), f.bytes.subarray(moofSize));
    return r.ok ? r.samples.map((x) => x.data) : [];
  });
  const cut = aSegs.flatMap((s) =>
    s.parts.flatMap((part) => {
      const moofSize = part.bytes.readUInt32BE(0);
      const r = fragmentSamples(part.bytes.subarray(0, moofSize), part.bytes.subarray(moofSize));
      expect(r.ok).toBe(true);
      return r.ok ? r.samples.map((x) => x.data) : [];
    }),
  );
  const from = Math.round(aSegs[0]!.startTicks / 1024);
  expect(Buffer.concat(cut).equals(Buffer.concat(encoded.slice(from, from + cut.length)))).toBe(true);
  p.close();
});

it('cuts the audio on its own once the video is gone (garbage in every video track)', () => {
  const p = new CmafPackager('v', TRACKS, OPTS);
  const cut = halves(0.5);
  replay(
    p,
    recorded.map((b, i) => b.subarray(0, cut[i])),
  );
  const audio = p.tracks[2]!.timeline;
  const before = audio.last!.msn;
  p.write(0, Buffer.from('this is not an mp4 box at all, and its size field is absurd'));
  p.write(1, Buffer.from('this is not an mp4 box at all, and its size field is absurd'));
  replay(
    p,
    recorded.map((b, i) => b.subarray(cut[i])),
  );
  expect(audio.last!.msn).toBeGreaterThan(before + 2);
  const ts = p.tracks[2]!.latestInit!.info.timescale;
  for (const s of audio.segments.filter((x) => x.complete && x.msn > before + 1)) expect(s.durationTicks / ts).toBeCloseTo(0.96, 2);
  p.close();
});

it('breaks only the track that gets garbage, until the encoder restarts', () => {
  const p = new CmafPackager('g', TRACKS, OPTS);
  const cut = halves(0.5);
  replay(
    p,
    recorded.map((b, i) => b.subarray(0, cut[i])),
  );
  const before = p.tracks.map((t) => t.timeline.last!.msn);
  p.write(0, Buffer.from('this is not an mp4 box at all, and its size field is absurd'));
  replay(
    p,
    recorded.map((b, i) => b.subarray(cut[i])),
  );
  expect(p.tracks[0]!.timeline.last!.msn).toBe(before[0]); // stuck
  expect(p.tracks[1]!.timeline.last!.msn).toBeGreaterThan(before[1]!); // unaffected
  p.restart();
  replay(
    p,
    recorded.map((b) => b.subarray(0, b.length >> 2)),
  );
  expect(p.tracks[0]!.timeline.last!.msn).toBeGreaterThan(before[0]!);
  expect(p.tracks[0]!.timeline.last!.gen).toBe(1);
  p.close();
});

it('treats a new init segment without restart() as an encoder restart', () => {
  const p = new CmafPackager('i', TRACKS, OPTS);
  const cut = halves(0.5);
  replay(
    p,
    recorded.map((b, i) => b.subarray(0, cut[i])),
  );
  const last = p.tracks.map((t) => t.timeline.last!.msn);
  // the old process stopped after a whole box; the new one starts with ftyp+moov
  const quarter = halves(0.25);
  replay(
    p,
    recorded.map((b, i) => b.subarray(0, quarter[i])),
  );
  expect(p.generation).toBe(1);
  p.tracks.forEach((t, i) => {
    const first = t.timeline.segments.find((s) => s.gen === 1)!;
    expect(first.discontinuity).toBe(true);
    expect(first.msn).toBe(last[i]! + 1);
  });
  p.close();
});

it('adds no empty discontinuity when restart() comes twice or before any media', () => {
  const p = new CmafPackager('r', TRACKS, OPTS);
  p.restart();
  replay(
    p,
    recorded.map((b) => b.subarray(0, b.length >> 2)),
  );
  expect(p.generation).toBe(0);
  expect(p.tracks[0]!.timeline.first!.discontinuity).toBe(false);
  p.restart();
  p.restart();
  replay(
    p,
    recorded.map((b) => b.subarray(0, b.length >> 2)),
  );
  expect(p.generation).toBe(1);
  expect(p.tracks[0]!.timeline.segments.filter((s) => s.discontinuity)).toHaveLength(1);
  p.close();
});

it('releases all media on close() and ignores writes after it', async () => {
  const p = new CmafPackager('c', TRACKS, OPTS);
  replay(p, recorded);
  const waiting = p.waitUntil(() => false, 60_000);
  p.close();
  expect(await waiting).toBe('closed');
  for (const t of p.tracks) {
    expect(t.timeline.segments).toHaveLength(0);
    expect(t.inits.size).toBe(0);
  }
  p.write(0, recorded[0]!);
  expect(p.tracks[0]!.timeline.segments).toHaveLength(0);
  expect(p.state).toBe('closed');
});

it('rejects unusable track lists and options', () => {
  expect(() => new CmafPackager('x', [], OPTS)).toThrow();
  expect(() => new CmafPackager('x', [{ kind: 'video', name: 'a/b', bandwidth: 1 }], OPTS)).toThrow();
  expect(
    () =>
      new CmafPackager(
        'x',
        [
          { kind: 'video', name: 'a', bandwidth: 1 },
          { kind: 'audio', name: 'a', bandwidth: 1 },
        ],
        OPTS,
      ),
  ).toThrow();
  expect(() => new CmafPackager('x', TRACKS, { ...OPTS, partTargetMs: 0 })).toThrow();
});

/** Each track's init bytes and its fragments (moof+mdat) with where their media ends, in seconds. */
function fragmentsOf(outputs: Buffer[]) {
  return outputs.map((buf) => {
    const boxes: { type: string; bytes: Buffer }[] = [];
    for (let at = 0; at + 8 <= buf.length; at += buf.readUInt32BE(at))
      boxes.push({ type: buf.toString('latin1', at + 4, at + 8), bytes: buf.subarray(at, at + buf.readUInt32BE(at)) });
    const initEnd = boxes.findIndex((b) => b.type === 'moof');
    const init = Buffer.concat(boxes.slice(0, initEnd).map((b) => b.bytes));
    const timescale = describeInit(init).ok ? (describeInit(init) as { info: { timescale: number } }).info.timescale : 1;
    const fragments: { bytes: Buffer; endSec: number }[] = [];
    for (let i = initEnd; i + 1 < boxes.length; i++) {
      if (boxes[i]!.type !== 'moof' || boxes[i + 1]!.type !== 'mdat') continue;
      const f = describeFragment(boxes[i]!.bytes);
      if (f.ok)
        fragments.push({
          bytes: Buffer.concat([boxes[i]!.bytes, boxes[i + 1]!.bytes]),
          endSec: (f.info.startTicks + f.info.durationTicks) / timescale,
        });
    }
    return { init, fragments };
  });
}

it('stamps the ingest clock: the encoder’s start-up backlog does not make PROGRAM-DATE-TIME late', () => {
  // Media time 0 was ingested at `ingestedAt`. The encoder's first 2 s of parts come out in one
  // burst 0.7 s late (its probing backlog); after that each part comes out 40 ms after the frame
  // following it (the fps filter's hold: 1/30 s) was ingested.
  const ingestedAt = 1_800_000_000_000;
  let now = 0;
  const p = new CmafPackager('clock', TRACKS, { ...OPTS, now: () => now });
  const tracks = fragmentsOf(recorded);
  tracks.forEach((t, i) => p.write(i, t.init));
  const parts = tracks.flatMap((t, track) => t.fragments.map((f) => ({ ...f, track }))).sort((a, b) => a.endSec - b.endSec);
  const hints: { msn: number; index: number }[] = [];
  for (const part of parts) {
    const steady = ingestedAt + (part.endSec + 1 / 30) * 1000 + 40;
    now = Math.max(now, part.endSec <= 2 ? ingestedAt + 2700 : steady);
    p.write(part.track, part.bytes);
    if (part.track === 0) hints.push(p.tracks[0]!.timeline.nextPart());
  }
  const anchor = p.anchor(0)!;
  expect(Math.abs(anchor.wallMs - (ingestedAt + anchor.mediaSec * 1000 + 40))).toBeLessThanOrEqual(1);
  expect(anchor.settled).toBe(true); // the steady parts came for more than 2 s: it no longer moves
  expect(p.timelineOriginMs).toBe(anchor.wallMs);
  // every segment held, including those stamped during the burst, is on that one clock
  for (const t of p.tracks) {
    const ts = t.latestInit!.info.timescale;
    for (const s of t.timeline.segments)
      expect(s.programDateMs).toBe(Math.round(anchor.wallMs + (s.startTicks / ts - anchor.mediaSec) * 1000));
  }
  // and every preload hint named a part that then existed: after part 4 of a segment, part 0 of the next
  const video = p.tracks[0]!.timeline;
  const held = hints.filter((h) => h.msn >= video.first!.msn && h.msn < video.last!.msn);
  expect(held.length).toBeGreaterThan(10);
  for (const h of held) expect(video.find(h.msn)?.parts[h.index], `${h.msn}.${h.index}`).toBeDefined();
  expect(held.some((h) => h.index === 0)).toBe(true);
  // once settled, a part that comes out faster than all before (20 ms) moves nothing...
  const settledAt = anchor.wallMs;
  const [oneButLast, lastVideo] = parts.filter((x) => x.track === 0).slice(-2) as [(typeof parts)[0], (typeof parts)[0]];
  now = ingestedAt + (oneButLast.endSec + 1 / 30) * 1000 + 20;
  p.write(0, oneButLast.bytes);
  expect(p.anchor(0)!.wallMs).toBe(settledAt);
  // ...but one that arrives before the end its timestamps give it proves the anchor late
  now = ingestedAt + lastVideo.endSec * 1000;
  p.write(0, lastVideo.bytes);
  expect(p.anchor(0)!.wallMs).toBeLessThan(settledAt - 40);
  p.close();
});
