// The encode stage of a stream whose renditions already exist: an RTMP or SRT contribution's
// encoder writes its WebRTC simulcast layers, unchanged, as CMAF too, plus AAC and posters (see
// @onair/sfu's EncodedLadder). Here nothing is decoded or encoded: the ladder is read from those
// layers' init segments (one rendition per layer, highest first) and their boxes are handed to the
// packager as the transcoding LadderEncoder hands its own, with the same hooks, so package/ and
// deliver/ cannot tell the two apart. Owns only its subscription to the feed; stop() ends it.
import type { EncodedLadder } from '@onair/sfu';
import { describeInit } from '../package/init-segment.js';
import type { Rendition } from './ladder.js';
import type { LadderEncoderHooks } from './ladder-encoder.js';

export interface CopiedLadder {
  /** Highest first, as chooseLadder orders a transcoded ladder. */
  ladder: Rendition[];
  hasAudio: boolean;
  /** The top layer's picture. */
  source: { width: number; height: number; codec: string };
  /** The feed track of each packager track (video renditions in ladder order, then audio). */
  feedTracks: number[];
}

/** Waits for the feed's init segments and derives the ladder from them; a string says why not. */
export async function readCopiedLadder(feed: EncodedLadder, maxRenditions: number, timeoutMs: number): Promise<CopiedLadder | string> {
  const deadline = Date.now() + timeoutMs;
  while (!feed.initialised) {
    if (Date.now() >= deadline) return `the contribution encoder wrote no init segment for every rendition within ${timeoutMs} ms`;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const inits = feed.initSegments();
  const ladder: Rendition[] = [];
  const feedTracks: number[] = [];
  let source: CopiedLadder['source'] | undefined;
  let audioTrack: number | undefined;
  for (const [i, track] of feed.tracks.entries()) {
    const d = describeInit(inits[i]!);
    if (!d.ok) return `rendition ${i}: ${d.error}`;
    if (track.kind === 'audio') {
      audioTrack ??= i;
      continue;
    }
    const height = d.info.height ?? 0;
    const name = `${height}p`;
    // A tiny source can make two layers the same size: one rendition of each size is enough.
    if (!height || ladder.length >= Math.max(1, maxRenditions) || ladder.some((r) => r.name === name)) continue;
    source ??= { width: d.info.width ?? 0, height, codec: d.info.codec };
    ladder.push({ name, height, videoBitrate: track.bitrate });
    feedTracks.push(i);
  }
  if (!source) return 'the contribution encoder wrote no video rendition';
  if (audioTrack !== undefined) feedTracks.push(audioTrack);
  return { ladder, hasAudio: audioTrack !== undefined, source, feedTracks };
}

export class LayerCopy {
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly feed: EncodedLadder,
    private readonly copied: CopiedLadder,
    private readonly hooks: LadderEncoderHooks,
  ) {}

  /** No process of its own: the contribution encoder's belongs to the ingest. */
  get pid(): number | undefined {
    return undefined;
  }

  /** Hands over the current init segments, then every box as the contribution encoder writes it. */
  start(): void {
    if (this.unsubscribe) return;
    const packagerTrack = new Map(this.copied.feedTracks.map((feedTrack, i) => [feedTrack, i]));
    this.hooks.spawned(false);
    this.unsubscribe = this.feed.subscribe({
      restart: () => this.hooks.spawned(true),
      box: (feedTrack, box) => {
        const track = packagerTrack.get(feedTrack);
        if (track !== undefined) this.hooks.media(track, box);
      },
      poster: (chunk) => this.hooks.poster(chunk),
    });
    const inits = this.feed.initSegments();
    this.copied.feedTracks.forEach((feedTrack, track) => {
      const init = inits[feedTrack];
      if (init) this.hooks.media(track, init);
    });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
