// Records one live stream's packaged CMAF as a past broadcast: it follows a CmafPackager's change
// feed and copies every init segment and every complete segment, byte for byte (no re-encoding),
// into a RecordingStore in the layout of recording-layout.ts, one atomic put per object, in order.
// It owns its queue and its subscription; it never blocks or slows the live path: segments are
// captured synchronously (before the live window can drop them) and written behind it. A write that
// fails (disk full, permissions) or a queue that grows past its bound stops the recording with a
// logged reason (the broadcast becomes partial); live playback carries on. Knows no HTTP and no SQL:
// the broadcast's catalog row is reached through RecordingCatalog.
import type { Logger, RecordingStore } from '@onair/platform';
import type { CmafPackager } from '../package/cmaf-packager.js';
import { recordingKeys, type RecordingMeta } from './recording-layout.js';

/** The catalog side of a recording (platform's Broadcasts in production). */
export interface RecordingCatalog {
  /** Creates the broadcast row; returns its id and the store prefix its media goes under. */
  begin(streamId: string, startedAtMs: number): Promise<{ id: string; prefix: string }>;
  progress(id: string, p: { durationMs: number; bytes: number }): Promise<void>;
  finish(id: string, f: { durationMs: number; bytes: number; stopReason?: string }): Promise<void>;
}

export interface RecorderOptions {
  /** Bytes captured but not yet written before the recording gives up (the disk cannot keep up). */
  maxQueueBytes: number;
  /** How often the catalog hears that the recording is alive (see Broadcasts' heartbeat). */
  progressIntervalMs: number;
}

/** Where a segment sits on the packager's clock, read again when it is written (the clock tightens meanwhile). */
interface SegmentClock {
  gen: number;
  startTicks: number;
  timescale: number;
  /** its PROGRAM-DATE-TIME when captured */
  capturedMs: number;
}

/**
 * The broadcast's start is taken once the packager's clock for its first segment has settled (see
 * GenerationAnchor: the first parts of an encoder leave it late, by 0.7 s here, and the anchor moves
 * earlier as its backlog clears), so that chat offsets and pictures agree; at most this long after the
 * first segment, the recording starts with the clock as it is.
 */
const START_SETTLE_MAX_MS = 8000;

interface QueuedObject {
  /** segments: the key of the object given its name parts (its offset is known only when it is written) */
  key: (prefix: string, offsetMs: number) => string;
  clock?: SegmentClock;
  bytes: Buffer;
  /** media seconds this object adds to its track (segments) */
  seconds: number;
  track: number;
}

export type RecorderState = 'waiting' | 'recording' | 'finished' | 'stopped';

export class BroadcastRecorder {
  state: RecorderState = 'waiting';
  /** Why the recording stopped early (disk full...), once it did. */
  stopReason: string | undefined;
  broadcastId: string | undefined;
  private prefix: string | undefined;
  private readonly lastMsn: number[];
  private readonly initsWritten: Set<number>[];
  private readonly trackSeconds: number[];
  private queue: QueuedObject[] = [];
  private queuedBytes = 0;
  private bytesWritten = 0;
  private writing: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private lastProgressMs = 0;
  private startedAtMs: number | undefined;
  /** the first segment's clock, and when it was captured (the start waits for its anchor to settle) */
  private first: { clock: SegmentClock; atMs: number } | undefined;
  private waitingForClock = false;
  private ended = false;
  /** Resolves once everything captured is written and the catalog row is final. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    private readonly packager: CmafPackager,
    private readonly store: RecordingStore,
    private readonly catalog: RecordingCatalog,
    private readonly opts: RecorderOptions,
    private log: Logger,
  ) {
    this.log = log.child({ streamId: packager.streamId });
    this.lastMsn = packager.tracks.map(() => -1);
    this.initsWritten = packager.tracks.map(() => new Set<number>());
    this.trackSeconds = packager.tracks.map(() => 0);
    this.done = new Promise((r) => (this.resolveDone = r));
    this.unsubscribe = packager.subscribe(() => this.capture());
    this.capture();
  }

  get streamId(): string {
    return this.packager.streamId;
  }

  /** Recorded media so far, in seconds (the longest track). */
  get durationSec(): number {
    return Math.max(0, ...this.trackSeconds);
  }

  get bytes(): number {
    return this.bytesWritten;
  }

  /** Takes what the packager completed since the last call; runs synchronously inside its change feed. */
  private capture(): void {
    if (this.state === 'finished' || this.state === 'stopped') return;
    const p = this.packager;
    if (p.state === 'closed' && !this.ended) return this.stop('the packager closed before the stream ended');
    for (const t of p.tracks) {
      for (const s of t.timeline.segments) {
        if (!s.complete || s.msn <= this.lastMsn[t.index]!) continue;
        const init = t.inits.get(s.gen);
        if (!init) continue;
        const clock: SegmentClock = { gen: s.gen, startTicks: s.startTicks, timescale: init.info.timescale, capturedMs: s.programDateMs };
        this.first ??= { clock, atMs: Date.now() };
        if (!this.initsWritten[t.index]!.has(s.gen)) {
          this.initsWritten[t.index]!.add(s.gen);
          const gen = s.gen;
          this.enqueue({ key: (pre) => recordingKeys.init(pre, t.spec.name, gen), bytes: init.bytes, seconds: 0, track: t.index });
        }
        const name = { msn: s.msn, gen: s.gen, startTicks: s.startTicks, durationTicks: s.durationTicks };
        this.enqueue({
          key: (pre, offsetMs) => recordingKeys.segment(pre, t.spec.name, { ...name, offsetMs }),
          clock,
          bytes: t.timeline.segmentBytes(s),
          seconds: s.durationTicks / init.info.timescale,
          track: t.index,
        });
        this.lastMsn[t.index] = s.msn;
      }
    }
    if (p.state !== 'live') this.ended = true;
    this.pump();
  }

  private enqueue(o: QueuedObject): void {
    if (this.state === 'stopped') return;
    if (this.queuedBytes + o.bytes.length > this.opts.maxQueueBytes) {
      this.stop(`the recording fell ${Math.round(this.queuedBytes / 1e6)} MB behind the stream (storage too slow)`);
      return;
    }
    this.queue.push(o);
    this.queuedBytes += o.bytes.length;
  }

  private pump(): void {
    if (this.writing) return;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
      if (this.queue.length && this.state !== 'stopped' && !this.waitingForClock) this.pump();
      else if (this.ended && this.state === 'recording') void this.finalize();
      else if (this.ended && this.state === 'waiting') {
        // The stream ended before any segment was complete: nothing was recorded, no broadcast.
        this.state = 'finished';
        this.unsubscribe?.();
        this.resolveDone();
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length && this.state !== 'stopped') {
      if (!this.prefix) {
        if (!this.first) return;
        const settled = this.packager.anchor(this.first.clock.gen)?.settled === true;
        this.waitingForClock = !settled && !this.ended && Date.now() - this.first.atMs < START_SETTLE_MAX_MS;
        if (this.waitingForClock) return; // the packager's next change tries again
        this.startedAtMs = this.wallClockOf(this.first.clock);
        try {
          const b = await this.catalog.begin(this.packager.streamId, this.startedAtMs);
          this.broadcastId = b.id;
          this.prefix = b.prefix;
          this.log = this.log.child({ broadcastId: b.id });
          const meta: RecordingMeta = {
            version: 1,
            streamId: this.packager.streamId,
            segmentTargetMs: Math.round(this.packager.segmentTargetSec * 1000),
            tracks: this.packager.tracks.map((t) => ({ kind: t.spec.kind, name: t.spec.name, bandwidth: t.spec.bandwidth })),
          };
          await this.store.put(recordingKeys.meta(b.prefix), Buffer.from(JSON.stringify(meta)));
          this.state = 'recording';
          this.log.info({ store: this.store.kind }, 'recording the broadcast');
        } catch (err) {
          this.stop(`could not start the recording: ${(err as Error).message}`);
          return;
        }
      }
      const o = this.queue[0]!;
      try {
        const offsetMs = o.clock ? this.wallClockOf(o.clock) - this.startedAtMs! : 0;
        await this.store.put(o.key(this.prefix, offsetMs), o.bytes);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        this.stop(code === 'ENOSPC' ? 'the disk is full' : `a write failed: ${(err as Error).message}`);
        return;
      }
      this.queue.shift();
      this.queuedBytes -= o.bytes.length;
      this.bytesWritten += o.bytes.length;
      this.trackSeconds[o.track]! += o.seconds;
      const now = Date.now();
      if (now - this.lastProgressMs >= this.opts.progressIntervalMs) {
        this.lastProgressMs = now;
        await this.catalog
          .progress(this.broadcastId!, { durationMs: this.durationSec * 1000, bytes: this.bytesWritten })
          .catch((err: unknown) => this.log.warn({ err }, 'recording progress not saved'));
      }
    }
  }

  /** A segment's start on the wall clock: from its generation's anchor now, else as it was captured. */
  private wallClockOf(c: SegmentClock): number {
    const a = this.packager.anchor(c.gen);
    if (!a || !Number.isFinite(a.wallMs)) return c.capturedMs;
    return Math.round(a.wallMs + (c.startTicks / c.timescale - a.mediaSec) * 1000);
  }

  private async finalize(): Promise<void> {
    if (this.state !== 'recording') return;
    this.state = 'finished';
    this.unsubscribe?.();
    await this.catalog
      .finish(this.broadcastId!, { durationMs: this.durationSec * 1000, bytes: this.bytesWritten })
      .catch((err: unknown) => this.log.error({ err }, 'recording finished but its catalog row was not updated'));
    this.log.info({ durationMs: Math.round(this.durationSec * 1000), bytes: this.bytesWritten }, 'recording complete');
    this.resolveDone();
  }

  /** Stops recording early (the broadcast stays playable up to its last written segment). */
  private stop(reason: string): void {
    if (this.state === 'stopped' || this.state === 'finished') return;
    const hadBroadcast = this.broadcastId !== undefined;
    this.state = 'stopped';
    this.stopReason = reason;
    this.unsubscribe?.();
    this.queue = [];
    this.queuedBytes = 0;
    this.log.error({ reason, bytes: this.bytesWritten }, 'recording stopped; the live stream continues');
    const finished = hadBroadcast
      ? this.catalog
          .finish(this.broadcastId!, { durationMs: this.durationSec * 1000, bytes: this.bytesWritten, stopReason: reason })
          .catch((err: unknown) => this.log.error({ err }, 'recording stopped and its catalog row was not updated'))
      : Promise.resolve();
    void Promise.resolve(this.writing)
      .then(() => finished)
      .then(() => this.resolveDone());
  }

  /** Ends the recording now (node shutdown): what was captured is written, then the row is final. */
  async close(): Promise<void> {
    if (this.state === 'waiting' && !this.queue.length) {
      this.state = 'finished';
      this.unsubscribe?.();
      this.resolveDone();
    }
    this.ended = true;
    this.pump();
    await this.done;
  }
}
