// The node's media API used by the WHIP/WHEP edge: start a broadcast, add a viewer, patch or end a
// session. Keeps one LiveStream per broadcasting stream id and reports live/offline/viewer changes
// as events for the directory. Authorisation (stream keys) is the caller's job, never done here.
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { AppError, type Logger } from '@onair/platform';
import { IngestSession } from './ingest-session.js';
import { LiveStream } from './live-stream.js';
import { routerMediaCodecs } from './media-codecs.js';
import { parseOffer } from './sdp/offer.js';
import type { PatchResult, RtcSession } from './rtc-session.js';
import { ViewerSession } from './viewer-session.js';
import { installViewerNumbering } from './viewer-numbering.js';
import { WorkerPool } from './worker-pool.js';

export interface MediaPlaneOptions {
  numWorkers: number;
  workerLogLevel: types.WorkerLogLevel;
  rtcMinPort: number;
  rtcMaxPort: number;
  listenIp: string;
  announcedAddress: string | undefined;
  publisherTimeoutMs: number;
  /** Kernel buffer of each WebRTC socket (0 keeps the kernel default). */
  socketBufferBytes?: number;
  /** A viewer that does not complete ICE+DTLS within this time is dropped. */
  viewerConnectTimeoutMs?: number;
}

export interface SessionAnswer {
  sessionId: string;
  sdp: string;
  etag: string;
}

export type SessionRole = 'ingest' | 'viewer';

export interface MediaPlaneEvents {
  live: [streamId: string];
  offline: [streamId: string, reason: string];
  viewers: [streamId: string, count: number];
}

export class MediaPlane extends EventEmitter<MediaPlaneEvents> {
  private readonly streams = new Map<string, LiveStream>();
  /** Stream ids whose ingest is being set up: reserves the id against a racing second publisher. */
  private readonly starting = new Set<string>();
  private closing = false;

  private constructor(readonly pool: WorkerPool, private readonly opts: MediaPlaneOptions, private readonly log: Logger) {
    super();
  }

  static async start(opts: MediaPlaneOptions, log: Logger): Promise<MediaPlane> {
    installViewerNumbering();
    const pool = await WorkerPool.start(
      { numWorkers: opts.numWorkers, logLevel: opts.workerLogLevel, rtcMinPort: opts.rtcMinPort, rtcMaxPort: opts.rtcMaxPort },
      log,
    );
    return new MediaPlane(pool, opts, log);
  }

  isBroadcasting(streamId: string): boolean {
    return this.starting.has(streamId) || this.streams.has(streamId);
  }

  isLive(streamId: string): boolean {
    return this.streams.get(streamId)?.live ?? false;
  }

  viewerCount(streamId: string): number {
    return this.streams.get(streamId)?.viewers.size ?? 0;
  }

  /** WHIP: starts a broadcast. 409 when the stream already has a publisher session. */
  async publish(streamId: string, offerSdp: string): Promise<SessionAnswer> {
    this.assertOpen();
    const offer = parseOffer(offerSdp);
    if (this.isBroadcasting(streamId)) {
      throw new AppError(409, 'stream_already_live', 'this stream is already being published from another session; end it first', { 'Retry-After': '5' });
    }
    this.starting.add(streamId);
    let stream: LiveStream | undefined;
    try {
      const worker = this.pool.leastLoaded();
      const router = await worker.createRouter({ mediaCodecs: routerMediaCodecs });
      stream = new LiveStream(streamId, router, worker, this.pool, this.log);
      const session = await IngestSession.open(router, offer, this.opts);
      stream.attachIngest(session);
      this.adopt(stream);
      this.log.info({ streamId, sessionId: session.id, producers: session.producers.map((p) => p.kind) }, 'publisher connected');
      return { sessionId: session.id, sdp: session.answer, etag: session.etag };
    } catch (err) {
      stream?.end('setup_failed');
      throw err;
    } finally {
      this.starting.delete(streamId);
    }
  }

  /**
   * The router and producers of a live broadcast, for taps that consume it on this node (the HLS
   * ladder's PlainTransports). Undefined unless media is arriving. Callers must not close them.
   */
  source(streamId: string): { router: types.Router; producers: types.Producer[] } | undefined {
    const stream = this.streams.get(streamId);
    if (!stream?.live) return undefined;
    return { router: stream.router, producers: stream.producers() };
  }

  /** WHEP: adds a viewer. 404 when nobody publishes; 409 while the publisher's media has not arrived. */
  async play(streamId: string, offerSdp: string): Promise<SessionAnswer> {
    this.assertOpen();
    const offer = parseOffer(offerSdp);
    const stream = this.streams.get(streamId);
    if (!stream) throw new AppError(404, 'stream_offline', 'this stream is not live');
    if (!stream.live) throw new AppError(409, 'stream_starting', 'the publisher is connecting; retry shortly', { 'Retry-After': '1' });
    const session = await ViewerSession.open(stream.router, stream.producers(), offer, {
      ...this.opts,
      connectTimeoutMs: this.opts.viewerConnectTimeoutMs ?? 30_000,
    });
    stream.attachViewer(session);
    return { sessionId: session.id, sdp: session.answer, etag: session.etag };
  }

  async patch(role: SessionRole, streamId: string, sessionId: string, ifMatch: string | undefined, body: string): Promise<PatchResult> {
    return this.session(role, streamId, sessionId).patch(ifMatch, body);
  }

  /** DELETE of a session URL. Ending the ingest session ends the broadcast for every viewer. */
  end(role: SessionRole, streamId: string, sessionId: string): void {
    this.session(role, streamId, sessionId).close(role === 'ingest' ? 'publisher_deleted' : 'viewer_deleted');
  }

  /** Ends a broadcast from outside (e.g. the owner rotated the stream key). */
  endStream(streamId: string, reason: string): void {
    this.streams.get(streamId)?.end(reason);
  }

  counts() {
    let viewers = 0;
    let producers = 0;
    let consumers = 0;
    for (const s of this.streams.values()) {
      viewers += s.viewers.size;
      producers += s.producers().length;
      for (const v of s.viewers.values()) consumers += v.consumers.filter((c) => !c.closed).length;
    }
    return { workers: this.pool.size, streams: this.streams.size, viewers, producers, consumers };
  }

  /** Bits per second received from publishers and sent to viewers, summed over live transports. */
  async bitrates(): Promise<{ inBps: number; outBps: number }> {
    let inBps = 0;
    let outBps = 0;
    const transports: types.WebRtcTransport[] = [];
    for (const s of this.streams.values()) {
      if (s.ingest) transports.push(s.ingest.transport);
      for (const v of s.viewers.values()) transports.push(v.transport);
    }
    await Promise.all(
      transports.map(async (t) => {
        const [st] = await t.getStats().catch(() => []);
        inBps += st?.recvBitrate ?? 0;
        outBps += st?.sendBitrate ?? 0;
      }),
    );
    return { inBps, outBps };
  }

  /** A snapshot of one broadcast's media objects (codecs, simulcast layers) for stats and tests. */
  inspect(streamId: string) {
    const stream = this.streams.get(streamId);
    if (!stream) return undefined;
    return {
      live: stream.live,
      producers: stream.producers().map((p) => ({
        kind: p.kind,
        type: p.type,
        mimeType: p.rtpParameters.codecs[0]?.mimeType,
        layers: p.rtpParameters.encodings?.map((e) => e.rid ?? e.ssrc) ?? [],
      })),
      viewers: [...stream.viewers.values()].map((v) => ({
        sessionId: v.id,
        consumers: v.consumers.map((c) => ({
          kind: c.kind,
          type: c.type,
          paused: c.paused,
          currentLayers: c.currentLayers,
          preferredLayers: c.preferredLayers,
        })),
      })),
    };
  }

  /** What the mediasoup workers hold, for leak checks and /metrics. */
  async workerDumps() {
    return Promise.all(this.pool.all.map((w) => w.dump()));
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const s of [...this.streams.values()]) s.end('node_shutdown');
    await this.pool.close();
    this.removeAllListeners();
  }

  private adopt(stream: LiveStream): void {
    this.streams.set(stream.id, stream);
    stream.on('live', () => this.emit('live', stream.id));
    stream.on('viewers', (n) => this.emit('viewers', stream.id, n));
    stream.once('ended', (reason) => {
      if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
      this.emit('offline', stream.id, reason);
    });
  }

  private session(role: SessionRole, streamId: string, sessionId: string): RtcSession {
    const stream = this.streams.get(streamId);
    const session = role === 'ingest' ? (stream?.ingest?.id === sessionId ? stream.ingest : undefined) : stream?.viewers.get(sessionId);
    if (!session || session.closed) throw new AppError(404, 'session_not_found', 'no such session (it may have ended)');
    return session;
  }

  private assertOpen(): void {
    if (this.closing) throw new AppError(503, 'node_shutting_down', 'this node is shutting down', { 'Retry-After': '5' });
  }
}
