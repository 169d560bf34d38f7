// Reads the frame rate out of an H.264 sequence parameter set (its VUI timing info), for the
// FRAME-RATE of the HLS multivariant playlist and the frameRate of the MPD. It parses only as far as
// the timing fields and never throws: a truncated or unusual SPS gives `undefined`.

class BitReader {
  private bit = 0;
  constructor(private readonly bytes: Uint8Array) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.bit >> 3];
      if (byte === undefined) throw new RangeError('sps truncated');
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) if (++zeros > 31) throw new RangeError('bad exp-golomb');
    return 2 ** zeros - 1 + this.u(zeros);
  }
  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -k / 2;
  }
}

/** Removes emulation-prevention bytes (00 00 03 -> 00 00). */
function unescapeRbsp(nal: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]!);
  }
  return Uint8Array.from(out);
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Frames per second from the SPS VUI (time_scale / 2 / num_units_in_tick), if the SPS carries it. */
export function spsFrameRate(spsNal: Uint8Array): number | undefined {
  try {
    const r = new BitReader(unescapeRbsp(spsNal.subarray(1)));
    const profile = r.u(8);
    r.u(16); // constraint flags, level
    r.ue(); // seq_parameter_set_id
    if (HIGH_PROFILES.has(profile)) {
      const chroma = r.ue();
      if (chroma === 3) r.u(1);
      r.ue();
      r.ue();
      r.u(1);
      if (r.u(1)) {
        for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) {
          if (!r.u(1)) continue;
          let last = 8;
          let next = 8;
          for (let j = 0; j < (i < 6 ? 16 : 64); j++) {
            if (next !== 0) next = (last + r.se() + 256) % 256;
            last = next === 0 ? last : next;
          }
        }
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.u(1);
      r.se();
      r.se();
      const n = r.ue();
      for (let i = 0; i < n; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.u(1);
    r.ue(); // width in mbs
    r.ue(); // height in map units
    if (!r.u(1)) r.u(1); // frame_mbs_only, mb_adaptive
    r.u(1);
    if (r.u(1)) for (let i = 0; i < 4; i++) r.ue(); // cropping
    if (!r.u(1)) return undefined; // no VUI
    if (r.u(1) && r.u(8) === 255) r.u(32);
    if (r.u(1)) r.u(1);
    if (r.u(1)) {
      r.u(4);
      if (r.u(1)) r.u(24);
    }
    if (r.u(1)) {
      r.ue();
      r.ue();
    }
    if (!r.u(1)) return undefined; // no timing info
    const unitsInTick = r.u(32);
    const timeScale = r.u(32);
    if (!unitsInTick || !timeScale) return undefined;
    return timeScale / (2 * unitsInTick);
  } catch {
    return undefined;
  }
}
