// Reads what the packager needs from a CMAF fragment's moof: its decode start (tfdt), its duration
// and whether it starts with a sync sample (an independent part, where a segment may begin). Only
// the first track fragment is read: every OnAir output carries one track. Returns an error value on
// malformed input, never throws.
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
  const traf = findBox(moof, wholeBuffer(moof), ['moof', 'traf']);
  if (!traf) return { ok: false, error: 'moof without traf' };
  let defDuration = trexDefaults.durationTicks;
  let defFlags = trexDefaults.flags;
  let startTicks: number | undefined;
  let durationTicks = 0;
  let sampleCount = 0;
  let independent: boolean | undefined;
  let firstSampleTicks = 0;
  for (const box of childBoxes(moof, traf.payload, traf.end)) {
    const flags = fullBoxFlags(moof, box);
    if (box.type === 'tfhd') {
      let p = box.payload + 8;
      if (flags & 0x01) p += 8;
      if (flags & 0x02) p += 4;
      if (flags & 0x08) {
        defDuration = moof.readUInt32BE(p);
        p += 4;
      }
      if (flags & 0x10) p += 4;
      if (flags & 0x20) defFlags = moof.readUInt32BE(p);
    } else if (box.type === 'tfdt') {
      startTicks = fullBoxVersion(moof, box) === 1 ? Number(moof.readBigUInt64BE(box.payload + 4)) : moof.readUInt32BE(box.payload + 4);
    } else if (box.type === 'trun') {
      const n = moof.readUInt32BE(box.payload + 4);
      let p = box.payload + 8;
      if (flags & 0x01) p += 4;
      let firstFlags: number | undefined;
      if (flags & 0x04) {
        firstFlags = moof.readUInt32BE(p);
        p += 4;
      }
      const stride = (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0) + (flags & 0x400 ? 4 : 0) + (flags & 0x800 ? 4 : 0);
      if (p + n * stride > box.end) return { ok: false, error: 'trun overruns its box' };
      for (let i = 0; i < n; i++) {
        let d = defDuration;
        let f = i === 0 && firstFlags !== undefined ? firstFlags : defFlags;
        if (flags & 0x100) {
          d = moof.readUInt32BE(p);
          p += 4;
        }
        if (flags & 0x200) p += 4;
        if (flags & 0x400) {
          f = moof.readUInt32BE(p);
          p += 4;
        }
        if (flags & 0x800) p += 4;
        if (sampleCount === 0 && i === 0) {
          independent = !(f & NON_SYNC);
          firstSampleTicks = d;
        }
        durationTicks += d;
      }
      sampleCount += n;
    }
  }
  if (startTicks === undefined) return { ok: false, error: 'traf without tfdt' };
  if (sampleCount === 0 || durationTicks <= 0) return { ok: false, error: 'fragment has no samples or no duration' };
  return { ok: true, info: { startTicks, durationTicks, sampleCount, independent: independent ?? false, firstSampleTicks } };
}

/** trex defaults of the init segment (used when a tfhd does not carry its own). */
export function trexDefaults(init: Buffer): { durationTicks: number; flags: number } {
  const trex = findBox(init, wholeBuffer(init), ['moov', 'mvex', 'trex']);
  if (!trex || trex.end - trex.payload < 24) return { durationTicks: 0, flags: 0 };
  return { durationTicks: init.readUInt32BE(trex.payload + 12), flags: init.readUInt32BE(trex.payload + 20) };
}
