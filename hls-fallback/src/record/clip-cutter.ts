// Cuts a clip out of a recorded broadcast into one MP4, without re-encoding: it picks the recorded
// segments of the top video rung whose middle falls inside the requested range (so the clip is whole
// segments, each starting on a key frame, and its length is within half a segment of the request),
// joins each track's init segment and segments into a fragmented MP4, and has ffmpeg copy (`-c copy`)
// video and audio into a progressive MP4 trimmed to the video's span (audio to the packet). Owns its
// temp files and its ffmpeg, both gone when cut() settles. Never touches the catalog or HTTP;
// failures are values with a code.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordingStore } from '@onair/platform';
import { readRecordingIndex, recordingKeys, type RecordedSegment, type RecordedTrack } from './recording-layout.js';

export type ClipRange = { startMs: number; durationMs: number } | { lastMs: number };

export type CutResult =
  | { ok: true; mp4: Buffer; startMs: number; durationMs: number }
  | { ok: false; code: 'broadcast_has_no_media' | 'range_outside_recording' | 'clip_failed'; message: string };

export interface ClipCutterOptions {
  ffmpegPath: string;
  /** ffmpeg gets this long per clip before it is killed */
  timeoutMs?: number;
}

export class ClipCutter {
  constructor(
    private readonly store: RecordingStore,
    private readonly opts: ClipCutterOptions,
  ) {}

  async cut(prefix: string, range: ClipRange): Promise<CutResult> {
    const index = await readRecordingIndex(this.store, prefix);
    const video = index?.tracks.find((t) => t.kind === 'video' && t.segments.length > 0);
    if (!index || !video) return { ok: false, code: 'broadcast_has_no_media', message: 'nothing of this broadcast was recorded' };
    const totalMs = video.durationSec * 1000;
    const startMs = 'lastMs' in range ? Math.max(0, totalMs - range.lastMs) : range.startMs;
    const durationMs = 'lastMs' in range ? Math.min(range.lastMs, totalMs) : range.durationMs;
    // Half a segment of slack at the end: the range is rounded to whole segments anyway.
    const slackMs = (index.meta.segmentTargetMs ?? 1000) / 2;
    if (startMs < 0 || startMs + durationMs > totalMs + slackMs) {
      return {
        ok: false,
        code: 'range_outside_recording',
        message: `the recording is ${Math.floor(totalMs)} ms long; ${startMs}..${startMs + durationMs} ms is outside it`,
      };
    }
    const picked = pick(video.segments, startMs / 1000, (startMs + durationMs) / 1000);
    if (!picked.length) return { ok: false, code: 'range_outside_recording', message: 'no recorded segment falls in that range' };
    // One encoder generation per clip: across an ffmpeg restart the media timeline starts over.
    const gen = picked[0]!.gen;
    const vSegs = picked.filter((s) => s.gen === gen);
    const from = vSegs[0]!.startSec;
    const to = vSegs[vSegs.length - 1]!.startSec + vSegs[vSegs.length - 1]!.durationSec;
    const audio = index.tracks.find((t) => t.kind === 'audio');
    const aSegs = audio ? audio.segments.filter((s) => s.gen === gen && s.startSec + s.durationSec > from && s.startSec < to) : [];

    const dir = await mkdtemp(join(tmpdir(), 'onair-clip-'));
    try {
      const vFile = join(dir, 'video.mp4');
      const inputs = ['-i', vFile];
      try {
        await writeFile(vFile, await this.join(prefix, video, gen, vSegs));
        if (audio && aSegs.length) {
          const aFile = join(dir, 'audio.mp4');
          await writeFile(aFile, await this.join(prefix, audio, gen, aSegs));
          inputs.push('-i', aFile);
        }
      } catch (err) {
        return { ok: false, code: 'broadcast_has_no_media', message: (err as Error).message };
      }
      // The video's own media times (tfdt) bound the cut, so audio is trimmed to the same span.
      const vInfo = video.inits.get(gen)!;
      const fromTs = vSegs[0]!.startTicks / vInfo.timescale;
      const toTs = fromTs + (to - from);
      const out = join(dir, 'clip.mp4');
      const args = [
        '-hide_banner',
        '-loglevel',
        'error',
        '-copyts',
        ...inputs,
        '-map',
        '0:v:0',
        ...(inputs.length > 2 ? ['-map', '1:a:0'] : []),
        '-c',
        'copy',
        '-ss',
        fromTs.toFixed(3),
        '-to',
        toTs.toFixed(3),
        '-avoid_negative_ts',
        'make_zero',
        '-movflags',
        '+faststart',
        '-y',
        out,
      ];
      const failed = await new Promise<string | undefined>((resolve) => {
        execFile(this.opts.ffmpegPath, args, { timeout: this.opts.timeoutMs ?? 30_000 }, (err, _stdout, stderr) =>
          resolve(err ? `${err.message.split('\n')[0]} ${String(stderr).slice(-300)}` : undefined),
        );
      });
      if (failed) return { ok: false, code: 'clip_failed', message: `ffmpeg could not write the clip: ${failed}` };
      return { ok: true, mp4: await readFile(out), startMs: Math.round(from * 1000), durationMs: Math.round((to - from) * 1000) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async join(prefix: string, track: RecordedTrack, gen: number, segs: RecordedSegment[]): Promise<Buffer> {
    const parts: Buffer[] = [];
    const init = await this.store.get(recordingKeys.init(prefix, track.name, gen));
    if (!init) throw new Error(`init segment of ${track.name} generation ${gen} is missing`);
    parts.push(init);
    for (const s of segs) {
      const b = await this.store.get(`${recordingKeys.track(prefix, track.name)}/${s.file}`);
      if (!b) throw new Error(`segment ${s.file} of ${track.name} is missing (deleted meanwhile?)`);
      parts.push(b);
    }
    return Buffer.concat(parts);
  }
}

/** The segments whose middle lies in [fromSec, toSec): the clip in whole segments, within half a segment per end. */
function pick(segments: RecordedSegment[], fromSec: number, toSec: number): RecordedSegment[] {
  return segments.filter((s) => {
    const mid = s.startSec + s.durationSec / 2;
    return mid >= fromSec && mid < toSec;
  });
}
