// One simulated OnAir node of the scale simulation: the project's real control-plane objects (the
// cascade's NodeRegistry and Cascade, the Audience that shares viewer counts on the bus, and the
// directory feed's watch of its origin streams) over a model of the media plane. The model keeps
// the MediaPlane's contract as the cascade uses it (live/offline events, relay negotiation through
// the cascade's NATS request/reply, downstream links, node capacity) and counts viewers instead of
// forwarding RTP. Never touches mediasoup, sockets for media, or HTTP.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import {
  Audience,
  BusRequestError,
  type Bus,
  type BusEvents,
  type BusHandler,
  type BusResponder,
  type BusStatus,
  type BusSubscription,
  type Logger,
  type RequestOptions,
  type SubscribeOptions,
} from '@onair/platform';
import { Cascade, NodeRegistry, type RegistryReadPath } from '@onair/origin-cascade';
import {
  MediaError,
  type LinkSettings,
  type MediaPlaneEvents,
  type PipeEndpoint,
  type RelayedProducer,
  type StreamRole,
  type UpstreamNegotiation,
} from '@onair/sfu';

interface ModelStream {
  role: StreamRole;
  live: boolean;
  viewers: number;
  downstream: Map<string, (reason: string) => void>;
}

/**
 * The media plane as a model: a node's capacity in viewers and the streams it holds. Viewers that
 * lose their stream here (a relay ended, the node crashed) are reported to `onViewersDropped` so the
 * simulated clients can re-POST, as the SDK's playWithReconnect does.
 */
export class ModelMedia extends EventEmitter<MediaPlaneEvents> {
  private readonly streams = new Map<string, ModelStream>();
  private readonly starting = new Set<string>();
  private total = 0;
  onViewersDropped: (streamId: string, count: number, reason: string) => void = () => {};

  constructor(readonly maxViewers: number) {
    super();
  }

  isBroadcasting(streamId: string): boolean {
    return this.starting.has(streamId) || this.streams.has(streamId);
  }
  isLive(streamId: string): boolean {
    return this.streams.get(streamId)?.live ?? false;
  }
  roleOf(streamId: string): StreamRole | undefined {
    return this.streams.get(streamId)?.role;
  }
  liveStreamIds(): string[] {
    return [...this.streams.entries()].filter(([, s]) => s.live).map(([id]) => id);
  }
  viewerCount(streamId: string): number {
    return this.streams.get(streamId)?.viewers ?? 0;
  }
  downstreamCount(streamId: string): number {
    return this.streams.get(streamId)?.downstream.size ?? 0;
  }
  load(): { viewers: number; maxViewers: number } {
    return { viewers: this.total, maxViewers: this.maxViewers };
  }
  isFull(): boolean {
    return this.total >= this.maxViewers;
  }
  /** Viewer counts of every stream here. */
  viewersByStream(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [id, s] of this.streams) if (s.viewers > 0) out.set(id, s.viewers);
    return out;
  }

  /** WHIP in the model: the stream goes live here as its origin. */
  publish(streamId: string): void {
    if (this.isBroadcasting(streamId)) throw new MediaError('stream_already_live', 'already live');
    this.streams.set(streamId, { role: 'origin', live: true, viewers: 0, downstream: new Map() });
    this.emit('live', streamId, 'origin');
  }

  /** WHEP in the model: one more viewer (what MediaPlane.play checks, without the session). */
  addViewer(streamId: string): void {
    if (this.isFull()) throw new MediaError('node_full', 'this node is full', 5000);
    const s = this.streams.get(streamId);
    if (!s) throw new MediaError('stream_offline', 'not live here');
    s.viewers++;
    this.total++;
  }

  removeViewer(streamId: string): boolean {
    const s = this.streams.get(streamId);
    if (!s || s.viewers === 0) return false;
    s.viewers--;
    this.total--;
    return true;
  }

  async relay(streamId: string, negotiate: UpstreamNegotiation, _settings: LinkSettings): Promise<void> {
    if (this.isBroadcasting(streamId)) throw new MediaError('stream_already_here', 'this node already holds this stream');
    this.starting.add(streamId);
    try {
      await negotiate({ ip: '127.0.0.1', port: 40_000 + Math.floor(Math.random() * 10_000) });
    } finally {
      this.starting.delete(streamId);
    }
    this.streams.set(streamId, { role: 'relay', live: true, viewers: 0, downstream: new Map() });
    this.emit('live', streamId, 'relay');
  }

  async openDownstream(
    streamId: string,
    _remote: PipeEndpoint,
    _settings: LinkSettings,
    onClosed: (reason: string) => void = () => {},
  ): Promise<{ linkId: string; local: PipeEndpoint; producers: RelayedProducer[] }> {
    const s = this.streams.get(streamId);
    if (!s?.live) throw new MediaError('stream_offline', 'not live here');
    const linkId = randomBytes(6).toString('hex');
    s.downstream.set(linkId, onClosed);
    return {
      linkId,
      local: { ip: '127.0.0.1', port: 40_000 + Math.floor(Math.random() * 10_000) },
      producers: [{ id: 'video', kind: 'video', rtpParameters: { codecs: [] } }],
    };
  }

  closeDownstream(streamId: string, linkId: string, reason: string): boolean {
    const link = this.streams.get(streamId)?.downstream;
    const onClosed = link?.get(linkId);
    if (!onClosed) return false;
    link!.delete(linkId);
    onClosed(reason);
    return true;
  }

  endStream(streamId: string, reason: string): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    this.streams.delete(streamId);
    this.total -= s.viewers;
    // Downstream links end as the real LiveStream ends them: the origin's end is the stream's end.
    const linkReason = s.role === 'origin' ? 'stream_ended' : 'upstream_lost';
    for (const [linkId, onClosed] of [...s.downstream]) {
      s.downstream.delete(linkId);
      onClosed(linkReason);
    }
    if (s.viewers > 0) this.onViewersDropped(streamId, s.viewers, reason);
    this.emit('offline', streamId, reason, s.role);
  }

  /** The node is gone (crash): everything it held vanishes without a word to anyone. */
  crash(): Map<string, number> {
    const held = this.viewersByStream();
    this.streams.clear();
    this.total = 0;
    this.removeAllListeners();
    return held;
  }
}

/**
 * A node's own view of the shared bus connection, so a crash can take exactly its subscriptions
 * away and silence it (a crashed node answers nothing and publishes nothing).
 */
class NodeBus extends EventEmitter<BusEvents> implements Bus {
  readonly kind = 'nats' as const;
  private readonly subs = new Set<BusSubscription>();
  private cut = false;

  constructor(private readonly shared: Bus) {
    super();
  }
  get status(): BusStatus {
    return this.cut ? 'closed' : this.shared.status;
  }
  publish(subject: string, data: Uint8Array): void {
    if (!this.cut) this.shared.publish(subject, data);
  }
  subscribe(subject: string, handler: BusHandler, options?: SubscribeOptions): BusSubscription {
    return this.track(this.shared.subscribe(subject, handler, options));
  }
  request(subject: string, data: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    if (this.cut) return Promise.reject(new BusRequestError('disconnected', 'node crashed'));
    return this.shared.request(subject, data, options);
  }
  serve(subject: string, responder: BusResponder, options?: SubscribeOptions): BusSubscription {
    return this.track(this.shared.serve(subject, responder, options));
  }
  flush(): Promise<void> {
    return this.cut ? Promise.resolve() : this.shared.flush();
  }
  async close(): Promise<void> {
    this.crash();
  }
  crash(): void {
    this.cut = true;
    for (const s of this.subs) s.unsubscribe();
    this.subs.clear();
  }
  private track(sub: BusSubscription): BusSubscription {
    if (this.cut) {
      sub.unsubscribe();
      return sub;
    }
    this.subs.add(sub);
    return {
      unsubscribe: () => {
        if (this.subs.delete(sub)) sub.unsubscribe();
      },
    };
  }
}

export interface SimNodeSpec {
  nodeId: string;
  region: string;
  peerRegions: string[];
  servesViewers: boolean;
  maxViewers: number;
}

export interface SimNodeSettings {
  prefix: string;
  readPath: RegistryReadPath;
  heartbeatMs: number;
  ttlMs: number;
  maxDownstream: number;
  audienceIntervalMs: number;
  /**
   * This round's fixes (on) or the code before them (off, for the before/after): refused pulls follow
   * the refusing node's downstream, upstreams' beats are watched between heartbeats.
   */
  fixes: boolean;
}

/** A directory write as the directory feed makes it on the origin (streams.setViewerCount). */
export type DirectoryWrite = (streamId: string, viewers: number) => void;

export class SimNode {
  readonly media: ModelMedia;
  readonly cascade: Cascade;
  readonly audience: Audience;
  private readonly bus: NodeBus;
  private readonly unwatch = new Map<string, () => void>();
  crashed = false;
  /** Streams whose origin the cascade declared lost on this node (onOriginLost). */
  originsLost = 0;

  constructor(
    readonly spec: SimNodeSpec,
    s: SimNodeSettings,
    shared: { redis: Redis; bus: Bus; log: Logger },
    writeDirectory: DirectoryWrite,
  ) {
    this.media = new ModelMedia(spec.maxViewers);
    this.bus = new NodeBus(shared.bus);
    const registry = NodeRegistry.over(shared.redis, s.prefix, s.ttlMs, { readPath: s.readPath, viewMaxAgeMs: s.heartbeatMs });
    // A crashed node's registry calls fail, as its connection would be gone (no graceful leave).
    const node = this;
    const guarded = new Proxy(registry, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) =>
          node.crashed ? Promise.reject(new Error('node crashed')) : (value as (...a: unknown[]) => unknown).apply(target, args);
      },
    });
    this.cascade = new Cascade(
      {
        nodeId: spec.nodeId,
        region: spec.region,
        peerRegions: spec.peerRegions,
        listenIp: '127.0.0.1',
        announcedAddress: undefined,
        srtp: 'off',
        maxDownstream: s.maxDownstream,
        heartbeatMs: s.heartbeatMs,
        servesViewers: spec.servesViewers,
        relayIdleMs: 30_000,
        relayRequestTimeoutMs: 5000,
        relaySetup: s.fixes ? 'join' : 'retry',
        upstreamCheckMs: s.fixes ? undefined : 0,
      },
      {
        media: this.media,
        bus: this.bus,
        registry: guarded,
        log: shared.log,
        onOriginLost: () => {
          this.originsLost++;
        },
      },
    );
    const media = this.media;
    this.audience = new Audience({
      nodeId: spec.nodeId,
      bus: this.bus,
      log: shared.log,
      intervalMs: s.audienceIntervalMs,
      // With the fixes, counts go to each stream's origin in one batch per origin (before: per stream).
      originOf: s.fixes ? (id) => this.cascade.originOf(id) : undefined,
      sources: [
        {
          *players(streamId: string) {
            const n = media.viewerCount(streamId);
            for (let i = 0; i < n; i++) yield `v${i}`;
          },
          streams: () => media.viewersByStream().keys(),
        },
      ],
    });
    // The directory feed (signaling/src/directory-feed.ts) on the origin: the Audience's total,
    // written when it changes.
    media.on('live', (id, role) => {
      if (role === 'relay' || this.unwatch.has(id)) return;
      let written = -1;
      this.unwatch.set(
        id,
        this.audience.watch(id, (total) => {
          if (total === written) return;
          written = total;
          writeDirectory(id, total);
        }),
      );
    });
    media.on('offline', (id, _reason, role) => {
      if (role === 'relay') return;
      this.unwatch.get(id)?.();
      this.unwatch.delete(id);
    });
  }

  start(): Promise<void> {
    return this.cascade.start(`http://${this.spec.nodeId}.sim`);
  }

  /** Kills the node without leaving the registry: its record expires after the TTL. */
  async crash(): Promise<Map<string, number>> {
    this.crashed = true;
    this.bus.crash();
    this.audience.close();
    for (const stop of this.unwatch.values()) stop();
    this.unwatch.clear();
    const held = this.media.crash();
    await this.cascade.close();
    return held;
  }

  async close(): Promise<void> {
    if (this.crashed) return;
    this.audience.close();
    await this.cascade.close();
  }
}
