// The node's media API used by the WHIP/WHEP edge and the relay cascade: start a broadcast, add a
// viewer, patch or end a session, relay a stream to another node or from one. Keeps one LiveStream
// per stream id (origin: fed by a publisher here; relay: fed by an upstream node) and reports
// live/offline/viewer changes as events. Authorisation (stream keys) and choosing which node relays
// from which are the callers' jobs, never done here.
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from '@onair/platform';
import { MediaError } from './media-error.js';
import { IngestSession } from './ingest-session.js';
import type { EncodedLadder } from './ingest/encoded-ladder.js';
import { RtpIngestSession } from './rtp-ingest-session.js';
import { LiveStream, type PublisherSession, type StreamRole } from './live-stream.js';
import { DownstreamLink, UpstreamLink, type LinkSettings, type PipeEndpoint, type RelayedProducer } from './relay-link.js';
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
  /** Viewers per router before the stream is piped to a router on another worker. */
  routerMaxViewers?: number;
  /** Viewers this node takes in all; play() answers 503 node_full beyond it. */
  maxViewers?: number;
  /**
   * WHEP sessions still connecting per client address (0 or unset: no limit): a stranger's cheap
   * POSTs that never connect would otherwise hold ports and viewer slots for the connect timeout.
   */
  pendingViewersPerAddress?: number;
  /** A relay whose upstream sends no RTP for this long ends (the upstream is gone). */
  upstreamSilenceMs?: number;
}

export interface SessionAnswer {
  sessionId: string;
  sdp: string;
  etag: string;
}

export type SessionRole = 'ingest' | 'viewer';

export interface MediaPlaneEvents {
  live: [streamId: string, role: StreamRole];
  offline: [streamId: string, reason: string, role: StreamRole];
  viewers: [streamId: string, count: number];
}

/** How a relay's upstream is reached: given our end of the pipe, returns the far end and its producers. */
export type UpstreamNegotiation = (local: PipeEndpoint) => Promise<{ remote: PipeEndpoint; producers: RelayedProducer[] }>;

/** A WHEP session that has not connected ICE and DTLS within this is released (and never counted). */
export const VIEWER_CONNECT_TIMEOUT_MS = 10_000;

export class MediaPlane extends EventEmitter<MediaPlaneEvents> {
  private readonly streams = new Map<string, LiveStream>();
  /** Stream ids whose ingest is being set up: reserves the id against a racing second publisher. */
  private readonly starting = new Set<string>();
  /** WHEP sessions still connecting, per client address (see pendingViewersPerAddress). */
  private readonly pendingByAddress = new Map<string, number>();
  private closing = false;

  private constructor(
    readonly pool: WorkerPool,
    private readonly opts: MediaPlaneOptions,
    private readonly log: Logger,
  ) {
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

  /** One id per connected WebRTC viewer of the stream here (its client id, else its session): a PlayerSource. */
  *players(streamId: string): Iterable<string> {
    const stream = this.streams.get(streamId);
    if (!stream) return;
    for (const v of stream.viewers.values()) if (v.connected) yield v.playerId;
  }

  /** Streams with WebRTC viewers here. */
  *playerStreams(): Iterable<string> {
    for (const s of this.streams.values()) if (s.viewers.size > 0) yield s.id;
  }

  /** Whether this node holds the stream as its origin or as a relay (undefined: not here). */
  roleOf(streamId: string): StreamRole | undefined {
    return this.streams.get(streamId)?.role;
  }

  /** Ids of the streams this node holds live (as origin or relay). */
  liveStreamIds(): string[] {
    return [...this.streams.values()].filter((s) => s.live).map((s) => s.id);
  }

  /** Relay links this node serves for a stream (its downstream fan-out). */
  downstreamCount(streamId: string): number {
    return this.streams.get(streamId)?.downstream.size ?? 0;
  }

  /** Viewers on this node against its capacity, for placement. */
  load(): { viewers: number; maxViewers: number } {
    let viewers = 0;
    for (const s of this.streams.values()) viewers += s.viewers.size;
    return { viewers, maxViewers: this.maxViewers };
  }

  isFull(): boolean {
    const { viewers, maxViewers } = this.load();
    return viewers >= maxViewers;
  }

  private get maxViewers(): number {
    return this.opts.maxViewers ?? Number.POSITIVE_INFINITY;
  }

  /** WHIP: starts a broadcast. 409 when the stream already has a publisher session. */
  async publish(streamId: string, offerSdp: string): Promise<SessionAnswer> {
    this.assertOpen();
    const offer = parseOffer(offerSdp);
    const session = await this.startBroadcast(streamId, (router) => IngestSession.open(router, offer, this.opts));
    this.log.info({ streamId, sessionId: session.id, producers: session.producers.map((p) => p.kind) }, 'publisher connected');
    return { sessionId: session.id, sdp: session.answer, etag: session.etag };
  }

  /**
   * RTMP/SRT: starts a broadcast fed by a local encoder over plain RTP (the caller has checked the
   * stream key and runs the encoder). 409 like WHIP when the stream already has a publisher. The
   * session's `video`/`audio` say where the encoder sends; closing the session ends the broadcast.
   */
  async publishRtp(streamId: string): Promise<RtpIngestSession> {
    this.assertOpen();
    // The encoder runs on this machine: its RTP stays on loopback whatever RTC_LISTEN_IP says.
    const session = await this.startBroadcast(streamId, (router) =>
      RtpIngestSession.open(router, { listenIp: '127.0.0.1', publisherTimeoutMs: this.opts.publisherTimeoutMs }),
    );
    this.log.info({ streamId, sessionId: session.id }, 'rtp publisher attached');
    return session;
  }

  /**
   * One path for every ingest protocol: refuses a second publisher (409), puts the stream on the
   * least-loaded worker's new router, opens the protocol's session there and adopts the stream; a
   * failure on the way ends the half-built stream (which releases its router), exactly once.
   */
  private async startBroadcast<S extends PublisherSession>(streamId: string, open: (router: types.Router) => Promise<S>): Promise<S> {
    if (this.isBroadcasting(streamId)) {
      throw new MediaError('stream_already_live', 'this stream is already being published from another session; end it first', 5000);
    }
    this.starting.add(streamId);
    let stream: LiveStream | undefined;
    try {
      const worker = this.pool.leastLoaded();
      const router = await worker.createRouter({ mediaCodecs: routerMediaCodecs });
      stream = new LiveStream(streamId, 'origin', router, worker, this.pool, this.routerMaxViewers, this.log);
      const session = await open(router);
      stream.attachIngest(session);
      this.adopt(stream);
      return session;
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
   * `encodedLadder`: an RTMP/SRT source's renditions, already encoded by its contribution encoder
   * (the ladder remuxes them instead of encoding its own).
   */
  source(streamId: string): { router: types.Router; producers: types.Producer[]; encodedLadder?: EncodedLadder } | undefined {
    const stream = this.streams.get(streamId);
    if (!stream?.live) return undefined;
    const encoded =
      stream.ingest instanceof RtpIngestSession && stream.ingest.encodedLadder.active ? stream.ingest.encodedLadder : undefined;
    return { router: stream.router, producers: stream.producers(), ...(encoded ? { encodedLadder: encoded } : {}) };
  }

  /** WHEP: adds a viewer. 404 when nobody publishes; 409 while the publisher's media has not arrived. */
  async play(streamId: string, offerSdp: string, options: { clientId?: string; address?: string } = {}): Promise<SessionAnswer> {
    this.assertOpen();
    if (this.isFull()) throw new MediaError('node_full', 'this node serves as many viewers as it can; retry later or elsewhere', 5000);
    const address = options.address;
    const maxPending = this.opts.pendingViewersPerAddress ?? 0;
    if (address !== undefined && maxPending > 0 && (this.pendingByAddress.get(address) ?? 0) >= maxPending) {
      throw new MediaError('too_many_pending', `${maxPending} WebRTC sessions from this address are still connecting; retry shortly`, 2000);
    }
    const offer = parseOffer(offerSdp);
    const stream = this.streams.get(streamId);
    if (!stream) throw new MediaError('stream_offline', 'this stream is not live');
    if (!stream.live) throw new MediaError('stream_starting', 'the publisher is connecting; retry shortly', 1000);
    const placement = await stream.placeViewer();
    let session: ViewerSession;
    try {
      session = await ViewerSession.open(placement.router, stream.producers(), offer, {
        ...this.opts,
        connectTimeoutMs: this.opts.viewerConnectTimeoutMs ?? VIEWER_CONNECT_TIMEOUT_MS,
      });
    } catch (err) {
      placement.release();
      throw err;
    }
    session.clientId = options.clientId;
    if (address !== undefined && maxPending > 0) this.holdPending(address, session);
    stream.attachViewer(session, placement);
    return { sessionId: session.id, sdp: session.answer, etag: session.etag };
  }

  /** Counts a viewer session against its address until it connects or closes, whichever comes first. */
  private holdPending(address: string, session: ViewerSession): void {
    this.pendingByAddress.set(address, (this.pendingByAddress.get(address) ?? 0) + 1);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      session.off('connected', release);
      session.off('closed', release);
      const n = (this.pendingByAddress.get(address) ?? 1) - 1;
      if (n > 0) this.pendingByAddress.set(address, n);
      else this.pendingByAddress.delete(address);
    };
    session.once('connected', release);
    session.once('closed', release);
  }

  /**
   * Starts relaying a stream from another node: allocates our end of the pipe on a new router, lets
   * `negotiate` reach the upstream node, then re-creates its producers here. The stream must not be
   * on this node already (409).
   */
  async relay(streamId: string, negotiate: UpstreamNegotiation, settings: LinkSettings): Promise<void> {
    this.assertOpen();
    if (this.isBroadcasting(streamId)) throw new MediaError('stream_already_here', 'this node already holds this stream');
    this.starting.add(streamId);
    let stream: LiveStream | undefined;
    try {
      const worker = this.pool.leastLoaded();
      const router = await worker.createRouter({ mediaCodecs: routerMediaCodecs });
      stream = new LiveStream(streamId, 'relay', router, worker, this.pool, this.routerMaxViewers, this.log);
      const link = await UpstreamLink.create(router, settings, this.opts.upstreamSilenceMs ?? 3000);
      // Owned by the stream from here on: ending the stream (e.g. on a failed negotiation) closes it.
      stream.upstream = link;
      const { remote, producers } = await negotiate(link.local);
      await link.attach(remote, producers);
      this.adopt(stream);
      stream.attachUpstream(link);
      this.log.info(
        { streamId, linkId: link.id, upstream: `${remote.ip}:${remote.port}`, srtp: settings.enableSrtp },
        'relaying stream from upstream',
      );
    } catch (err) {
      stream?.end('setup_failed');
      throw err;
    } finally {
      this.starting.delete(streamId);
    }
  }

  /** Serves a relay link to a downstream node: its pipe end is `remote`; returns ours and the producers. */
  async openDownstream(
    streamId: string,
    remote: PipeEndpoint,
    settings: LinkSettings,
    onClosed: (reason: string) => void = () => {},
  ): Promise<{ linkId: string; local: PipeEndpoint; producers: RelayedProducer[] }> {
    this.assertOpen();
    const stream = this.streams.get(streamId);
    if (!stream?.live) throw new MediaError('stream_offline', 'this node does not hold this stream live');
    const { link, producers } = await DownstreamLink.open(stream.router, stream.producers(), remote, settings);
    stream.attachDownstream(link);
    link.once('closed', (reason) => {
      this.log.info({ streamId, linkId: link.id, reason }, 'relay link to downstream closed');
      onClosed(reason);
    });
    this.log.info(
      { streamId, linkId: link.id, downstream: `${remote.ip}:${remote.port}`, srtp: settings.enableSrtp },
      'relaying stream downstream',
    );
    return { linkId: link.id, local: link.local, producers };
  }

  /** Closes a downstream relay link (the downstream node released it or died). */
  closeDownstream(streamId: string, linkId: string, reason: string): boolean {
    const link = this.streams.get(streamId)?.downstream.get(linkId);
    link?.close(reason);
    return !!link;
  }

  private get routerMaxViewers(): number {
    return this.opts.routerMaxViewers ?? 250;
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
    let relays = 0;
    let downstreamLinks = 0;
    let routers = 0;
    for (const s of this.streams.values()) {
      viewers += s.viewers.size;
      if (s.role === 'relay') relays++;
      downstreamLinks += s.downstream.size;
      routers += s.routers().length;
      producers += s.producers().length;
      for (const v of s.viewers.values()) consumers += v.consumers.filter((c) => !c.closed).length;
    }
    return { workers: this.pool.size, streams: this.streams.size, relays, downstreamLinks, routers, viewers, producers, consumers };
  }

  /** Bits per second received from publishers and sent to viewers, summed over live transports. */
  async bitrates(): Promise<{ inBps: number; outBps: number }> {
    let inBps = 0;
    let outBps = 0;
    const transports: types.Transport[] = [];
    for (const s of this.streams.values()) {
      if (s.ingest instanceof IngestSession) transports.push(s.ingest.transport);
      else if (s.ingest) transports.push(...s.ingest.transports);
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
      role: stream.role,
      routers: stream.routers(),
      downstreamLinks: stream.downstream.size,
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
    stream.on('live', () => this.emit('live', stream.id, stream.role));
    stream.on('viewers', (n) => this.emit('viewers', stream.id, n));
    stream.once('ended', (reason) => {
      if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
      this.emit('offline', stream.id, reason, stream.role);
    });
  }

  private session(role: SessionRole, streamId: string, sessionId: string): RtcSession {
    const stream = this.streams.get(streamId);
    // An RTMP/SRT publisher has no WHIP session URL: only a WebRTC ingest answers PATCH and DELETE.
    const ingest = stream?.ingest instanceof IngestSession ? stream.ingest : undefined;
    const session = role === 'ingest' ? (ingest?.id === sessionId ? ingest : undefined) : stream?.viewers.get(sessionId);
    if (!session || session.closed) throw new MediaError('session_not_found', 'no such session (it may have ended)');
    return session;
  }

  private assertOpen(): void {
    if (this.closing) throw new MediaError('node_shutting_down', 'this node is shutting down', 5000);
  }
}
