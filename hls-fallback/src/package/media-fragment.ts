// Reads what the packager needs from a CMAF fragment's moof: its decode start (tfdt), its duration
// and whether it starts with a sync sample (an independent part, where a segment may begin). Only
// the first track fragment is read: every OnAir output carries one track. For re-cutting (audio parts
// cut where the video's are, see aligned-audio.ts) it also lists a fragment's samples with their bytes
// and writes a fragment (moof+mdat) from samples. Returns an error value on malformed input, never
// throws; never changes the samples' bytes or timing.
import { childBoxes, findBox, fullBoxFlags, fullBoxVersion, wholeBuffer } from './iso-boxes.js';

export interface FragmentInfo {
  /** baseMediaDecodeTime, in the track's timescale */
  startTicks: number;
  durationTicks: number;
  sampleCount: number;
  /** the first sample is a sync sample */
  independent: boolean;
  /** duration of the first sample, a fallback to learn the frame rate */
  firstSampleTicks: number;
}

export type FragmentResult = { ok: true; info: FragmentInfo } | { ok: false; error: string };

const NON_SYNC = 0x10000;

export function describeFragment(
  moof: Buffer,
  trexDefaults: { durationTicks: number; flags: number } = { durationTicks: 0, flags: 0 },
): FragmentResult {
  const traf = readTrackFragment(moof, trexDefaults);
  if (!traf.ok) return traf;
  const entries = traf.runs.flatMap((r) => r.entries);
  if (traf.startTicks === undefined) return { ok: false, error: 'traf without tfdt' };
  const durationTicks = entries.reduce((sum, e) => sum + e.durationTicks, 0);
  if (entries.length === 0 || durationTicks <= 0) return { ok: false, error: 'fragment has no samples or no duration' };
  const first = entries[0]!;
  return {
    ok: true,
    info: {
      startTicks: traf.startTicks,
      durationTicks,
      sampleCount: entries.length,
      independent: !(first.flags & NON_SYNC),
      firstSampleTicks: first.durationTicks,
    },
  };
}

/** One sample as a trun lists it (defaults from tfhd/trex filled in). */
interface TrunEntry {
  durationTicks: number;
  sizeBytes: number;
  flags: number;
  compositionOffset: number;
}

/** The first track fragment of a moof, read once for both the description and the samples. */
type TrackFragment =
  | {
      ok: true;
      trackId: number | undefined;
      /** tfhd carries an explicit base data offset (OnAir's outputs never do: offsets count from the moof) */
      explicitBase: boolean;
      startTicks: number | undefined;
      /** each trun: its data offset (relative to the moof) when given, and its samples */
      runs: { dataOffset: number | undefined; entries: TrunEntry[] }[];
    }
  | { ok: false; error: string };

function readTrackFragment(moof: Buffer, trex: { durationTicks: number; flags: number; sizeBytes?: number }): TrackFragment {
  const traf = findBox(moof, wholeBuffer(moof), ['moof', 'traf']);
  if (!traf) return { ok: false, error: 'moof without traf' };
  let trackId: number | undefined;
  let explicitBase = false;
  let defDuration = trex.durationTicks;
  let defSize = trex.sizeBytes ?? 0;
  let defFlags = trex.flags;
  let startTicks: number | undefined;
  const runs: { dataOffset: number | undefined; entries: TrunEntry[] }[] = [];
  for (const box of childBoxes(moof, traf.payload, traf.end)) {
    const flags = fullBoxFlags(moof, box);
    if (box.type === 'tfhd') {
      trackId = moof.readUInt32BE(box.payload + 4);
      let p = box.payload + 8;
      if (flags & 0x01) {
        explicitBase = true;
        p += 8;
      }
      if (flags & 0x02) p += 4;
      if (flags & 0x08) {
        defDuration = moof.readUInt32BE(p);
        p += 4;
      }
      if (flags & 0x10) {
        defSize = moof.readUInt32BE(p);
        p += 4;
      }
      if (flags & 0x20) defFlags = moof.readUInt32BE(p);
    } else if (box.type === 'tfdt') {
      startTicks = fullBoxVersion(moof, box) === 1 ? Number(moof.readBigUInt64BE(box.payload + 4)) : moof.readUInt32BE(box.payload + 4);
    } else if (box.type === 'trun') {
      const version = fullBoxVersion(moof, box);
      const n = moof.readUInt32BE(box.payload + 4);
      let p = box.payload + 8;
      let dataOffset: number | undefined;
      if (flags & 0x01) {
        dataOffset = moof.readInt32BE(p);
        p += 4;
      }
      let firstFlags: number | undefined;
      if (flags & 0x04) {
        firstFlags = moof.readUInt32BE(p);
        p += 4;
      }
      const stride = (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0) + (flags & 0x400 ? 4 : 0) + (flags & 0x800 ? 4 : 0);
      if (p + n * stride > box.end) return { ok: false, error: 'trun overruns its box' };
      const entries: TrunEntry[] = [];
      for (let i = 0; i < n; i++) {
        const e: TrunEntry = {
          durationTicks: defDuration,
          sizeBytes: defSize,
          flags: i === 0 && firstFlags !== undefined ? firstFlags : defFlags,
          compositionOffset: 0,
        };
        if (flags & 0x100) {
          e.durationTicks = moof.readUInt32BE(p);
          p += 4;
        }
        if (flags & 0x200) {
          e.sizeBytes = moof.readUInt32BE(p);
          p += 4;
        }
        if (flags & 0x400) {
          e.flags = moof.readUInt32BE(p);
          p += 4;
        }
        if (flags & 0x800) {
          e.compositionOffset = version === 1 ? moof.readInt32BE(p) : moof.readUInt32BE(p);
          p += 4;
        }
        entries.push(e);
      }
      runs.push({ dataOffset, entries });
    }
  }
  return { ok: true, trackId, explicitBase, startTicks, runs };
}

/** trex defaults of the init segment (used when a tfhd does not carry its own). */
export function trexDefaults(init: Buffer): { durationTicks: number; flags: number; sizeBytes: number } {
  const trex = findBox(init, wholeBuffer(init), ['moov', 'mvex', 'trex']);
  if (!trex || trex.end - trex.payload < 24) return { durationTicks: 0, flags: 0, sizeBytes: 0 };
  return {
    durationTicks: init.readUInt32BE(trex.payload + 12),
    sizeBytes: init.readUInt32BE(trex.payload + 16),
    flags: init.readUInt32BE(trex.payload + 20),
  };
}

export interface FragmentSample {
  durationTicks: number;
  /** sample_flags (ISO/IEC 14496-12 8.8.3.1) */
  flags: number;
  /** composition time offset, ticks */
  compositionOffset: number;
  /** the sample's bytes (a view into the fragment given) */
  data: Buffer;
}

export type SamplesResult = { ok: true; trackId: number; startTicks: number; samples: FragmentSample[] } | { ok: false; error: string };

/**
 * The samples of a fragment (the first track fragment of `moof`, its data in `mdat`, which follows
 * the moof directly), as an encoder wrote it: data offsets relative to the moof (ffmpeg's
 * default_base_moof, CMAF's rule).
 */
export function fragmentSamples(
  moof: Buffer,
  mdat: Buffer,
  trex: { durationTicks: number; flags: number; sizeBytes?: number } = { durationTicks: 0, flags: 0 },
): SamplesResult {
  const traf = readTrackFragment(moof, trex);
  if (!traf.ok) return traf;
  if (traf.explicitBase) return { ok: false, error: 'tfhd with an explicit base data offset' };
  const samples: FragmentSample[] = [];
  // data offsets count from the moof's first byte; the mdat's payload follows its 8-byte header
  const mdatPayload = moof.length + 8;
  const dataEnd = moof.length + mdat.length;
  let next: number | undefined;
  for (const run of traf.runs) {
    next = run.dataOffset ?? next;
    if (next === undefined) return { ok: false, error: 'trun without a data offset' };
    for (const e of run.entries) {
      if (next < mdatPayload || next + e.sizeBytes > dataEnd) return { ok: false, error: 'sample data outside the mdat' };
      const at = next - moof.length;
      samples.push({
        durationTicks: e.durationTicks,
        flags: e.flags,
        compositionOffset: e.compositionOffset,
        data: mdat.subarray(at, at + e.sizeBytes),
      });
      next += e.sizeBytes;
    }
  }
  if (traf.trackId === undefined) return { ok: false, error: 'traf without tfhd' };
  if (traf.startTicks === undefined) return { ok: false, error: 'traf without tfdt' };
  return { ok: true, trackId: traf.trackId, startTicks: traf.startTicks, samples };
}

/**
 * A fragment (moof+mdat) holding `samples` from `startTicks` on: tfhd with default-base-is-moof,
 * tfdt version 1, one trun with each sample's duration, size, flags (and composition offset when
 * any is not 0).
 */
export function writeFragment(o: { trackId: number; sequence: number; startTicks: number; samples: readonly FragmentSample[] }): Buffer {
  const withCto = o.samples.some((s) => s.compositionOffset !== 0);
  const perSample = withCto ? 16 : 12;
  const trunSize = 8 + 4 + 4 + 4 + o.samples.length * perSample;
  const tfhdSize = 16;
  const tfdtSize = 20;
  const trafSize = 8 + tfhdSize + tfdtSize + trunSize;
  const mfhdSize = 16;
  const moofSize = 8 + mfhdSize + trafSize;
  const dataBytes = o.samples.reduce((a, s) => a + s.data.length, 0);
  const out = Buffer.alloc(moofSize + 8 + dataBytes);
  let p = 0;
  const box = (size: number, type: string) => {
    out.writeUInt32BE(size, p);
    out.write(type, p + 4, 'latin1');
    p += 8;
  };
  const full = (version: number, flags: number) => {
    out.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), p);
    p += 4;
  };
  box(moofSize, 'moof');
  box(mfhdSize, 'mfhd');
  full(0, 0);
  out.writeUInt32BE(o.sequence >>> 0, p);
  p += 4;
  box(trafSize, 'traf');
  box(tfhdSize, 'tfhd');
  full(0, 0x020000); // default-base-is-moof
  out.writeUInt32BE(o.trackId, p);
  p += 4;
  box(tfdtSize, 'tfdt');
  full(1, 0);
  out.writeBigUInt64BE(BigInt(o.startTicks), p);
  p += 8;
  box(trunSize, 'trun');
  full(withCto ? 1 : 0, 0x01 | 0x100 | 0x200 | 0x400 | (withCto ? 0x800 : 0));
  out.writeUInt32BE(o.samples.length, p);
  out.writeInt32BE(moofSize + 8, p + 4); // the first sample's data: just past the mdat header
  p += 8;
  for (const s of o.samples) {
    out.writeUInt32BE(s.durationTicks, p);
    out.writeUInt32BE(s.data.length, p + 4);
    out.writeUInt32BE(s.flags >>> 0, p + 8);
    if (withCto) out.writeInt32BE(s.compositionOffset, p + 12);
    p += perSample;
  }
  box(8 + dataBytes, 'mdat');
  for (const s of o.samples) {
    s.data.copy(out, p);
    p += s.data.length;
  }
  return out;
}
