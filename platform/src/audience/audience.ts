// The one definition of a viewer, and the only place viewers are counted: a viewer is a client
// playing the video — a connected WebRTC (WHEP) session or an HLS/DASH player session — counted once
// per client id (the SDK gives a watch page's player and chat socket one id, so a player that falls
// back from WebRTC to HLS is still one viewer). Chat-only sockets are not viewers, so neither is the
// streamer's dashboard. Each node counts its own players per stream, shares the figure on the bus
// (`streamTopics.viewers`, every `intervalMs`) and sums the latest figure of every node; the
// directory, the channel's `viewers` frames, /metrics and the cascade read totals from here.
// Knows players only through the PlayerSource interface (media packages know nothing of it).
// Owns its timer and its bus subscriptions; close() ends them.
import type { Bus, BusSubscription } from '../bus/bus.js';
import { streamTopics } from '../bus/topics.js';
import type { Logger } from '../log.js';

/** A player's client id as the SDK makes it (sent as `?client=` on WHEP and DASH, `X-OnAir-Client` on HLS). */
export const CLIENT_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** Players of this node, by stream (the media plane's WHEP sessions, the HTTP players). */
export interface PlayerSource {
  /** One id per player of the stream here: its client id, or its own session id when it sent none. */
  players(streamId: string): Iterable<string>;
  /** Streams with players here. */
  streams(): Iterable<string>;
}

export interface AudienceOptions {
  /** This node's id on the bus (letters, digits, `_`, `-`). */
  nodeId: string;
  bus: Bus;
  log: Logger;
  sources: PlayerSource[];
  /** How often each node shares its counts and watchers hear the totals. */
  intervalMs: number;
}

type TotalListener = (total: number) => void;

interface Watch {
  listeners: Set<TotalListener>;
  /** Other nodes' latest figures for the stream. */
  shares: Map<string, { count: number; atMs: number }>;
  sub: BusSubscription;
}

export class Audience {
  private readonly watches = new Map<string, Watch>();
  /** Streams this node last shared a non-zero figure for: they get one final 0 when it drops. */
  private readonly shared = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly o: AudienceOptions) {
    this.timer = setInterval(() => this.tick(), o.intervalMs);
    this.timer.unref();
  }

  /** This node's viewers of the stream: distinct players over every source. */
  local(streamId: string): number {
    const ids = new Set<string>();
    for (const source of this.o.sources) for (const id of source.players(streamId)) ids.add(id);
    return ids.size;
  }

  /** The stream's viewers over all nodes: this node's now plus every other node's latest figure. */
  total(streamId: string): number {
    let total = this.local(streamId);
    const watch = this.watches.get(streamId);
    if (!watch) return total;
    const staleBefore = Date.now() - this.o.intervalMs * 3;
    for (const [node, share] of watch.shares) {
      if (share.atMs < staleBefore) watch.shares.delete(node);
      else total += share.count;
    }
    return total;
  }

  /**
   * Hears the stream's total every interval (while the stream's channel is open here, or while this
   * node is its origin and writes it to the directory). Returns the unwatch function.
   */
  watch(streamId: string, listener: TotalListener): () => void {
    let watch = this.watches.get(streamId);
    if (!watch) {
      const shares = new Map<string, { count: number; atMs: number }>();
      const sub = streamTopics.viewers.subscribe(
        this.o.bus,
        streamId,
        (v) => {
          if (v.node !== this.o.nodeId) shares.set(v.node, { count: v.count, atMs: Date.now() });
        },
        { log: this.o.log },
      );
      watch = { listeners: new Set(), shares, sub };
      this.watches.set(streamId, watch);
    }
    watch.listeners.add(listener);
    const w = watch;
    return () => {
      w.listeners.delete(listener);
      if (w.listeners.size === 0 && this.watches.get(streamId) === w) {
        w.sub.unsubscribe();
        this.watches.delete(streamId);
      }
    };
  }

  /** Shares this node's figures and tells every watcher its stream's total. */
  private tick(): void {
    if (this.closed) return;
    const streams = new Set<string>(this.shared);
    for (const source of this.o.sources) for (const id of source.streams()) streams.add(id);
    for (const id of streams) {
      const count = this.local(id);
      if (count === 0 && !this.shared.has(id)) continue;
      if (count > 0) this.shared.add(id);
      else this.shared.delete(id);
      try {
        streamTopics.viewers.publish(this.o.bus, id, { node: this.o.nodeId, count });
      } catch (err) {
        this.o.log.warn({ err, streamId: id }, 'sharing a viewer count failed');
      }
    }
    for (const [id, watch] of this.watches) {
      const total = this.total(id);
      for (const listener of watch.listeners) {
        try {
          listener(total);
        } catch (err) {
          this.o.log.error({ err, streamId: id }, 'a viewer-count listener failed');
        }
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const w of this.watches.values()) w.sub.unsubscribe();
    this.watches.clear();
  }
}
