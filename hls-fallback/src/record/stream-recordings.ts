// This node's recordings: one BroadcastRecorder per packager the ladders create (every live stream
// whose ladder runs here, which is its origin node), and their release. close() waits until every
// recording has written what it captured and its catalog row is final, so a clean shutdown leaves
// complete broadcasts. Never decides whether to record (the composition root does: RECORDING).
import type { Logger, RecordingStore } from '@onair/platform';
import type { CmafPackager } from '../package/cmaf-packager.js';
import { BroadcastRecorder, type RecorderOptions, type RecordingCatalog } from './broadcast-recorder.js';

export class StreamRecordings {
  private readonly active = new Set<BroadcastRecorder>();
  private closed = false;

  constructor(
    readonly store: RecordingStore,
    private readonly catalog: RecordingCatalog,
    private readonly opts: RecorderOptions,
    private readonly log: Logger,
  ) {}

  /** Starts recording what `packager` packages, from now until its stream ends. */
  attach(packager: CmafPackager): BroadcastRecorder | undefined {
    if (this.closed) return undefined;
    const r = new BroadcastRecorder(packager, this.store, this.catalog, this.opts, this.log);
    this.active.add(r);
    void r.done.then(() => this.active.delete(r));
    return r;
  }

  /** The recorder of a stream recorded on this node now, if any. */
  recorderOf(streamId: string): BroadcastRecorder | undefined {
    for (const r of this.active) if (r.broadcastId && r.state === 'recording' && r.streamId === streamId) return r;
    return undefined;
  }

  get size(): number {
    return this.active.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.active].map((r) => r.close()));
    this.active.clear();
  }
}
