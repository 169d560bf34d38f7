// The in-memory packager of one live stream: it takes each ladder track's fMP4/CMAF bytes from the
// encoder (one output per video rendition, one for audio), splits them into init segments and parts,
// groups parts into numbered segments over a sliding window and stamps wall-clock time on them
// (the ingest clock, see GenerationAnchor). With video in the ladder, the audio track's parts are
// re-cut at the audio frames nearest the video's part boundaries (AlignedAudioCutter), and all
// tracks' windows slide together, so every playlist lists the same instants. Playlists, manifests
// and HTTP live in ../deliver; this module never renders text or touches a socket. It owns its
// memory and its waiters: close() releases both, exactly once.
import { randomBytes } from 'node:crypto';
import type { Logger } from '@onair/platform';
import { BoxStream } from './box-stream.js';
import { ChangeFeed, type WaitOutcome } from './change-feed.js';
import { describeInit, type InitInfo } from './init-segment.js';
import { AlignedAudioCutter, type VideoPartBounds } from './aligned-audio.js';
import { describeFragment, fragmentSamples, trexDefaults } from './media-fragment.js';
import { TrackTimeline, type MediaPart } from './track-timeline.js';

export interface PackagerTrack {
  kind: 'video' | 'audio';
  /** e.g. '720p', '480p', 'audio'; used in URLs, so letters, digits, '_' and '-' only */
  name: string;
  /** bits/s advertised in playlists and the MPD */
  bandwidth: number;
}

export interface PackagerOptions {
  /** LL-HLS part target (ffmpeg -frag_duration), e.g. 200 */
  partTargetMs: number;
  /** segment target (the GOP length), e.g. 1000 */
  segmentTargetMs: number;
  /** complete segments kept per track, e.g. 8 */
  windowSegments: number;
  /** wall clock for PROGRAM-DATE-TIME and availabilityStartTime; Date.now by default */
  now?: () => number;
  log?: Logger;
}

export type PackagerState = 'live' | 'ended' | 'closed';

export interface TrackInit {
  gen: number;
  bytes: Buffer;
  info: InitInfo;
  createdAtMs: number;
}

/**
 * Where one encoder generation sits on the wall clock: media time `mediaSec` was ingested at
 * `wallMs`. A part cannot leave the encoder before the frame that ends it was ingested (for video,
 * the frame after that one: see onFragment), so every part bounds the anchor from above:
 * `wallMs <= arrival - (part end - mediaSec)`. The anchor is the tightest bound seen so far (the
 * smallest) of the video parts (of the audio parts until the first video part, or in an audio-only
 * stream: the audio encoder's priming and frame size make its bound looser), and never earlier than
 * `floorMs`, where the previous generation's media ends (an encoder that ran ahead must not make
 * the wall clock go back). The first part alone is a poor bound: ffmpeg buffers its input while it
 * probes, then works through that backlog faster than real time, so its first parts leave it late
 * (0.7 s here); the bound tightens, usually within a second, to within the encoder's per-frame work
 * once the backlog is gone, and is then fixed (ANCHOR_SETTLE_MS).
 */
export interface GenerationAnchor {
  gen: number;
  wallMs: number;
  mediaSec: number;
  floorMs: number;
  /** tightest bound from video parts, and from audio parts (ms; Infinity before the first) */
  videoBoundMs: number;
  audioBoundMs: number;
  /** since when (wall clock) the anchor has moved by ANCHOR_BACKLOG_STEP_MS at most, and from where */
  settling: { atMs: number; wallMs: number };
  /** no longer moves (see ANCHOR_SETTLE_MS) */
  settled: boolean;
}

/**
 * While ffmpeg works through its backlog, every part tightens the bound by about its own duration
 * less ffmpeg's time on it; once ffmpeg keeps pace, parts only move it by jitter, a few ms. Moving
 * by more than this (in any number of steps) is backlog.
 */
const ANCHOR_BACKLOG_STEP_MS = 40;
/**
 * The anchor settles (stops moving) once it has moved no more than ANCHOR_BACKLOG_STEP_MS for this
 * long: the backlog is gone, however long a loaded machine took to clear it, and from then on
 * players that sync segments by PROGRAM-DATE-TIME (Shaka) do not see a listed segment's time move; a
 * part that merely comes out faster than all before moves nothing. Only a part that arrives before
 * the time its own timestamps say it ended (impossible with a true anchor) unsettles it.
 */
const ANCHOR_SETTLE_MS = 2000;

export interface PackagedTrack {
  readonly index: number;
  readonly spec: PackagerTrack;
  readonly timeline: TrackTimeline;
  readonly inits: ReadonlyMap<number, TrackInit>;
  /** the most recent init segment (what playlists advertise) */
  readonly latestInit: TrackInit | undefined;
  /** frame rate from the SPS, else from the first sample duration */
  readonly frameRate: number | undefined;
}

const TRACK_NAME = /^[A-Za-z0-9_-]{1,32}$/;

class TrackState implements PackagedTrack {
  readonly boxes = new BoxStream();
  readonly inits = new Map<number, TrackInit>();
  readonly timeline: TrackTimeline;
  latestInit: TrackInit | undefined;
  frameRate: number | undefined;
  awaitingInit = true;
  /** bytes of an init in progress (ftyp seen, moov not yet) */
  ftyp: Buffer | undefined;
  moof: Buffer | undefined;
  trex = { durationTicks: 0, flags: 0, sizeBytes: 0 };
  /** a broken stream is ignored until the encoder restarts */
  broken = false;
  /** audio in a ladder with video: re-cut to follow the video's parts */
  readonly audioCutter: AlignedAudioCutter | undefined;

  constructor(
    readonly index: number,
    readonly spec: PackagerTrack,
    opts: PackagerOptions,
    withVideo: boolean,
  ) {
    this.audioCutter =
      spec.kind === 'audio' && withVideo ? new AlignedAudioCutter(opts.partTargetMs / 1000, opts.segmentTargetMs / 1000) : undefined;
    this.timeline = new TrackTimeline(
      spec.kind,
      () => this.latestInit?.info.timescale ?? 1,
      opts.segmentTargetMs / 1000,
      opts.windowSegments,
    );
  }
}

export class CmafPackager {
  /** distinguishes this packager's object URLs from an earlier session of the same stream id */
  readonly session: string;
  readonly partTargetSec: number;
  readonly segmentTargetSec: number;
  readonly windowSegments: number;
  readonly now: () => number;
  readonly tracks: readonly PackagedTrack[];
  private readonly states: TrackState[];
  private readonly feed = new ChangeFeed();
  private readonly anchors = new Map<number, GenerationAnchor>();
  private readonly log: Logger | undefined;
  private gen = 0;
  private originMs: number | undefined;
  /** the generation whose anchor is the DASH origin: the first one that produced media */
  private originGen: number | undefined;
  private endedMs: number | undefined;
  private _state: PackagerState = 'live';
  /** bumps on every change a playlist could show; renderers cache by it */
  version = 0;
  lastChangeMs: number;

  constructor(
    readonly streamId: string,
    trackSpecs: PackagerTrack[],
    opts: PackagerOptions,
  ) {
    if (!trackSpecs.length) throw new Error('a packager needs at least one track');
    const names = new Set<string>();
    for (const t of trackSpecs) {
      if (!TRACK_NAME.test(t.name) || names.has(t.name)) throw new Error(`bad or duplicate track name ${JSON.stringify(t.name)}`);
      names.add(t.name);
    }
    if (!(opts.partTargetMs > 0 && opts.segmentTargetMs >= opts.partTargetMs && opts.windowSegments >= 1)) {
      throw new Error('packager options need 0 < partTargetMs <= segmentTargetMs and windowSegments >= 1');
    }
    this.now = opts.now ?? Date.now;
    this.partTargetSec = opts.partTargetMs / 1000;
    this.segmentTargetSec = opts.segmentTargetMs / 1000;
    this.windowSegments = opts.windowSegments;
    this.log = opts.log?.child({ streamId });
    this.lastChangeMs = this.now();
    this.session = this.lastChangeMs.toString(36) + randomBytes(2).toString('hex');
    const withVideo = trackSpecs.some((t) => t.kind === 'video');
    this.states = trackSpecs.map((t, i) => new TrackState(i, { ...t }, opts, withVideo));
    this.tracks = this.states;
  }

  get state(): PackagerState {
    return this._state;
  }

  get generation(): number {
    return this.gen;
  }

  /** Anchors of the generations still referenced by some segment in the window, oldest first. */
  generations(): GenerationAnchor[] {
    return [...this.anchors.values()].sort((a, b) => a.gen - b.gen);
  }

  /**
   * Wall clock of the first generation's media time `mediaSec` (DASH availabilityStartTime). It
   * only moves, earlier, while the first generation's anchor tightens (see GenerationAnchor).
   */
  get timelineOriginMs(): number | undefined {
    return this.originMs;
  }

  get endedAtMs(): number | undefined {
    return this.endedMs;
  }

  anchor(gen: number): GenerationAnchor | undefined {
    return this.anchors.get(gen);
  }

  trackByName(name: string): PackagedTrack | undefined {
    return this.states.find((t) => t.spec.name === name);
  }

  write(trackIndex: number, chunk: Buffer): void {
    if (this._state !== 'live') return;
    const t = this.states[trackIndex];
    if (!t) throw new RangeError(`no track ${trackIndex}`);
    if (t.broken) return;
    for (const ev of t.boxes.push(chunk)) {
      if ('error' in ev) {
        this.breakTrack(t, ev.error);
        return;
      }
      this.onBox(t, ev.type, ev.box);
      if (t.broken) return;
    }
  }

  /**
   * The encoder restarted: call it before writing the new process's first bytes (and drop any bytes
   * the old process still had in its pipes). Partial boxes are discarded and every track waits for
   * a new init segment. A generation that produced no media yet is reused, so calling this twice (or
   * after a crash loop that never got going) adds no empty discontinuity.
   */
  restart(): void {
    this.startGeneration(undefined);
  }

  /** `aligned`: a track whose byte stream is known to be at a box boundary (it just sent ftyp). */
  private startGeneration(aligned: TrackState | undefined): void {
    if (this._state !== 'live') return;
    if (this.anchors.has(this.gen)) this.gen++;
    for (const t of this.states) {
      if (t !== aligned) t.boxes.reset();
      t.ftyp = t.moof = undefined;
      t.awaitingInit = true;
      t.broken = false;
      t.audioCutter?.reset();
      t.timeline.cut(true);
    }
    this.log?.info({ gen: this.gen }, 'packager: encoder restarted, next segments start a discontinuity');
    this.changed();
  }

  end(): void {
    if (this._state !== 'live') return;
    this._state = 'ended';
    this.endedMs = this.now();
    // the audio held for the video's next boundary is the stream's last part
    for (const t of this.states) if (t.audioCutter) this.cutAudio(t, true);
    for (const t of this.states) {
      t.timeline.cut(false);
      t.boxes.reset();
    }
    this.changed();
    this.feed.close();
  }

  close(): void {
    if (this._state === 'closed') return;
    this._state = 'closed';
    for (const t of this.states) {
      t.timeline.clear();
      t.inits.clear();
      t.latestInit = undefined;
      t.boxes.reset();
      t.ftyp = t.moof = undefined;
      t.audioCutter?.reset();
    }
    this.anchors.clear();
    this.version++;
    this.feed.close();
  }

  /** Waits until `ready()` holds; an ended or closed packager answers at once ('closed'). */
  waitUntil(ready: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    return this.feed.waitUntil(ready, timeoutMs, signal);
  }

  subscribe(listener: () => void): () => void {
    return this.feed.subscribe(listener);
  }

  /** Requests currently parked on this packager (for tests and metrics). */
  get waitingRequests(): number {
    return this.feed.waiting;
  }

  private onBox(t: TrackState, type: string, box: Buffer): void {
    if (type === 'ftyp') {
      if (!t.awaitingInit) {
        // A new init without restart(): the encoder restarted behind our back. Treat it the same.
        this.log?.warn({ track: t.spec.name }, 'packager: unexpected init segment, treating it as an encoder restart');
        this.startGeneration(t);
      }
      t.ftyp = box;
      return;
    }
    if (type === 'moov') {
      if (!t.ftyp) return this.breakTrack(t, 'moov without ftyp');
      const bytes = Buffer.concat([t.ftyp, box]);
      t.ftyp = undefined;
      const d = describeInit(bytes);
      if (!d.ok) return this.breakTrack(t, d.error);
      if (d.info.kind !== t.spec.kind) return this.breakTrack(t, `expected ${t.spec.kind}, the encoder wrote ${d.info.kind}`);
      const init: TrackInit = { gen: this.gen, bytes, info: d.info, createdAtMs: this.now() };
      t.inits.set(this.gen, init);
      t.latestInit = init;
      t.trex = trexDefaults(bytes);
      if (d.info.frameRate) t.frameRate = d.info.frameRate;
      t.awaitingInit = false;
      this.changed();
      return;
    }
    if (t.awaitingInit) return; // media before its init cannot be decoded
    if (type === 'moof') {
      t.moof = box;
      return;
    }
    if (type === 'mdat') {
      const moof = t.moof;
      t.moof = undefined;
      if (!moof) return;
      this.onFragment(t, moof, box);
    }
    // styp, sidx, prft, free, mfra...: not needed for delivery
  }

  private onFragment(t: TrackState, moof: Buffer, mdat: Buffer): void {
    const f = describeFragment(moof, t.trex);
    if (!f.ok) {
      this.log?.warn({ track: t.spec.name, error: f.error }, 'packager: unreadable fragment dropped');
      return;
    }
    const ts = t.latestInit!.info.timescale;
    const arrivedAtMs = this.now();
    if (!t.frameRate && t.spec.kind === 'video' && f.info.firstSampleTicks) t.frameRate = ts / f.info.firstSampleTicks;
    let anchor = this.anchors.get(this.gen);
    if (!anchor) {
      anchor = {
        gen: this.gen,
        wallMs: Infinity,
        mediaSec: f.info.startTicks / ts,
        floorMs: this.wallClockEndMs(),
        videoBoundMs: Infinity,
        audioBoundMs: Infinity,
        settling: { atMs: arrivedAtMs, wallMs: Infinity },
        settled: false,
      };
      this.anchors.set(this.gen, anchor);
    }
    const a = anchor;
    // The encoder normalises the frame rate (ffmpeg's fps filter), which lets a frame go only once
    // the next one has arrived: the video part ending at `end` leaves once the frame after it was ingested.
    const heldSec = t.spec.kind === 'video' && t.frameRate ? 1 / t.frameRate : 0;
    const boundMs = arrivedAtMs - ((f.info.startTicks + f.info.durationTicks) / ts + heldSec - a.mediaSec) * 1000;
    // A settled anchor that puts a video part's end after its own arrival is provably late (ffmpeg
    // settled while it lagged, on a loaded machine, and has since sped up): it tightens again.
    if (a.settled && t.spec.kind === 'video' && arrivedAtMs < this.wallClockOf(a, (f.info.startTicks + f.info.durationTicks) / ts))
      a.settled = false;
    if (!a.settled) {
      if (t.spec.kind === 'video') a.videoBoundMs = Math.min(a.videoBoundMs, boundMs);
      else a.audioBoundMs = Math.min(a.audioBoundMs, boundMs);
      const wallMs = Math.max(Math.round(Number.isFinite(a.videoBoundMs) ? a.videoBoundMs : a.audioBoundMs), a.floorMs);
      if (wallMs !== a.wallMs) this.moveAnchor(a, wallMs);
      if (wallMs < a.settling.wallMs - ANCHOR_BACKLOG_STEP_MS) a.settling = { atMs: arrivedAtMs, wallMs };
      else a.settled = arrivedAtMs - a.settling.atMs >= ANCHOR_SETTLE_MS;
    }
    if (t.audioCutter) {
      const samples = fragmentSamples(moof, mdat, t.trex);
      if (!samples.ok) {
        this.log?.warn({ track: t.spec.name, error: samples.error }, 'packager: unreadable fragment dropped');
        return;
      }
      t.audioCutter.push(samples.trackId, samples.startTicks, samples.samples);
      if (this.cutAudio(t, false)) this.afterAppend();
      return;
    }
    const part: MediaPart | undefined = t.timeline.append(
      this.gen,
      {
        bytes: Buffer.concat([moof, mdat]),
        startTicks: f.info.startTicks,
        durationTicks: f.info.durationTicks,
        independent: f.info.independent,
        arrivedAtMs,
      },
      (ticks) => this.wallClockOf(a, ticks / ts),
    );
    if (!part) return;
    // audio held for this video boundary can be cut now
    if (t.spec.kind === 'video') for (const other of this.states) if (other.audioCutter) this.cutAudio(other, false);
    this.afterAppend();
  }

  private afterAppend(): void {
    this.slideTogether();
    this.forgetUnusedGenerations();
    this.changed();
  }

  /**
   * Appends the parts the audio track's cutter can cut now, following the first usable video
   * track's parts of this generation; `flush` at the end of the stream. Returns how many.
   */
  private cutAudio(t: TrackState, flush: boolean): number {
    const cutter = t.audioCutter!;
    const a = this.anchors.get(this.gen);
    if (t.broken || t.awaitingInit || !a || !cutter.heldSamples) return 0;
    const ts = t.latestInit!.info.timescale;
    let video: { firstStartSec: number; parts: VideoPartBounds[] } | 'gone' | undefined = this.states.some(
      (v) => v.spec.kind === 'video' && !v.broken,
    )
      ? undefined
      : 'gone';
    for (const v of this.states) {
      if (v.spec.kind !== 'video' || v.broken || v.awaitingInit) continue;
      const start = v.timeline.generationStart(this.gen);
      if (!start) continue;
      const vts = v.latestInit!.info.timescale;
      const parts: VideoPartBounds[] = [];
      for (const s of v.timeline.segments) {
        if (s.gen !== this.gen) continue;
        s.parts.forEach((p, i) =>
          parts.push({
            startSec: p.startTicks / vts,
            endSec: (p.startTicks + p.durationTicks) / vts,
            startsSegment: i === 0,
            endsSegment: s.complete && i === s.parts.length - 1,
          }),
        );
      }
      video = { firstStartSec: start.startTicks / vts, parts };
      break;
    }
    const cut = cutter.cut(ts, video, flush);
    const arrivedAtMs = this.now();
    for (const part of cut)
      t.timeline.append(this.gen, { ...part, independent: true, arrivedAtMs }, (ticks) => this.wallClockOf(a, ticks / ts));
    return cut.length;
  }

  /**
   * Every usable track's window begins at the same instant: a track that started its next segment
   * (and dropped its oldest) makes the others drop the segments that end where its first one
   * begins (within a quarter of a segment: audio ends within half an AAC frame of the video), instead
   * of a few ms later.
   */
  private slideTogether(): void {
    const live = this.states.filter((t) => !t.broken && t.timeline.first);
    if (live.length < 2) return;
    const latestFirst = Math.max(...live.map((t) => t.timeline.first!.programDateMs));
    for (const t of live) t.timeline.dropEndingBy(latestFirst + (this.segmentTargetSec * 1000) / 4);
  }

  private wallClockOf(a: GenerationAnchor, mediaSec: number): number {
    return Math.round(a.wallMs + (mediaSec - a.mediaSec) * 1000);
  }

  /** A tighter bound on a generation's anchor: re-stamps its segments, and the DASH origin with it. */
  private moveAnchor(a: GenerationAnchor, wallMs: number): void {
    a.wallMs = wallMs;
    if (this.originGen === undefined) this.originGen = a.gen;
    if (this.originGen === a.gen) this.originMs = wallMs;
    for (const t of this.states) {
      const ts = t.inits.get(a.gen)?.info.timescale;
      if (ts) t.timeline.restamp(a.gen, (ticks) => this.wallClockOf(a, ticks / ts));
    }
  }

  /** Where the media held so far ends on the wall clock. */
  private wallClockEndMs(): number {
    let end = 0;
    for (const t of this.states) {
      const last = t.timeline.last;
      if (last) end = Math.max(end, last.programDateMs + (last.durationTicks / t.timeline.timescale()) * 1000);
    }
    return Math.ceil(end);
  }

  private forgetUnusedGenerations(): void {
    let oldest = this.gen;
    for (const t of this.states) oldest = Math.min(oldest, t.timeline.first?.gen ?? this.gen);
    for (const g of this.anchors.keys()) if (g < oldest) this.anchors.delete(g);
    for (const t of this.states) {
      for (const g of t.inits.keys()) if (g < oldest) t.inits.delete(g);
      t.timeline.forgetGenerationsBefore(oldest);
    }
  }

  private breakTrack(t: TrackState, error: string): void {
    t.broken = true;
    t.boxes.reset();
    t.ftyp = t.moof = undefined;
    this.log?.error({ track: t.spec.name, error }, 'packager: track output unusable until the encoder restarts');
  }

  private changed(): void {
    this.version++;
    this.lastChangeMs = this.now();
    this.feed.changed();
  }
}
