// The contribution encoder's renditions for the HLS ladder: the command line writes each WebRTC
// layer a second time, unchanged, as CMAF (tee: one encode, two muxers), with AAC and posters, and
// forces key frames on the segment grid; the EncodedLadder hands a ladder that starts late the
// current init segments and whole boxes, tells it when a new encoder takes over, and gives up on a
// track whose framing is lost without touching the others. The CMAF bytes are real ffmpeg output.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { contributionEncoderArgs, keyFrameIntervalSec, type ContributionEncoderOptions } from '../src/ingest/contribution-encoder.js';
import { EncodedLadder, type EncodedLadderListener } from '../src/ingest/encoded-ladder.js';

const cmaf = (seconds: number) =>
  execFileSync(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30', '-t', String(seconds)],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '0', '-force_key_frames', 'expr:gte(t,n_forced*1)'],
      ...['-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+delay_moov+default_base_moof+cmaf', '-frag_duration', '200000', 'pipe:1'],
    ],
    { maxBuffer: 64 << 20 },
  );

/** Where each top-level box of a byte stream starts. */
function boxOffsets(bytes: Buffer): number[] {
  const offsets: number[] = [];
  for (let at = 0; at + 8 <= bytes.length; at += bytes.readUInt32BE(at)) offsets.push(at);
  return offsets;
}

/** Top-level box types of a byte stream. */
function boxTypes(bytes: Buffer): string[] {
  return boxOffsets(bytes).map((at) => bytes.toString('latin1', at + 4, at + 8));
}

/** Feeds `bytes` in uneven chunks (as a pipe delivers them). */
function feed(ladder: EncodedLadder, track: number, bytes: Buffer): void {
  for (let at = 0, n = 1; at < bytes.length; at += n, n = (n * 7 + 13) % 5000) ladder.write(track, bytes.subarray(at, at + n));
}

function recorder() {
  const got = { restarts: 0, boxes: [] as { track: number; type: string }[], poster: 0 };
  const listener: EncodedLadderListener = {
    restart: () => got.restarts++,
    box: (track, box) => got.boxes.push({ track, type: box.toString('latin1', 4, 8) }),
    poster: (chunk) => (got.poster += chunk.length),
  };
  return { got, listener };
}

const options: ContributionEncoderOptions = {
  ffmpegPath: 'ffmpeg',
  input: 'flv',
  video: { ip: '127.0.0.1', port: 40000, payloadType: 102, ssrc: 1000 },
  layers: [
    { ssrc: 1001, scale: 1 / 2, maxBitrate: 500_000 },
    { ssrc: 1002, scale: 2 / 3, maxBitrate: 1_100_000 },
    { ssrc: 1000, scale: 1, maxBitrate: 2_500_000 },
  ],
  videoLocalPort: 40010,
  audio: { ip: '127.0.0.1', port: 40002, payloadType: 111, ssrc: 2000 },
  audioLocalPort: 40012,
};

describe('contribution encoder command line', () => {
  it('with a ladder output, each layer is encoded once and muxed twice (RTP and CMAF), highest layer on the first pipe', () => {
    const cmd = contributionEncoderArgs({
      ...options,
      ladder: { partMs: 200, segmentMs: 1000, audioBitrate: 128_000, posterIntervalMs: 4000, posterHeight: 360 },
    });
    expect(cmd.args.filter((a) => a === 'libx264')).toHaveLength(3);
    expect(cmd.args.filter((a) => a === 'tee')).toHaveLength(3);
    const slaves = cmd.args.filter((a) => a.startsWith('[f=rtp:'));
    expect(slaves).toHaveLength(3);
    expect(slaves[2]).toContain('ssrc=1000]udp://127.0.0.1:40000'); // the top layer (listed last, lowest first)...
    expect(slaves[2]).toMatch(/frag_duration=200000.*\]pipe:3$/); // ...on fd 3
    expect(cmd.tracks).toEqual([
      { kind: 'video', bitrate: 2_500_000 },
      { kind: 'video', bitrate: 1_100_000 },
      { kind: 'video', bitrate: 500_000 },
      { kind: 'audio', bitrate: 128_000 },
    ]);
    expect(cmd.trackFds).toEqual([3, 4, 5, 6]);
    expect(cmd.args).toContain('aac');
    expect(cmd.args).toContain('libopus');
    expect(cmd.posterFd).toBe(7);
    expect(cmd.pipes).toBe(5);
    // Key frames on the segment grid in every layer, and nowhere else.
    expect(cmd.args.filter((a) => a === 'expr:gte(t,n_forced*1)')).toHaveLength(3);
    expect(cmd.args.filter((a) => a === '-sc_threshold')).toHaveLength(3);
  });

  it('without one (HLS off) it writes RTP only: no tee, no AAC, no pipes', () => {
    const cmd = contributionEncoderArgs(options);
    expect(cmd.args).not.toContain('tee');
    expect(cmd.args).not.toContain('aac');
    expect(cmd.pipes).toBe(0);
    expect(cmd.tracks).toEqual([]);
  });

  it('puts a key frame on every segment boundary and at least one a second', () => {
    expect(keyFrameIntervalSec(undefined)).toBe(1);
    expect(keyFrameIntervalSec(1000)).toBe(1);
    expect(keyFrameIntervalSec(2000)).toBe(1);
    expect(keyFrameIntervalSec(1500)).toBe(0.75);
    expect(keyFrameIntervalSec(500)).toBe(0.5);
  });
});

describe('EncodedLadder', () => {
  const bytes = cmaf(2);
  const types = boxTypes(bytes);

  it('is inactive until an encoder begins writing into it', () => {
    const ladder = new EncodedLadder();
    expect(ladder.active).toBe(false);
    expect(ladder.initialised).toBe(false);
    ladder.begin([{ kind: 'video', bitrate: 1 }]);
    expect(ladder.active).toBe(true);
    expect(ladder.initialised).toBe(false);
  });

  it('gives a ladder that starts late the init segment, then whole boxes from the next one on', () => {
    const ladder = new EncodedLadder();
    ladder.begin([{ kind: 'video', bitrate: 1 }]);
    const cut = boxOffsets(bytes)[6]! + 20; // inside the seventh box (after ftyp, moov and two fragments)
    feed(ladder, 0, bytes.subarray(0, cut));
    expect(ladder.initialised).toBe(true);
    const [init] = ladder.initSegments();
    expect(boxTypes(init!)).toEqual(['ftyp', 'moov']);
    const { got, listener } = recorder();
    ladder.subscribe(listener);
    feed(ladder, 0, bytes.subarray(cut));
    // The box cut in two arrives whole, after subscribing; nothing before it is repeated.
    expect(got.boxes.map((b) => b.type)).toEqual(types.slice(6));
    expect(got.boxes[0]!.type).toBe('moof');
    expect(got.boxes.every((b) => b.track === 0)).toBe(true);
  });

  it('tells its ladder when a new encoder takes over, and keeps only the new init', () => {
    const ladder = new EncodedLadder();
    ladder.begin([{ kind: 'video', bitrate: 1 }]);
    feed(ladder, 0, bytes);
    const { got, listener } = recorder();
    const unsubscribe = ladder.subscribe(listener);
    ladder.begin([{ kind: 'video', bitrate: 1 }]);
    expect(got.restarts).toBe(1);
    expect(ladder.initialised).toBe(false);
    feed(ladder, 0, bytes);
    expect(ladder.initialised).toBe(true);
    expect(got.boxes.map((b) => b.type)).toEqual(types);
    unsubscribe();
    ladder.poster(Buffer.from('jpeg'));
    expect(got.poster).toBe(0);
  });

  it('a track whose framing breaks (a box size of 0) goes silent; the other tracks flow on', () => {
    const ladder = new EncodedLadder();
    ladder.begin([
      { kind: 'video', bitrate: 2 },
      { kind: 'video', bitrate: 1 },
    ]);
    const { got, listener } = recorder();
    ladder.subscribe(listener);
    ladder.write(0, Buffer.from([0, 0, 0, 0, 0x6d, 0x64, 0x61, 0x74]));
    feed(ladder, 0, bytes);
    feed(ladder, 1, bytes);
    expect(got.boxes.filter((b) => b.track === 0)).toEqual([]);
    expect(got.boxes.filter((b) => b.track === 1).map((b) => b.type)).toEqual(types);
    expect(ladder.initialised).toBe(false); // track 0 never wrote its init
  });
});
