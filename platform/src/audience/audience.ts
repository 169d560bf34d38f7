// The one definition of a viewer, and the only place viewers are counted: a viewer is a client
// playing the video — a connected WebRTC (WHEP) session or an HLS/DASH player session — counted once
// per client id (the SDK gives a watch page's player and chat socket one id, so a player that falls
// back from WebRTC to HLS is still one viewer). Chat-only sockets are not viewers, so neither is the
// streamer's dashboard. Each node counts its own players per stream and shares the figures every
// `intervalMs`; the directory, the channel's `viewers` frames, /metrics and the cascade read totals
// from here. Knows players only through the PlayerSource interface (media packages know nothing of it).
// Owns its timer and its bus subscriptions; close() ends them.
//
// How the figures travel. With `originOf` (the cascade's answer: which node is a stream's origin),
// a node sends its counts of every stream of one origin in ONE message per interval, addressed to
// that origin (`nodeTopics.viewers`); the origin sums its streams and publishes each one's total
// when it changes (and every few intervals), which every other node watching the stream reads.
// So the bus carries about (nodes x origins they relay from) + changed totals per interval, not one
// per node and stream (at the seed's ~268 k holdings that was ~130 k messages/s, each delivered to
// every watcher of the stream). A stream whose origin a node does not know (no cascade, an HTTP player
// of a stream not relayed here) is shared per stream as before (`streamTopics.viewers`), and every
// watcher still reads that topic: nodes of the previous version keep being counted, and read by it.
import type { Bus, BusSubscription } from '../bus/bus.js';
import { MAX_VIEWER_BATCH, nodeTopics, streamTopics } from '../bus/topics.js';
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
  /** The node a stream's figures are summed on (its origin), when this node knows it. */
  originOf?: (streamId: string) => string | undefined;
}

type TotalListener = (total: number) => void;

/** An origin re-sends an unchanged total every this many intervals (a changed one at once). */
const TOTAL_REFRESH_INTERVALS = 5;

interface Share {
  count: number;
  atMs: number;
}

interface Watch {
  listeners: Set<TotalListener>;
  /** Other nodes' latest figures for the stream, shared per stream (nodes that do not know its origin). */
  shares: Map<string, Share>;
  /** The origin's latest total, when another node is the origin. */
  originTotal: { total: number; atMs: number } | undefined;
  /** On the origin: the total last published, and how many intervals ago. */
  sent: { total: number; age: number } | undefined;
  subs: BusSubscription[];
}

export class Audience {
  private readonly watches = new Map<string, Watch>();
  /** Streams this node last shared a non-zero figure for: they get one final 0 when it drops. */
  private readonly shared = new Set<string>();
  /** Figures other nodes sent this node as the origin, by stream then node. */
  private readonly batched = new Map<string, Map<string, Share>>();
  private readonly inbox: BusSubscription | undefined;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly o: AudienceOptions) {
    this.timer = setInterval(() => this.tick(), o.intervalMs);
    this.timer.unref();
    if (o.originOf)
      this.inbox = nodeTopics.viewers.subscribe(o.bus, o.nodeId, (batch) => this.onBatch(batch.node, batch.counts), { log: o.log });
  }

  /** This node's viewers of the stream: distinct players over every source. */
  local(streamId: string): number {
    const ids = new Set<string>();
    for (const source of this.o.sources) for (const id of source.players(streamId)) ids.add(id);
    return ids.size;
  }

  /**
   * The stream's viewers over all nodes. On its origin (or without a recent total from it): this
   * node's now plus every other node's latest figure, whichever way it came (per node, the newer).
   * Elsewhere: the origin's latest total, which counts this node's figure of the last interval.
   */
  total(streamId: string): number {
    const watch = this.watches.get(streamId);
    const staleBefore = Date.now() - this.o.intervalMs * 3;
    const fromOrigin = watch?.originTotal;
    const totalStaleBefore = Date.now() - this.o.intervalMs * (TOTAL_REFRESH_INTERVALS + 1);
    if (fromOrigin && fromOrigin.atMs >= totalStaleBefore && this.o.originOf?.(streamId) !== this.o.nodeId) return fromOrigin.total;
    const latest = new Map<string, Share>();
    for (const shares of [watch?.shares, this.batched.get(streamId)]) {
      if (!shares) continue;
      for (const [node, share] of shares) {
        if (share.atMs < staleBefore) shares.delete(node);
        else if ((latest.get(node)?.atMs ?? -1) < share.atMs) latest.set(node, share);
      }
    }
    let total = this.local(streamId);
    for (const share of latest.values()) total += share.count;
    return total;
  }

  private onBatch(node: string, counts: Record<string, number>): void {
    if (node === this.o.nodeId) return;
    const atMs = Date.now();
    for (const [streamId, count] of Object.entries(counts)) {
      let shares = this.batched.get(streamId);
      if (!shares) this.batched.set(streamId, (shares = new Map()));
      shares.set(node, { count, atMs });
    }
  }

  /**
   * Hears the stream's total every interval (while the stream's channel is open here, or while this
   * node is its origin and writes it to the directory). Returns the unwatch function.
   */
  watch(streamId: string, listener: TotalListener): () => void {
    let watch = this.watches.get(streamId);
    if (!watch) {
      const w: Watch = { listeners: new Set(), shares: new Map(), originTotal: undefined, sent: undefined, subs: [] };
      const log = this.o.log;
      w.subs.push(
        streamTopics.viewers.subscribe(
          this.o.bus,
          streamId,
          (v) => {
            if (v.node !== this.o.nodeId) w.shares.set(v.node, { count: v.count, atMs: Date.now() });
          },
          { log },
        ),
        streamTopics.viewerTotal.subscribe(
          this.o.bus,
          streamId,
          (v) => {
            if (v.node !== this.o.nodeId) w.originTotal = { total: v.total, atMs: Date.now() };
          },
          { log },
        ),
      );
      watch = w;
      this.watches.set(streamId, watch);
    }
    watch.listeners.add(listener);
    const w = watch;
    return () => {
      w.listeners.delete(listener);
      if (w.listeners.size === 0 && this.watches.get(streamId) === w) {
        for (const sub of w.subs) sub.unsubscribe();
        this.watches.delete(streamId);
      }
    };
  }

  /** Shares this node's figures and tells every watcher its stream's total. */
  private tick(): void {
    if (this.closed) return;
    const streams = new Set<string>(this.shared);
    for (const source of this.o.sources) for (const id of source.streams()) streams.add(id);
    /** Counts for streams whose origin is another node, by that origin. */
    const batches = new Map<string, Record<string, number>[]>();
    for (const id of streams) {
      const count = this.local(id);
      if (count === 0 && !this.shared.has(id)) continue;
      if (count > 0) this.shared.add(id);
      else this.shared.delete(id);
      const origin = this.o.originOf?.(id);
      if (origin === this.o.nodeId) continue; // summed here, with the figures sent to this node
      if (origin === undefined) {
        this.share(() => streamTopics.viewers.publish(this.o.bus, id, { node: this.o.nodeId, count }), id);
        continue;
      }
      const list = batches.get(origin) ?? [];
      if (!list.length || Object.keys(list.at(-1)!).length >= MAX_VIEWER_BATCH) list.push({});
      list.at(-1)![id] = count;
      batches.set(origin, list);
    }
    for (const [origin, list] of batches)
      for (const counts of list) this.share(() => nodeTopics.viewers.publish(this.o.bus, origin, { node: this.o.nodeId, counts }), origin);
    const staleBefore = Date.now() - this.o.intervalMs * 3;
    for (const [streamId, shares] of this.batched) {
      // Figures of streams nobody watches here (ended, or not yet watched) are dropped once stale.
      if (this.watches.has(streamId)) continue;
      for (const [node, share] of shares) if (share.atMs < staleBefore) shares.delete(node);
      if (!shares.size) this.batched.delete(streamId);
    }
    for (const [id, watch] of this.watches) {
      const total = this.total(id);
      // The origin tells every other watcher of the stream its total: when it changed, else now and then.
      if (this.o.originOf?.(id) === this.o.nodeId) {
        if (watch.sent?.total !== total || ++watch.sent.age >= TOTAL_REFRESH_INTERVALS) {
          watch.sent = { total, age: 0 };
          this.share(() => streamTopics.viewerTotal.publish(this.o.bus, id, { node: this.o.nodeId, total }), id);
        }
      }
      for (const listener of watch.listeners) {
        try {
          listener(total);
        } catch (err) {
          this.o.log.error({ err, streamId: id }, 'a viewer-count listener failed');
        }
      }
    }
  }

  /** A publish that failed (bus closed, subject refused) is logged; the next interval tries again. */
  private share(publish: () => void, key: string): void {
    try {
      publish();
    } catch (err) {
      this.o.log.warn({ err, key }, 'sharing viewer counts failed');
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.inbox?.unsubscribe();
    for (const w of this.watches.values()) for (const sub of w.subs) sub.unsubscribe();
    this.watches.clear();
  }
}
