// One stream being broadcast on this node. It owns the router (on one worker), the publisher's ingest
// session and every viewer session; ending it closes all of them exactly once, in that cascade, and
// releases the worker load it booked. It never talks HTTP or to the directory: it emits events.
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { AppError, type Logger } from '@onair/platform';
import type { IngestSession } from './ingest-session.js';
import type { ViewerSession } from './viewer-session.js';
import type { WorkerPool } from './worker-pool.js';

export type EndReason = string;

export interface LiveStreamEvents {
  live: [];
  viewers: [count: number];
  ended: [reason: EndReason];
}

export class LiveStream extends EventEmitter<LiveStreamEvents> {
  ingest: IngestSession | undefined;
  readonly viewers = new Map<string, ViewerSession>();
  private ended = false;
  private isLive = false;

  constructor(
    readonly id: string,
    readonly router: types.Router,
    private readonly worker: types.Worker,
    private readonly pool: WorkerPool,
    private readonly log: Logger,
  ) {
    super();
    pool.book(worker, 1);
    router.observer.once('close', () => this.end('router_closed'));
  }

  get live(): boolean {
    return this.isLive;
  }

  attachIngest(session: IngestSession): void {
    this.ingest = session;
    session.onFirstMedia = () => {
      this.isLive = true;
      this.log.info({ streamId: this.id, sessionId: session.id }, 'stream live: media arriving');
      this.emit('live');
    };
    session.once('closed', (reason) => {
      this.log.info({ streamId: this.id, sessionId: session.id, reason }, 'publisher left');
      this.end(reason);
    });
  }

  attachViewer(session: ViewerSession): void {
    if (this.ended) {
      session.close('stream_ended');
      throw new AppError(404, 'stream_offline', 'the stream ended');
    }
    this.viewers.set(session.id, session);
    this.pool.book(this.worker, session.consumers.length);
    session.once('closed', (reason) => {
      this.log.debug({ streamId: this.id, sessionId: session.id, reason }, 'viewer left');
      this.viewers.delete(session.id);
      this.pool.book(this.worker, -session.consumers.length);
      if (!this.ended) this.emit('viewers', this.viewers.size);
    });
    this.emit('viewers', this.viewers.size);
  }

  producers(): types.Producer[] {
    return this.ingest?.producers.filter((p) => !p.closed) ?? [];
  }

  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    this.isLive = false;
    for (const v of [...this.viewers.values()]) v.close('stream_ended');
    this.ingest?.close(reason);
    if (!this.router.closed) this.router.close();
    this.pool.book(this.worker, -1);
    this.emit('ended', reason);
    this.removeAllListeners();
  }
}
