// One track's recent media, as the playlists and manifests see it: segments numbered by media
// sequence number, each made of parts (one CMAF fragment each), within a sliding window. It decides
// where segments begin and end (after the whole number of parts closest to the target; video also
// at an independent part once the current segment is long enough; audio cut to follow the video
// says so with each part, see aligned-audio.ts) and keeps the discontinuity count right as the
// window slides. It holds bytes only for the window; it never waits, times or does I/O.

export interface MediaPart {
  msn: number;
  index: number;
  bytes: Buffer;
  startTicks: number;
  durationTicks: number;
  independent: boolean;
  arrivedAtMs: number;
}

export interface MediaSegment {
  msn: number;
  /** encoder generation (0, then +1 per restart): selects the init segment and the DASH period */
  gen: number;
  parts: MediaPart[];
  complete: boolean;
  startTicks: number;
  durationTicks: number;
  /** first segment after an encoder restart */
  discontinuity: boolean;
  /** wall-clock start, stamped by the packager (EXT-X-PROGRAM-DATE-TIME); re-stamped while its clock tightens */
  programDateMs: number;
  /** bytes of a complete segment, built on first request */
  joined?: Buffer;
}

export interface IncomingPart {
  bytes: Buffer;
  startTicks: number;
  durationTicks: number;
  independent: boolean;
  arrivedAtMs: number;
  /**
   * Whether this part begins or ends a segment, when the caller decided it (audio cut to follow
   * the video); `nominalStartTicks`: where the segment it begins should start (the video's start,
   * for the DASH template), not more than half a frame from its real start.
   */
  segment?: { starts: boolean; ends: boolean; nominalStartTicks: number };
}

export class TrackTimeline {
  readonly segments: MediaSegment[] = [];
  private nextMsn = 0;
  /** EXT-X-DISCONTINUITY-SEQUENCE: discontinuities that have slid out of the window */
  discontinuitySequence = 0;
  private pendingDiscontinuity = false;
  /** longest part and segment seen, in seconds (PART-TARGET and TARGETDURATION must cover them) */
  maxPartSec = 0;
  maxSegmentSec = 0;
  /**
   * First segment of each encoder generation, kept after it slides out (DASH $Number$ origin):
   * its number and its nominal start (see IncomingPart.segment; else its real start).
   */
  private readonly genStarts = new Map<number, { msn: number; startTicks: number }>();

  constructor(
    readonly kind: 'video' | 'audio',
    readonly timescale: () => number,
    private readonly segmentTargetSec: number,
    private readonly windowSegments: number,
  ) {}

  get first(): MediaSegment | undefined {
    return this.segments[0];
  }

  get last(): MediaSegment | undefined {
    return this.segments[this.segments.length - 1];
  }

  find(msn: number): MediaSegment | undefined {
    const first = this.segments[0];
    if (!first) return undefined;
    const s = this.segments[msn - first.msn];
    return s && s.msn === msn ? s : undefined;
  }

  /**
   * Adds a part; returns it, or undefined when it was dropped (video that does not start with an
   * independent part cannot begin a segment). `programDateOf` maps media ticks to wall-clock ms.
   */
  append(gen: number, incoming: IncomingPart, programDateOf: (ticks: number) => number): MediaPart | undefined {
    const { segment: decided, ...p } = incoming;
    const ts = this.timescale();
    let cur = this.last && !this.last.complete ? this.last : undefined;
    if (cur && cur.gen !== gen) {
      this.complete(cur);
      cur = undefined;
    }
    const partSec = p.durationTicks / ts;
    const startsHere = decided
      ? decided.starts
      : this.kind === 'video' && p.independent && !!cur && cur.durationTicks / ts >= this.segmentTargetSec / 2;
    if (cur && startsHere) {
      this.complete(cur);
      cur = undefined;
    }
    if (!cur) {
      if (this.kind === 'video' && !p.independent) return undefined;
      cur = {
        msn: this.nextMsn++,
        gen,
        parts: [],
        complete: false,
        startTicks: p.startTicks,
        durationTicks: 0,
        discontinuity: this.pendingDiscontinuity,
        programDateMs: programDateOf(p.startTicks),
      };
      this.pendingDiscontinuity = false;
      if (!this.genStarts.has(gen))
        this.genStarts.set(gen, { msn: cur.msn, startTicks: decided?.starts ? decided.nominalStartTicks : cur.startTicks });
      this.segments.push(cur);
      this.slide();
    }
    const part: MediaPart = { msn: cur.msn, index: cur.parts.length, ...p };
    cur.parts.push(part);
    cur.durationTicks += p.durationTicks;
    this.maxPartSec = Math.max(this.maxPartSec, partSec);
    // Close the segment as soon as another part would take it further from the target than
    // stopping here does: every audio part is independent, and the encoder forces a video key frame
    // at every target duration. So the playlist closes a segment with its last part, and the
    // preload hint then names the next segment's part 0 (players such as Shaka take a hint for a
    // part of the last listed segment, and one past its end never exists). Audio that follows the
    // video is told where its segments end.
    if (decided ? decided.ends : cur.durationTicks / ts >= this.segmentTargetSec - partSec / 2) this.complete(cur);
    return part;
  }

  /** Ends the segment in progress (encoder restart or stream end); the next one is a discontinuity. */
  cut(discontinuity: boolean): void {
    const cur = this.last;
    if (cur && !cur.complete) this.complete(cur);
    if (discontinuity && this.segments.length) this.pendingDiscontinuity = true;
  }

  /** The next part a player would ask for (PRELOAD-HINT): msn and part index. */
  nextPart(): { msn: number; index: number } {
    const cur = this.last;
    if (!cur) return { msn: this.nextMsn, index: 0 };
    return cur.complete ? { msn: cur.msn + 1, index: 0 } : { msn: cur.msn, index: cur.parts.length };
  }

  /**
   * Drops leading complete segments that end (wall clock) at or before `programDateMs`, keeping at
   * least one: the packager slides all tracks' windows together, so that every playlist begins at
   * the same instant (players such as Shaka date the presentation from one stream's first segment).
   */
  dropEndingBy(programDateMs: number): void {
    for (;;) {
      const s = this.segments[0];
      if (!s || this.segments.length < 2 || !s.complete) return;
      if (s.programDateMs + (s.durationTicks / this.timescale()) * 1000 > programDateMs) return;
      this.segments.shift();
      if (s.discontinuity) this.discontinuitySequence++;
    }
  }

  /** Stamps the segments of generation `gen` again, after the packager tightened its clock. */
  restamp(gen: number, programDateOf: (ticks: number) => number): void {
    for (const s of this.segments) if (s.gen === gen) s.programDateMs = programDateOf(s.startTicks);
  }

  generationStart(gen: number): { msn: number; startTicks: number } | undefined {
    return this.genStarts.get(gen);
  }

  forgetGenerationsBefore(gen: number): void {
    for (const g of this.genStarts.keys()) if (g < gen) this.genStarts.delete(g);
  }

  segmentBytes(s: MediaSegment): Buffer {
    if (!s.complete) return Buffer.concat(s.parts.map((p) => p.bytes));
    s.joined ??= Buffer.concat(s.parts.map((p) => p.bytes));
    return s.joined;
  }

  clear(): void {
    this.segments.length = 0;
    this.genStarts.clear();
  }

  private complete(s: MediaSegment): void {
    s.complete = true;
    this.maxSegmentSec = Math.max(this.maxSegmentSec, s.durationTicks / this.timescale());
  }

  private slide(): void {
    while (this.segments.length > this.windowSegments + 1) {
      // RFC 8216 6.2.2: removing an EXT-X-DISCONTINUITY tag increments the sequence
      if (this.segments.shift()?.discontinuity) this.discontinuitySequence++;
    }
  }
}
