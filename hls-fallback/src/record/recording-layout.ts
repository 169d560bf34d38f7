// How a recorded broadcast is laid out in a RecordingStore, and how it is read back into an index
// the VOD renderers and the clip cutter use. The layout is its own index (no index file that a crash
// could leave stale): under `broadcasts/<id>/` there is `meta.json` (the tracks) and per track
// `init-<gen>.mp4` and one object per complete segment named
// `<msn>_<gen>_<offsetMs>_<startTicks>_<durationTicks>.m4s` — sequence number, encoder generation (a
// new one after an ffmpeg restart: a discontinuity with its own init), wall-clock offset from the
// broadcast's start, media start (tfdt) and duration in the init's timescale. Each object is put atomically, so listing the folder lists
// exactly the complete segments. Never writes (the recorder does) and never speaks HTTP.
import { z } from 'zod';
import type { RecordingStore } from '@onair/platform';
import { describeInit, type InitInfo } from '../package/init-segment.js';

export const RecordingMeta = z.object({
  version: z.literal(1),
  streamId: z.string(),
  segmentTargetMs: z.number().positive(),
  tracks: z
    .array(
      z.object({
        kind: z.enum(['video', 'audio']),
        name: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
        bandwidth: z.number().nonnegative(),
      }),
    )
    .min(1),
});
export type RecordingMeta = z.infer<typeof RecordingMeta>;

export interface SegmentNameParts {
  msn: number;
  gen: number;
  offsetMs: number;
  startTicks: number;
  durationTicks: number;
}

export const recordingKeys = {
  meta: (prefix: string) => `${prefix}/meta.json`,
  track: (prefix: string, track: string) => `${prefix}/${track}`,
  init: (prefix: string, track: string, gen: number) => `${prefix}/${track}/${initName(gen)}`,
  segment: (prefix: string, track: string, s: SegmentNameParts) => `${prefix}/${track}/${segmentName(s)}`,
};

export const initName = (gen: number) => `init-${gen}.mp4`;
export const segmentName = (s: SegmentNameParts) => `${s.msn}_${s.gen}_${Math.round(s.offsetMs)}_${s.startTicks}_${s.durationTicks}.m4s`;

const SEGMENT_NAME = /^(\d{1,9})_(\d{1,6})_(-?\d{1,12})_(\d{1,15})_(\d{1,12})\.m4s$/;
const INIT_NAME = /^init-(\d{1,6})\.mp4$/;

/** A recorded object's file name that players may ask for: an init or a segment, nothing else. */
export function isRecordedObjectName(name: string): boolean {
  return SEGMENT_NAME.test(name) || INIT_NAME.test(name);
}

export interface RecordedSegment {
  msn: number;
  gen: number;
  /** wall-clock offset of its start from the broadcast's start */
  offsetMs: number;
  durationSec: number;
  startTicks: number;
  durationTicks: number;
  /** where it starts on the recording's own timeline (the sum of the durations before it) */
  startSec: number;
  file: string;
}

export interface RecordedTrack {
  kind: 'video' | 'audio';
  name: string;
  bandwidth: number;
  inits: Map<number, InitInfo>;
  segments: RecordedSegment[];
  durationSec: number;
}

export interface RecordingIndex {
  meta: RecordingMeta;
  tracks: RecordedTrack[];
  /** the longest track's duration */
  durationSec: number;
}

/** Reads a broadcast's index from the store; undefined when it has no (readable) meta.json. */
export async function readRecordingIndex(store: RecordingStore, prefix: string): Promise<RecordingIndex | undefined> {
  const raw = await store.get(recordingKeys.meta(prefix));
  if (!raw) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  const meta = RecordingMeta.safeParse(json);
  if (!meta.success) return undefined;
  const tracks: RecordedTrack[] = [];
  for (const t of meta.data.tracks) {
    const names = await store.list(recordingKeys.track(prefix, t.name));
    const inits = new Map<number, InitInfo>();
    const found: (SegmentNameParts & { file: string })[] = [];
    for (const n of names) {
      const seg = SEGMENT_NAME.exec(n);
      if (seg) {
        found.push({
          msn: Number(seg[1]),
          gen: Number(seg[2]),
          offsetMs: Number(seg[3]),
          startTicks: Number(seg[4]),
          durationTicks: Number(seg[5]),
          file: n,
        });
        continue;
      }
      const init = INIT_NAME.exec(n);
      if (init) {
        const bytes = await store.get(`${recordingKeys.track(prefix, t.name)}/${n}`);
        const d = bytes && describeInit(bytes);
        if (d?.ok) inits.set(Number(init[1]), d.info);
      }
    }
    found.sort((a, b) => a.msn - b.msn);
    const segments: RecordedSegment[] = [];
    let at = 0;
    for (const f of found) {
      const info = inits.get(f.gen);
      if (!info) continue; // a segment whose init never made it to disk cannot be decoded
      const durationSec = f.durationTicks / info.timescale;
      segments.push({ ...f, durationSec, startSec: at });
      at += durationSec;
    }
    tracks.push({ ...t, inits, segments, durationSec: at });
  }
  return { meta: meta.data, tracks, durationSec: Math.max(0, ...tracks.map((t) => t.durationSec)) };
}
