// The encode half of HLS/DASH on a real node: a WHIP publisher's RTP is tapped by PlainTransports,
// ffprobe sizes the source, and one supervised ffmpeg writes a CMAF track per rendition (never
// upscaled), AAC audio and poster JPEGs; killing ffmpeg restarts it, ending the stream kills it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@onair/platform';
import { ladderSettings, LiveLadders, type CmafSink, type PackagerTrack } from '@onair/hls-fallback';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { publish, type Publisher } from '../../test/support/werift-peers.js';
import type { OnAirNode } from '@onair/signaling';

/** Keeps every byte ffmpeg wrote per track, and each restart, to inspect with ffprobe. */
class RecordingSink implements CmafSink {
  readonly chunks: Buffer[][];
  restarts = 0;
  ended = false;
  constructor(readonly tracks: PackagerTrack[]) {
    this.chunks = tracks.map(() => []);
  }
  write(track: number, chunk: Buffer) {
    this.chunks[track]!.push(chunk);
  }
  restart() {
    this.restarts++;
  }
  end() {
    this.ended = true;
  }
  close() {}
  bytes(track: number) {
    return Buffer.concat(this.chunks[track]!);
  }
}

function ffprobeStreams(file: string) {
  const out = execFileSync('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_type,codec_name,width,height',
    '-show_entries',
    'format=duration',
    '-of',
    'json',
    file,
  ]);
  return JSON.parse(out.toString()) as {
    streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
    format: { duration?: string };
  };
}

describe('the ladder encoder behind a live stream', () => {
  let node: OnAirNode;
  let ladders: LiveLadders<RecordingSink>;
  const sinks = new Map<string, RecordingSink>();
  const publishers: Publisher[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'onair-ladder-test-'));

  beforeAll(async () => {
    node = await startTestNode({ HLS_MODE: 'off', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn' });
    const hls = loadConfig({ HLS_POSTER_INTERVAL_MS: '1000' }).hls;
    ladders = new LiveLadders(
      node.media,
      {
        settings: ladderSettings(hls),
        createSink: (id, tracks) => {
          const sink = new RecordingSink(tracks);
          sinks.set(id, sink);
          return sink;
        },
        endedGraceMs: 60_000,
      },
      node.log,
    );
  });

  afterAll(async () => {
    for (const p of publishers) await p.stop();
    await ladders?.close();
    await node?.close();
  });

  it('encodes a 360p source into 360p and 160p CMAF tracks plus AAC, with posters, and never upscales', async () => {
    const s = await createUserAndStream(node.url);
    publishers.push(await publish(node.url, s.id, s.streamKey, 'vp8'));
    await waitFor('the ladder to run', () => ladders.get(s.id)?.state === 'running', 40_000);
    const ladder = ladders.get(s.id)!;
    expect(ladder.source).toMatchObject({ width: 640, height: 360 });
    expect(ladder.ladder.map((r) => r.name)).toEqual(['360p', '160p']);
    const sink = sinks.get(s.id)!;
    expect(sink.tracks.map((t) => `${t.kind}:${t.name}`)).toEqual(['video:360p', 'video:160p', 'audio:audio']);
    await waitFor('4 s of media and a poster', () => sink.bytes(0).length > 100_000 && ladder.poster !== undefined, 30_000);
    await new Promise((r) => setTimeout(r, 3000));
    const heights: Record<string, number> = { '360p': 360, '160p': 160 };
    for (const [i, t] of sink.tracks.entries()) {
      const file = join(dir, `${t.name}.mp4`);
      writeFileSync(file, sink.bytes(i));
      const probe = ffprobeStreams(file);
      expect(probe.streams).toHaveLength(1);
      if (t.kind === 'video') expect(probe.streams[0]).toMatchObject({ codec_type: 'video', codec_name: 'h264', height: heights[t.name] });
      else expect(probe.streams[0]).toMatchObject({ codec_type: 'audio', codec_name: 'aac' });
      expect(Number(probe.format.duration)).toBeGreaterThan(2);
    }
    const jpeg = ladder.poster!.jpeg;
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const posterFile = join(dir, 'poster.jpg');
    writeFileSync(posterFile, jpeg);
    expect(ffprobeStreams(posterFile).streams[0]).toMatchObject({ codec_name: 'mjpeg', height: 360 });
    await publishers.pop()!.stop(); // its ladder would take the CPU the next test's ffmpeg needs
  }, 90_000);

  it('restarts a killed ffmpeg (telling the packager) and kills it when the stream ends', async () => {
    const s = await createUserAndStream(node.url);
    const pub = await publish(node.url, s.id, s.streamKey, 'h264');
    // Probing and starting ffmpeg takes a few seconds, many more on a machine busy with other suites.
    await waitFor('the ladder to run', () => ladders.get(s.id)?.state === 'running', 40_000);
    const ladder = ladders.get(s.id)!;
    const sink = sinks.get(s.id)!;
    const first = ladder.encoderPid!;
    process.kill(first, 'SIGKILL');
    await waitFor('a new ffmpeg', () => ladder.encoderPid !== undefined && ladder.encoderPid !== first, 10_000);
    expect(sink.restarts).toBe(1);
    const before = sink.bytes(0).length;
    await waitFor('media again after the restart', () => ladder.state === 'running' && sink.bytes(0).length > before + 20_000, 15_000);
    const second = ladder.encoderPid!;
    await pub.stop();
    await waitFor('the stream to end', () => sink.ended, 10_000);
    expect(ladder.encoderPid).toBeUndefined();
    expect(spawnSync('kill', ['-0', String(second)]).status).not.toBe(0);
  }, 90_000);
});
