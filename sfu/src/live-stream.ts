// One stream being broadcast on this node, fed either by a publisher (the origin: an IngestSession)
// or by an upstream node (a relay: an UpstreamLink). It owns its routers, the source, the viewer
// sessions and the relay links it serves downstream; ending it closes all of them exactly once, in
// that cascade, and releases the worker load it booked. The first router holds the source; when a
// router reaches its viewer limit the stream is piped (pipeToRouter) to a router on another worker and
// new viewers go there. It never talks HTTP, NATS or to the directory: it emits events.
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from '@onair/platform';
import { MediaError } from './media-error.js';
import type { IngestSession } from './ingest-session.js';
import type { RtpIngestSession } from './rtp-ingest-session.js';
import { routerMediaCodecs } from './media-codecs.js';
import type { DownstreamLink, UpstreamLink } from './relay-link.js';
import type { ViewerSession } from './viewer-session.js';
import type { WorkerPool } from './worker-pool.js';

export type EndReason = string;
export type StreamRole = 'origin' | 'relay';

export interface LiveStreamEvents {
  live: [];
  viewers: [count: number];
  ended: [reason: EndReason];
}

export interface ViewerPlacement {
  router: types.Router;
  worker: types.Worker;
  /** Gives the place back (idempotent); attachViewer calls it when the viewer leaves. */
  release: () => void;
}

/** One router of the stream and the viewers placed on it (booked before their session exists). */
interface Branch {
  router: types.Router;
  worker: types.Worker;
  viewers: number;
}

/** A publisher on this node: a WHIP peer, or an RTMP/SRT contribution re-encoded to RTP. */
export type PublisherSession = IngestSession | RtpIngestSession;

export class LiveStream extends EventEmitter<LiveStreamEvents> {
  ingest: PublisherSession | undefined;
  upstream: UpstreamLink | undefined;
  readonly viewers = new Map<string, ViewerSession>();
  readonly downstream = new Map<string, DownstreamLink>();
  private readonly branches: Branch[];
  /** A branch being piped to; viewers arriving meanwhile wait for it instead of piping again. */
  private growing: Promise<Branch> | undefined;
  private ended = false;
  private isLive = false;

  constructor(
    readonly id: string,
    readonly role: StreamRole,
    router: types.Router,
    worker: types.Worker,
    private readonly pool: WorkerPool,
    private readonly routerMaxViewers: number,
    private readonly log: Logger,
  ) {
    super();
    this.sourceRouter = router;
    this.branches = [{ router, worker, viewers: 0 }];
    pool.book(worker, 1);
    router.observer.once('close', () => this.end('router_closed'));
  }

  get live(): boolean {
    return this.isLive;
  }

  private readonly sourceRouter: types.Router;

  /** The router holding the source (publisher or upstream link); closed once the stream ends. */
  get router(): types.Router {
    return this.sourceRouter;
  }

  /** Routers serving viewers, with how many each has (for inspection and tests). */
  routers(): { routerId: string; workerPid: number; viewers: number }[] {
    return this.branches.map((b) => ({ routerId: b.router.id, workerPid: b.worker.pid, viewers: b.viewers }));
  }

  attachIngest(session: PublisherSession): void {
    this.ingest = session;
    session.onFirstMedia = () => this.goLive(session.id);
    session.once('closed', (reason) => {
      this.log.info({ streamId: this.id, sessionId: session.id, reason }, 'publisher left');
      this.end(reason);
    });
  }

  /** A relay is live as soon as its upstream link is attached: the upstream only relays live streams. */
  attachUpstream(link: UpstreamLink): void {
    this.upstream = link;
    link.once('closed', (reason) => {
      this.log.info({ streamId: this.id, linkId: link.id, reason }, 'relay lost its upstream');
      this.end(reason === 'transport_closed' ? 'upstream_closed' : reason);
    });
    this.goLive(link.id);
  }

  attachDownstream(link: DownstreamLink): void {
    if (this.ended) {
      link.close('stream_ended');
      throw new MediaError('stream_offline', 'the stream ended');
    }
    this.downstream.set(link.id, link);
    link.once('closed', () => this.downstream.delete(link.id));
  }

  /**
   * Books a viewer place on a router with room, piping the stream to a router on another worker when
   * every router is at its limit. The caller must attach the viewer or call `release` on the result.
   */
  async placeViewer(): Promise<ViewerPlacement> {
    let branch = this.branches.find((b) => b.viewers < this.routerMaxViewers);
    if (!branch) {
      this.growing ??= this.grow().finally(() => (this.growing = undefined));
      branch = await this.growing;
      if (branch.viewers >= this.routerMaxViewers) return this.placeViewer(); // others filled it meanwhile
    }
    const placed = branch;
    placed.viewers++;
    let released = false;
    return {
      router: placed.router,
      worker: placed.worker,
      release: () => {
        if (released) return;
        released = true;
        this.unbook(placed);
      },
    };
  }

  attachViewer(session: ViewerSession, placement: ViewerPlacement): void {
    if (this.ended) {
      placement.release();
      session.close('stream_ended');
      throw new MediaError('stream_offline', 'the stream ended');
    }
    this.viewers.set(session.id, session);
    this.pool.book(placement.worker, session.consumers.length);
    session.once('closed', (reason) => {
      this.log.debug({ streamId: this.id, sessionId: session.id, reason }, 'viewer left');
      this.viewers.delete(session.id);
      this.pool.book(placement.worker, -session.consumers.length);
      placement.release();
      if (!this.ended) this.emit('viewers', this.viewers.size);
    });
    // A viewer counts once its media can flow (ICE and DTLS up), not when it only posted an offer.
    session.once('connected', () => !this.ended && this.emit('viewers', this.viewers.size));
  }

  producers(): types.Producer[] {
    const source = this.ingest?.producers ?? this.upstream?.producers ?? [];
    return source.filter((p) => !p.closed);
  }

  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    this.isLive = false;
    for (const v of [...this.viewers.values()]) v.close('stream_ended');
    for (const l of [...this.downstream.values()]) l.close('stream_ended');
    this.ingest?.close(reason);
    this.upstream?.close(reason);
    // The parent-initiated close path (as mediasoup's routerClosed()): the branches leave the list
    // first, so their routers' own close observers (closeBranch) find nothing left to release.
    for (const b of this.branches.splice(0).reverse()) {
      if (!b.router.closed) b.router.close();
      this.pool.book(b.worker, -1);
    }
    this.emit('ended', reason);
    this.removeAllListeners();
  }

  private goLive(sourceId: string): void {
    if (this.isLive || this.ended) return;
    this.isLive = true;
    this.log.info({ streamId: this.id, role: this.role, sourceId }, 'stream live: media arriving');
    this.emit('live');
  }

  /** Pipes every producer to a new router on the least-loaded worker this stream does not use yet. */
  private async grow(): Promise<Branch> {
    const used = new Set(this.branches.map((b) => b.worker));
    const worker = this.pool.leastLoadedWhere((w) => !used.has(w)) ?? this.pool.leastLoaded();
    const router = await worker.createRouter({ mediaCodecs: routerMediaCodecs });
    if (this.ended) {
      router.close();
      throw new MediaError('stream_offline', 'the stream ended');
    }
    const branch: Branch = { router, worker, viewers: 0 };
    this.pool.book(worker, 1);
    this.branches.push(branch);
    router.observer.once('close', () => this.closeBranch(branch)); // its worker died: forget it
    try {
      for (const p of this.producers()) await this.router.pipeToRouter({ producerId: p.id, router });
    } catch (err) {
      this.closeBranch(branch);
      throw err;
    }
    this.log.info(
      { streamId: this.id, routers: this.branches.length, workerPid: worker.pid },
      'router full: stream piped to another worker',
    );
    return branch;
  }

  private unbook(branch: Branch): void {
    branch.viewers = Math.max(0, branch.viewers - 1);
    // An emptied extra router gives its worker back; the source's router stays while the stream does.
    if (branch.viewers === 0 && branch !== this.branches[0] && !this.ended) this.closeBranch(branch);
  }

  private closeBranch(branch: Branch): void {
    const at = this.branches.indexOf(branch);
    if (at <= 0) return;
    this.branches.splice(at, 1);
    if (!branch.router.closed) branch.router.close();
    this.pool.book(branch.worker, -1);
  }
}
