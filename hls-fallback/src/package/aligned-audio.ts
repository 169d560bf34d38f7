// Cuts one audio track's parts and segments where the video's are: each audio part ends at the
// audio frame boundary nearest the end of the video part it goes with (an AAC frame is 1024 samples,
// 21.3 ms at 48 kHz), so audio segment N starts within half a frame of video segment N and the audio
// and video playlists list the same instants (durations then vary, e.g. 0.981 or 1.003 s a
// segment, as with Apple's segmenter). Without this the encoder's own audio fragments (whole
// frames past its -frag_duration: 10 frames, 213 ms) made 1.0667 s audio segments that drifted
// from the video's; players that date a presentation by one stream's first segment (Shaka's
// HLS parser) then got the live latency wrong (up to 2 s low).
// It holds the audio samples not yet cut (at most HOLD_LIMIT_SEGMENTS targets' worth) and writes
// the parts (moof+mdat) from them; the samples' bytes and timing are never changed, only where
// fragments begin and end. Pure: the packager gives it the video's boundaries and stamps what it returns.
import type { FragmentSample } from './media-fragment.js';
import { writeFragment } from './media-fragment.js';

/** Where a video part begins and ends, in seconds of media time, and whether it begins or ends its segment. */
export interface VideoPartBounds {
  startSec: number;
  endSec: number;
  startsSegment: boolean;
  /** the last part of a segment that is complete */
  endsSegment: boolean;
}

export interface AlignedAudioPart {
  bytes: Buffer;
  startTicks: number;
  durationTicks: number;
  /** set while following the video; undefined when cut on its own (no video to follow) */
  segment?: { starts: boolean; ends: boolean; nominalStartTicks: number };
}

interface HeldSample extends FragmentSample {
  startTicks: number;
}

/**
 * Audio held while no video boundary is known for it (the video of this generation has not come
 * yet, lags or has stopped) is capped at this many segment targets; past it what is held is cut on
 * its own (parts of about the part target, segments closed by the timeline's own rule), and
 * following the video resumes at its next boundary.
 */
const HOLD_LIMIT_SEGMENTS = 3;

export class AlignedAudioCutter {
  private held: HeldSample[] = [];
  private trackId = 1;
  /** nothing cut yet in this generation: audio before the video's first segment is dropped */
  private fresh = true;

  constructor(
    private readonly partTargetSec: number,
    private readonly segmentTargetSec: number,
  ) {}

  /** Adds an encoder fragment's samples (decode time `startTicks`). */
  push(trackId: number, startTicks: number, samples: readonly FragmentSample[]): void {
    this.trackId = trackId;
    let at = startTicks;
    for (const s of samples) {
      this.held.push({ ...s, startTicks: at });
      at += s.durationTicks;
    }
  }

  /** A new encoder generation: what is held belongs to the old one and is dropped. */
  reset(): void {
    this.held = [];
    this.fresh = true;
  }

  get heldSamples(): number {
    return this.held.length;
  }

  /**
   * The parts that can be cut now. `video`: the boundaries of the reference video track's parts in
   * this generation, oldest first, and where its first segment starts; undefined while there is
   * none yet, 'gone' when the ladder's video tracks are all unusable (then the audio is cut on its
   * own at once). `flush`: the stream ended; what remains after the last video boundary is one
   * last part.
   */
  cut(
    timescale: number,
    video: { firstStartSec: number; parts: readonly VideoPartBounds[] } | 'gone' | undefined,
    flush = false,
  ): AlignedAudioPart[] {
    const overLimit = () => this.heldSec(timescale) > HOLD_LIMIT_SEGMENTS * this.segmentTargetSec;
    if (video === 'gone' || !video?.parts.length) return video === 'gone' || flush || overLimit() ? this.cutAlone(timescale, flush) : [];
    const out: AlignedAudioPart[] = [];
    // The presentation starts with the video: audio before it would make the audio playlist begin
    // earlier than the video's. Keep from the sample whose start is nearest the video's. Audio
    // older than the video's window is dropped the same way: its segments would be out of the
    // window anyway.
    const from = (this.fresh ? Math.max(video.firstStartSec, video.parts[0]!.startSec) : video.parts[0]!.startSec) * timescale;
    while (this.held.length && this.held[0]!.startTicks + this.held[0]!.durationTicks / 2 <= from) this.held.shift();
    let k = 0;
    while (this.held.length) {
      const first = this.held[0]!;
      // the next video part that ends at least half a frame after the audio cut so far
      while (k < video.parts.length && video.parts[k]!.endSec * timescale <= first.startTicks + first.durationTicks / 2) k++;
      const v = video.parts[k];
      // the sample boundary nearest the video part's end (the first one no more than half a sample before it)
      let n = 0;
      let reached = false;
      if (v) {
        const end = v.endSec * timescale;
        while (n < this.held.length && !reached) {
          const s = this.held[n++]!;
          reached = s.startTicks + s.durationTicks >= end - s.durationTicks / 2;
        }
      }
      if (!v || !reached) {
        // the audio is ahead of the video: wait for it, unless it has stopped (or the stream ended)
        if (flush) out.push(this.take(this.held.length, undefined));
        else if (overLimit()) out.push(...this.cutAlone(timescale, false));
        return out;
      }
      const vStart = v.startSec * timescale;
      const starts = v.startsSegment && Math.abs(first.startTicks - vStart) <= first.durationTicks / 2;
      out.push(this.take(n, { starts, ends: v.endsSegment, nominalStartTicks: Math.round(vStart) }));
      k++;
    }
    return out;
  }

  private heldSec(timescale: number): number {
    const a = this.held[0];
    const b = this.held[this.held.length - 1];
    return a && b ? (b.startTicks + b.durationTicks - a.startTicks) / timescale : 0;
  }

  /** Parts of about the part target each, as the encoder's own fragments were. */
  private cutAlone(timescale: number, flush: boolean): AlignedAudioPart[] {
    const out: AlignedAudioPart[] = [];
    const target = this.partTargetSec * timescale;
    for (;;) {
      const first = this.held[0];
      if (!first) return out;
      let n = 0;
      let reached = false;
      while (n < this.held.length) {
        const s = this.held[n]!;
        n++;
        if (s.startTicks + s.durationTicks - first.startTicks >= target - s.durationTicks / 2) {
          reached = true;
          break;
        }
      }
      if (!reached && !flush) return out;
      out.push(this.take(n, undefined));
    }
  }

  private take(n: number, segment: AlignedAudioPart['segment']): AlignedAudioPart {
    const samples = this.held.splice(0, n);
    const startTicks = samples[0]!.startTicks;
    this.fresh = false;
    // mfhd's sequence number only has to grow: the index of the part's first frame does, and is
    // the same however the encoder's bytes were chunked or interleaved with the video's
    const sequence = 1 + Math.floor(startTicks / Math.max(1, samples[0]!.durationTicks));
    return {
      bytes: writeFragment({ trackId: this.trackId, sequence, startTicks, samples }),
      startTicks,
      durationTicks: samples.reduce((a, s) => a + s.durationTicks, 0),
      ...(segment ? { segment } : {}),
    };
  }
}
