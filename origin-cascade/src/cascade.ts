// This node's part in the origin -> edge cascade. It keeps the node's record in the registry alive
// (heartbeats with load and region) and the streams it holds listed; answers other nodes' relay
// requests over NATS by opening pipe links; pulls a stream from the best holder when a viewer asks
// for one this node does not have; tells a WHEP request whether to be served here or redirected; and
// handles failures: a relay whose upstream is lost re-attaches through another holder while the
// origin lives, links to dead downstream nodes are closed, and a stream whose origin died ends.
// It owns its bus subscriptions, its timer and its registry entries; the MediaPlane owns the media.
// Never touches HTTP: the WHEP route asks `placeViewer` and acts on the answer.
import type { EventEmitter } from 'node:events';
import { BusRequestError, type Bus, type BusSubscription, type Logger } from '@onair/platform';
import {
  isMediaError,
  MediaError,
  type LinkSettings,
  type MediaPlane,
  type MediaPlaneEvents,
  type PipeEndpoint,
  type RelayedProducer,
  type StreamRole,
} from '@onair/sfu';
import type { NodeRegistry, NodeRecord } from './node-registry.js';
import { chooseUpstream, chooseViewerNode, regionTier, type Locality } from './placement.js';
import {
  decode,
  encode,
  LinkNotice,
  nodeSubject,
  RelayAnswer,
  type RelayRefusal,
  type RelayReply,
  RelayRequest,
} from './relay-protocol.js';

export interface CascadeSettings extends Locality {
  nodeId: string;
  listenIp: string;
  announcedAddress: string | undefined;
  srtp: 'auto' | 'on' | 'off';
  maxDownstream: number;
  heartbeatMs: number;
  /** False on an origin-only node: viewers go to edges while one has room. */
  servesViewers: boolean;
  /** A relay with no viewers and no downstream links for this long is ended. */
  relayIdleMs: number;
  relayRequestTimeoutMs: number;
  /**
   * How relays are set up in a crowd. `join` (default): a pull refused at the link limit asks one of
   * the refusing node's downstream nodes at once (the tree below it), concurrent pulls spread at
   * random over equally good holders, and a viewer arriving while its node's relay is being set up
   * waits for it. `retry`, the original, kept for the scale simulation's before/after: a refused pull
   * waits 25-100 ms, re-reads the holders and takes the same first choice; a viewer arriving during
   * the set-up is answered 409 (its client retries).
   */
  relaySetup?: 'join' | 'retry';
  /**
   * How often the nodes this one relays from are checked for a heartbeat that stopped (default a
   * quarter heartbeat; 0: only at the heartbeat, i.e. when an upstream's record has expired).
   */
  upstreamCheckMs?: number;
  /** An upstream whose heartbeat has not advanced for this long is dead (default 2.5 heartbeats). */
  upstreamSuspectMs?: number;
}

/** The upstream refused at its link limit; `downstream` are the nodes it relays the stream to. */
class RelayRefused extends Error {
  constructor(
    readonly nodeId: string,
    readonly downstream: string[],
  ) {
    super(`node ${nodeId} serves its limit of relay links for this stream`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What the cascade uses of the media plane. The real one is sfu's MediaPlane; the scale simulation
 * (bench/src/scale-sim-node.ts) passes a model with the same contract and no RTP.
 */
export type CascadeMedia = Pick<EventEmitter<MediaPlaneEvents>, 'on' | 'off'> &
  Pick<
    MediaPlane,
    | 'isFull'
    | 'isBroadcasting'
    | 'isLive'
    | 'roleOf'
    | 'liveStreamIds'
    | 'viewerCount'
    | 'downstreamCount'
    | 'load'
    | 'relay'
    | 'openDownstream'
    | 'closeDownstream'
    | 'endStream'
  >;

export interface CascadeDeps {
  media: CascadeMedia;
  bus: Bus;
  registry: NodeRegistry;
  log: Logger;
  /** A stream's origin node died without ending it: the directory should show it offline. */
  onOriginLost: (streamId: string) => void;
}

export type ViewerPlacement = { serve: true } | { redirect: string; nodeId: string };

/** What this node relays from whom: kept to release the link and to re-attach when it breaks. */
interface UpstreamState {
  nodeId: string;
  linkId: string;
  path: string[];
}

export class Cascade {
  private url = '';
  private timer: NodeJS.Timeout | undefined;
  private upstreamTimer: NodeJS.Timeout | undefined;
  private checkingUpstreams = false;
  /** Nodes seen to stop their heartbeat, and when: no pull picks them until their record is gone. */
  private readonly stopped = new Map<string, number>();
  /** Relay links being opened, by stream: the requesting nodes, counted against the limit before they exist. */
  private readonly opening = new Map<string, Set<string>>();
  private readonly subs: BusSubscription[] = [];
  private readonly upstreams = new Map<string, UpstreamState>();
  /** Links this node serves: link id -> the stream and the downstream node. */
  private readonly served = new Map<string, { streamId: string; nodeId: string }>();
  private readonly pulls = new Map<string, Promise<void>>();
  private readonly idleSince = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly s: CascadeSettings,
    private readonly deps: CascadeDeps,
  ) {}

  private get joins(): boolean {
    return (this.s.relaySetup ?? 'join') === 'join';
  }

  get nodeId(): string {
    return this.s.nodeId;
  }

  /** Joins the cascade once the node's URL is known: subscriptions, first heartbeat, timer. */
  async start(url: string): Promise<void> {
    this.url = url;
    const { bus, media, log } = this.deps;
    this.subs.push(bus.serve(nodeSubject(this.s.nodeId, 'relay'), (data) => this.answerRelay(data)));
    this.subs.push(bus.subscribe(nodeSubject(this.s.nodeId, 'release'), (data) => this.onRelease(data)));
    this.subs.push(bus.subscribe(nodeSubject(this.s.nodeId, 'unlinked'), (data) => this.onUnlinked(data)));
    media.on('live', this.onLive);
    media.on('offline', this.onOffline);
    await bus.flush();
    // A previous run under this node id that died left its origin streams behind: none is live here now.
    await this.endOrphaned(this.s.nodeId, await this.deps.registry.takeOrigins(this.s.nodeId), await this.deps.registry.liveNodes()).catch(
      (err) => log.warn({ err }, 'could not read the streams a previous run left'),
    );
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.s.heartbeatMs);
    const checkMs = this.s.upstreamCheckMs ?? this.s.heartbeatMs / 4;
    if (checkMs > 0) this.upstreamTimer = setInterval(() => void this.checkUpstreams(), checkMs);
    log.info({ nodeId: this.s.nodeId, region: this.s.region, peerRegions: this.s.peerRegions }, 'joined the cascade');
  }

  /**
   * Where a WHEP viewer of `streamId` should go: served here (after relaying the stream here if
   * needed) or redirected to a nearer or less loaded node. 503 when no node has room, 404 when the
   * stream is live nowhere.
   */
  async placeViewer(streamId: string): Promise<ViewerPlacement> {
    const { media } = this.deps;
    const full = media.isFull();
    if (full || !this.s.servesViewers) {
      // A view up to a heartbeat old (indexed registry): a flash crowd on full nodes must not read the
      // whole table and the stream's hash per viewer.
      const nodes = await this.deps.registry.placementNodes();
      const holders = await this.deps.registry.placementHolders(streamId, nodes);
      const other = chooseViewerNode(nodes.values(), holders, this.s.nodeId, this.s);
      if (other) return { redirect: `${other.url}/whep/${encodeURIComponent(streamId)}`, nodeId: other.nodeId };
      if (full) throw new MediaError('node_full', 'every node that could serve this stream is full; retry shortly', 5000);
    }
    // A viewer arriving while this node sets its relay up waits for it, rather than being answered
    // 409 (the stream is starting) and coming back after its client's backoff.
    const pending = this.joins ? this.pulls.get(streamId) : undefined;
    if (pending) await pending;
    else if (media.isBroadcasting(streamId))
      return { serve: true }; // the MediaPlane answers 409 while it starts
    else await this.pull(streamId);
    return { serve: true };
  }

  /**
   * The node a stream held here comes from: this node for its origin streams, the first node of a
   * relay's path; undefined for a stream not held here. (The Audience sums viewer counts there.)
   */
  originOf(streamId: string): string | undefined {
    const role = this.deps.media.roleOf(streamId);
    if (role === 'origin') return this.s.nodeId;
    return role === 'relay' ? this.upstreams.get(streamId)?.path[0] : undefined;
  }

  /** The base URL of the node holding a stream's origin (the hook for HLS/DASH from any node). */
  async originUrl(streamId: string): Promise<string | undefined> {
    const nodes = await this.deps.registry.liveNodes();
    const origin = (await this.deps.registry.holders(streamId, nodes)).find((h) => h.role === 'origin');
    return origin ? nodes.get(origin.nodeId)?.url : undefined;
  }

  /** Relays `streamId` to this node from the best holder (one pull at a time per stream). */
  pull(streamId: string, avoid: ReadonlySet<string> = new Set()): Promise<void> {
    let p = this.pulls.get(streamId);
    if (!p) {
      p = this.pullOnce(streamId, avoid).finally(() => this.pulls.delete(streamId));
      this.pulls.set(streamId, p);
    }
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.upstreamTimer);
    this.deps.media.off('live', this.onLive);
    this.deps.media.off('offline', this.onOffline);
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
    for (const [streamId, up] of this.upstreams)
      this.notify(up.nodeId, 'release', { streamId, linkId: up.linkId, reason: 'node_shutdown' });
    await this.deps.bus.flush().catch(() => {});
    await this.deps.registry.leave(this.s.nodeId, [...this.upstreams.keys(), ...this.localStreams()]).catch(() => {});
  }

  // ---- pulling (downstream side) ------------------------------------------------------------------

  private async pullOnce(streamId: string, avoid: ReadonlySet<string>): Promise<void> {
    const { registry, media, log } = this.deps;
    const follow = this.joins;
    const tried = new Set([...avoid, ...this.recentlyStopped()]);
    /** The nodes the last refusing upstream relays the stream to: asked next, before the registry. */
    let pointed: string[] = [];
    // Following refusals walks down the tree one level per attempt; retrying reads the registry again.
    for (let attempt = 0; attempt < (follow ? 8 : 3); attempt++) {
      const next = pointed.filter((id) => !tried.has(id));
      pointed = [];
      // A failed attempt with nowhere named to go waits a little, at random: the edges of a flash
      // crowd retry spread out, by when the relays that refused them have been joined by new ones.
      if (attempt > 0 && !next.length) await sleep(25 + Math.random() * 75);
      if (media.isBroadcasting(streamId)) return;
      // The node table may be a heartbeat old (indexed registry); the holders are read now.
      const nodes = await registry.placementNodes();
      let upstream = this.nearestAtRandom(next.flatMap((id) => nodes.get(id) ?? []));
      if (!upstream) {
        const holders = await registry.holders(streamId, nodes);
        const choice = chooseUpstream(holders, nodes, this.s.nodeId, this.s, this.s.maxDownstream, tried, follow ? Math.random : undefined);
        if (!choice) {
          if (attempt === 0 && !holders.length) throw new MediaError('stream_offline', 'this stream is not live');
          break;
        }
        upstream = nodes.get(choice.nodeId)!;
      }
      try {
        await this.relayFrom(streamId, upstream);
        return;
      } catch (err) {
        if (isMediaError(err) && err.code === 'stream_already_here') return; // pulled by a racing request
        tried.add(upstream.nodeId);
        if (err instanceof RelayRefused) {
          if (follow) pointed = err.downstream;
          log.debug({ streamId, upstream: upstream.nodeId, downstream: err.downstream.length }, 'relay refused at the link limit');
        } else log.warn({ err, streamId, upstream: upstream.nodeId }, 'relay from upstream failed; trying another');
      }
    }
    throw new MediaError('relay_unavailable', 'no node could relay this stream here; retry shortly', 2000);
  }

  /** One of the nodes in the nearest region among them, at random (undefined when none). */
  private nearestAtRandom(nodes: NodeRecord[]): NodeRecord | undefined {
    if (!nodes.length) return undefined;
    const best = Math.min(...nodes.map((n) => regionTier(n.region, this.s)));
    const near = nodes.filter((n) => regionTier(n.region, this.s) === best);
    return near[Math.floor(Math.random() * near.length)];
  }

  private async relayFrom(streamId: string, node: NodeRecord): Promise<void> {
    const settings: LinkSettings = {
      listenIp: this.s.listenIp,
      announcedAddress: this.s.announcedAddress,
      enableSrtp: this.s.srtp === 'on' || (this.s.srtp === 'auto' && node.relayHost !== this.relayHost),
    };
    let state: UpstreamState | undefined;
    await this.deps.media
      .relay(
        streamId,
        async (local: PipeEndpoint) => {
          const request: RelayRequest = { streamId, fromNodeId: this.s.nodeId, enableSrtp: settings.enableSrtp, endpoint: local };
          const data = await this.deps.bus.request(nodeSubject(node.nodeId, 'relay'), encode(request), {
            timeoutMs: this.s.relayRequestTimeoutMs,
          });
          const reply = decode(RelayAnswer, data);
          if ('refused' in reply) throw new RelayRefused(node.nodeId, reply.downstream);
          state = { nodeId: node.nodeId, linkId: reply.linkId, path: [...reply.path, this.s.nodeId] };
          // Recorded before media.relay returns: the live event below reads it to list this holding.
          this.upstreams.set(streamId, state);
          return { remote: reply.endpoint, producers: reply.producers as unknown as RelayedProducer[] };
        },
        settings,
      )
      .catch((err) => {
        if (state) {
          if (this.upstreams.get(streamId) === state) this.upstreams.delete(streamId);
          this.notify(state.nodeId, 'release', { streamId, linkId: state.linkId, reason: 'setup_failed' });
        }
        throw err instanceof BusRequestError ? new MediaError('relay_unavailable', err.message, 2000) : err;
      });
  }

  /** The upstream closed our link: the origin ended the stream, or the upstream lost its own upstream. */
  private onUnlinked(data: Uint8Array): void {
    const notice = this.parse(LinkNotice, data);
    const up = notice && this.upstreams.get(notice.streamId);
    if (!notice || !up || up.linkId !== notice.linkId) return;
    this.deps.log.info({ streamId: notice.streamId, upstream: up.nodeId, reason: notice.reason }, 'upstream closed our relay link');
    this.deps.media.endStream(notice.streamId, notice.reason === 'stream_ended' ? 'origin_ended' : 'upstream_lost');
  }

  private async reattach(streamId: string, lost: UpstreamState): Promise<void> {
    const { registry, log } = this.deps;
    const nodes = await registry.placementNodes();
    const originId = lost.path[0]!;
    const originAlive = (await registry.holders(streamId, nodes)).some((h) => h.role === 'origin' && h.nodeId === originId);
    if (!originAlive) {
      log.info({ streamId, origin: originId }, "the stream's origin is gone: the stream ended");
      this.deps.onOriginLost(streamId);
      return;
    }
    const avoid = new Set(nodes.has(lost.nodeId) ? [] : [lost.nodeId]);
    await this.pull(streamId, avoid).then(
      () => log.info({ streamId, from: this.upstreams.get(streamId)?.nodeId, lost: lost.nodeId }, 'relay re-attached through another path'),
      (err) => log.warn({ err, streamId }, 'relay could not re-attach'),
    );
  }

  // ---- serving relays (upstream side) -------------------------------------------------------------

  private async answerRelay(data: Uint8Array): Promise<Uint8Array> {
    const req = decode(RelayRequest, data);
    const { media } = this.deps;
    // A node named by a refusing upstream may still be setting its own relay up: the request waits
    // for it (bounded by the requester's timeout) rather than being turned away.
    const pending = this.pulls.get(req.streamId);
    if (pending && !media.isLive(req.streamId)) await pending.catch(() => {});
    const path = this.pathOf(req.streamId);
    if (!path) throw new Error(`node ${this.s.nodeId} does not hold stream ${req.streamId}`);
    if (path.includes(req.fromNodeId)) throw new Error('refused: the requester is upstream of this node (a cycle)');
    // Holders choose upstreams from registry figures up to a heartbeat old: in a flash crowd every edge
    // would pick the origin. The limit is kept here, where the count is exact (links being opened
    // count too, so concurrent requests cannot overshoot), and the refusal names the nodes this one
    // feeds or is about to: the requester asks one of them next, so the stream fans out as a tree.
    const opening = this.opening.get(req.streamId) ?? new Set<string>();
    if (media.downstreamCount(req.streamId) + opening.size >= this.s.maxDownstream) {
      const fed = [...this.served.values()].filter((l) => l.streamId === req.streamId).map((l) => l.nodeId);
      const refusal: RelayRefusal = { refused: 'full', downstream: [...new Set([...fed, ...opening])].slice(0, 64) };
      return encode(refusal);
    }
    this.opening.set(req.streamId, opening.add(req.fromNodeId));
    try {
      return await this.openRelayLink(req, path);
    } finally {
      opening.delete(req.fromNodeId);
      if (!opening.size && this.opening.get(req.streamId) === opening) this.opening.delete(req.streamId);
    }
  }

  /** Opens a link for an admissible request (the requester is checked against the registry first). */
  private async openRelayLink(req: RelayRequest, path: string[]): Promise<Uint8Array> {
    const { media, log } = this.deps;
    // Media goes only to a node of the cluster, at the relay address it registered: a bus message
    // naming any other endpoint would otherwise make this node send RTP at Mbit/s wherever it says.
    const requester = await this.deps.registry.nodeRecord(req.fromNodeId);
    if (!requester) throw new Error(`refused: ${req.fromNodeId.slice(0, 64)} is not a live node of the registry`);
    if (requester.relayHost !== req.endpoint.ip) {
      log.warn(
        { streamId: req.streamId, from: req.fromNodeId, endpoint: req.endpoint.ip },
        "relay request for an endpoint that is not the node's relay address",
      );
      throw new Error(`refused: the endpoint is not ${req.fromNodeId.slice(0, 64)}'s registered relay address`);
    }
    const settings: LinkSettings = { listenIp: this.s.listenIp, announcedAddress: this.s.announcedAddress, enableSrtp: req.enableSrtp };
    const opened = await media.openDownstream(req.streamId, req.endpoint, settings, (reason) => {
      const served = this.served.get(opened.linkId);
      this.served.delete(opened.linkId);
      if (served && reason !== 'released')
        this.notify(served.nodeId, 'unlinked', { streamId: req.streamId, linkId: opened.linkId, reason });
    });
    this.served.set(opened.linkId, { streamId: req.streamId, nodeId: req.fromNodeId });
    // The new link count is listed now rather than at the next heartbeat, so others pick elsewhere.
    const role = media.roleOf(req.streamId);
    if (role) void this.holdStream(req.streamId, role).catch((err) => log.warn({ err, streamId: req.streamId }, 'registry write failed'));
    log.debug({ streamId: req.streamId, to: req.fromNodeId, linkId: opened.linkId }, 'relay link opened');
    const reply: RelayReply = {
      linkId: opened.linkId,
      endpoint: opened.local,
      producers: opened.producers as unknown as RelayReply['producers'],
      path,
    };
    return encode(reply);
  }

  private onRelease(data: Uint8Array): void {
    const notice = this.parse(LinkNotice, data);
    if (notice) this.deps.media.closeDownstream(notice.streamId, notice.linkId, 'released');
  }

  // ---- bookkeeping --------------------------------------------------------------------------------

  private readonly onLive = (streamId: string, role: StreamRole): void => {
    void this.holdStream(streamId, role).catch((err) => this.deps.log.warn({ err, streamId }, 'registry write failed'));
  };

  private readonly onOffline = (streamId: string, reason: string, role: StreamRole): void => {
    this.idleSince.delete(streamId);
    void this.deps.registry.release(streamId, this.s.nodeId).catch(() => {});
    if (role !== 'relay') return;
    const up = this.upstreams.get(streamId);
    this.upstreams.delete(streamId);
    if (!up) return;
    this.notify(up.nodeId, 'release', { streamId, linkId: up.linkId, reason });
    if (!this.closed && (reason === 'upstream_silent' || reason === 'upstream_lost' || reason === 'upstream_closed'))
      void this.reattach(streamId, up).catch((err) =>
        this.deps.log.warn({ err, streamId }, 'relay could not re-attach: registry unavailable'),
      );
  };

  private pathOf(streamId: string): string[] | undefined {
    const role = this.deps.media.roleOf(streamId);
    if (role === 'origin') return this.deps.media.isLive(streamId) ? [this.s.nodeId] : undefined;
    if (role === 'relay') return this.upstreams.get(streamId)?.path;
    return undefined;
  }

  private async holdStream(streamId: string, role: StreamRole): Promise<void> {
    const path = this.pathOf(streamId);
    if (!path) return;
    const { media } = this.deps;
    await this.deps.registry.hold(streamId, {
      nodeId: this.s.nodeId,
      role,
      path,
      downstream: media.downstreamCount(streamId),
      viewers: media.viewerCount(streamId),
    });
  }

  private localStreams(): string[] {
    return this.deps.media.liveStreamIds();
  }

  private get relayHost(): string {
    return this.s.announcedAddress ?? this.s.listenIp;
  }

  /** Heartbeat: renew the node record and holdings, close links to dead nodes, end idle relays. */
  private async tick(): Promise<void> {
    if (this.closed) return;
    const { media, registry, log } = this.deps;
    const load = media.load();
    try {
      await registry.heartbeat({
        nodeId: this.s.nodeId,
        url: this.url,
        region: this.s.region,
        viewers: load.viewers,
        maxViewers: Number.isFinite(load.maxViewers) ? load.maxViewers : 1_000_000,
        servesViewers: this.s.servesViewers,
        relayHost: this.relayHost,
        heartbeatAtMs: Date.now(),
      });
      for (const id of this.localStreams()) await this.holdStream(id, media.roleOf(id)!);
      // Only the nodes this one has links with matter here (and, for the sweep, whatever expired).
      const peers = [...[...this.served.values()].map((l) => l.nodeId), ...[...this.upstreams.values()].map((u) => u.nodeId)];
      const { deadPeers, expired } = await registry.liveness(peers);
      for (const [linkId, link] of this.served) {
        if (deadPeers.has(link.nodeId)) media.closeDownstream(link.streamId, linkId, 'downstream_node_dead');
      }
      await this.endOrphanedStreams(expired);
      // An upstream whose heartbeat expired is dead: re-attach now rather than after its RTP silence.
      for (const [streamId, up] of this.upstreams) {
        if (deadPeers.has(up.nodeId) && !this.pulls.has(streamId)) media.endStream(streamId, 'upstream_lost');
      }
    } catch (err) {
      log.warn({ err }, 'cascade heartbeat failed');
    }
    const now = Date.now();
    for (const id of this.upstreams.keys()) {
      const busy = media.viewerCount(id) > 0 || media.downstreamCount(id) > 0 || this.pulls.has(id);
      if (busy) this.idleSince.delete(id);
      else if (!this.idleSince.has(id)) this.idleSince.set(id, now);
      else if (now - this.idleSince.get(id)! > this.s.relayIdleMs) media.endStream(id, 'relay_idle');
    }
  }

  /**
   * Between heartbeats: the nodes this one relays from, checked for a heartbeat that stopped. A relay
   * fed by a crashed node would otherwise keep its viewers on a silent stream until that node's record
   * expired (the TTL, then this node's next heartbeat: 3.5-4.5 s by default); a missed beat is seen
   * here within upstreamSuspectMs (default 2.5 heartbeats) plus one check.
   */
  private async checkUpstreams(): Promise<void> {
    if (this.closed || this.checkingUpstreams || !this.upstreams.size) return;
    this.checkingUpstreams = true;
    try {
      const ids = new Set([...this.upstreams.values()].map((u) => u.nodeId));
      const silent = await this.deps.registry.stoppedBeating(ids, this.s.upstreamSuspectMs ?? this.s.heartbeatMs * 2.5);
      const now = Date.now();
      for (const id of silent) this.stopped.set(id, now);
      for (const [streamId, up] of this.upstreams) {
        if (!silent.has(up.nodeId) || this.pulls.has(streamId)) continue;
        this.deps.log.info({ streamId, upstream: up.nodeId }, 'upstream node stopped its heartbeat: re-attaching');
        this.deps.media.endStream(streamId, 'upstream_lost');
      }
    } catch (err) {
      this.deps.log.debug({ err }, 'upstream check failed (the heartbeat retries)');
    } finally {
      this.checkingUpstreams = false;
    }
  }

  /** Nodes that stopped beating within the last TTL-ish (their record and holdings may still be listed). */
  private recentlyStopped(): string[] {
    const since = Date.now() - 2 * (this.s.upstreamSuspectMs ?? this.s.heartbeatMs * 2.5);
    for (const [id, at] of this.stopped) if (at < since) this.stopped.delete(id);
    return [...this.stopped.keys()];
  }

  /**
   * A node that died holding origin streams cannot mark them offline itself; the node that sweeps it
   * from the registry does, unless the stream has meanwhile gone live again on another origin.
   */
  private async endOrphanedStreams(deadIds: string[]): Promise<void> {
    if (!deadIds.length) return;
    const claimed = await this.deps.registry.sweepDeadNodes(deadIds);
    if (!claimed.length) return;
    const nodes = await this.deps.registry.liveNodes();
    for (const dead of claimed) await this.endOrphaned(dead.nodeId, dead.originStreams, nodes);
  }

  private async endOrphaned(originId: string, streamIds: string[], nodes: Map<string, NodeRecord>): Promise<void> {
    for (const streamId of streamIds) {
      // The dead node's own entry does not count: after a quick restart under the same id, its old
      // record may not have expired yet, and the holding it left is this very stream.
      const holders = await this.deps.registry.holders(streamId, nodes);
      if (holders.some((h) => h.role === 'origin' && h.nodeId !== originId)) continue;
      this.deps.log.info({ streamId, origin: originId }, "the stream's origin node died: the stream ended");
      this.deps.onOriginLost(streamId);
    }
  }

  private notify(nodeId: string, what: 'release' | 'unlinked', notice: LinkNotice): void {
    this.deps.bus.publish(nodeSubject(nodeId, what), encode(notice));
  }

  private parse<T>(schema: Parameters<typeof decode<T>>[0], data: Uint8Array): T | undefined {
    try {
      return decode(schema, data);
    } catch (err) {
      this.deps.log.warn({ err }, 'ignored a malformed cascade message');
      return undefined;
    }
  }
}
