// Keeps one StreamLadder per live stream of this node's media plane: starts it when the stream's
// media arrives, ends it (ENDLIST) when the stream goes offline and releases it after a grace period
// in which players can still read the final playlists. Answers the playback routes' lookups.
import type { Logger } from '@onair/platform';
import type { MediaPlane, StreamRole } from '@onair/sfu';
import type { PackagerTrack } from './package/cmaf-packager.js';
import { StreamLadder, type CmafSink, type LadderSettings } from './stream-ladder.js';

export interface LiveLaddersOptions<Sink extends CmafSink> {
  settings: LadderSettings;
  createSink: (streamId: string, tracks: PackagerTrack[]) => Sink;
  /** How long an ended stream's playlists stay readable. */
  endedGraceMs: number;
}

export class LiveLadders<Sink extends CmafSink = CmafSink> {
  private readonly byStream = new Map<string, StreamLadder<Sink>>();
  private readonly graceTimers = new Set<NodeJS.Timeout>();
  private closed = false;
  // Only the origin of a stream encodes its ladder: a relay of it on an edge (origin-cascade) must not
  // spend another core on the same renditions; HLS requests to an edge go to the origin's node.
  private readonly onLive = (id: string, role: StreamRole) => role === 'origin' && this.start(id);
  private readonly onOffline = (id: string) => void this.stop(id);

  constructor(
    private readonly media: MediaPlane,
    private readonly opts: LiveLaddersOptions<Sink>,
    private readonly log: Logger,
  ) {
    media.on('live', this.onLive);
    media.on('offline', this.onOffline);
  }

  get(streamId: string): StreamLadder<Sink> | undefined {
    return this.byStream.get(streamId);
  }

  /** The packager of a stream whose ladder runs (or ran: ended playlists stay readable a while). */
  sink(streamId: string): Sink | undefined {
    return this.byStream.get(streamId)?.sink;
  }

  /** Why a live stream has no packager: still starting, or failed with a reason. */
  pending(streamId: string): { state: 'starting' } | { state: 'failed'; reason: string } | undefined {
    const p = this.byStream.get(streamId);
    if (!p || p.sink) return undefined;
    if (p.state === 'failed') return { state: 'failed', reason: p.failure ?? 'unknown' };
    return p.state === 'starting' ? { state: 'starting' } : undefined;
  }

  /** Ids of the streams packaged (or recently ended) on this node. */
  ids(): IterableIterator<string> {
    return this.byStream.keys();
  }

  get size(): number {
    return this.byStream.size;
  }

  /** ffmpeg processes currently running, for /metrics and leak checks. */
  encoderPids(): number[] {
    return [...this.byStream.values()].map((p) => p.encoderPid).filter((p): p is number => p !== undefined);
  }

  private start(streamId: string): void {
    if (this.closed) return;
    const source = this.media.source(streamId);
    if (!source) return;
    const previous = this.byStream.get(streamId);
    if (previous) void previous.close();
    const ladder = new StreamLadder(streamId, source, this.opts.settings, (tracks) => this.opts.createSink(streamId, tracks), this.log);
    this.byStream.set(streamId, ladder);
  }

  private async stop(streamId: string): Promise<void> {
    const ladder = this.byStream.get(streamId);
    if (!ladder) return;
    await ladder.end();
    const timer = setTimeout(() => {
      this.graceTimers.delete(timer);
      if (this.byStream.get(streamId) === ladder) this.byStream.delete(streamId);
      void ladder.close();
    }, this.opts.endedGraceMs);
    timer.unref();
    this.graceTimers.add(timer);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.media.off('live', this.onLive);
    this.media.off('offline', this.onOffline);
    for (const t of this.graceTimers) clearTimeout(t);
    this.graceTimers.clear();
    const all = [...this.byStream.values()];
    this.byStream.clear();
    await Promise.all(all.map((p) => p.close()));
  }
}
