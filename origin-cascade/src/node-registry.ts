// The cascade's shared memory in Redis: which OnAir nodes are alive (URL, region, viewer load), and
// which nodes hold which stream (origin or relay, and the chain of nodes it comes through). A node
// record expires unless its heartbeat renews it, so a node that dies drops out within the TTL and the
// streams it held stop being offered. The streams a dead node was the origin of are handed, once, to
// whichever live node sweeps the index first, so they can be shown offline. Never decides placement:
// it only stores and reads facts (placement.ts decides).
//
// Two read paths (`RegistryReadPath`), so the scale simulation (bench/src/scale-sim.ts) can run both:
// - `scan`, the original: every heartbeat reads every node's record (SMEMBERS + MGET of all) and
//   rewrites every holding, and every placement reads the whole table again. Per node that is O(n)
//   per second, O(n^2) across the cluster, and a flash crowd reads one stream's hash per viewer.
// - `indexed`, the default: a heartbeat checks only the nodes this node has links with (plus a small
//   random sample of the index, which is enough for some node to sweep each dead one within about a
//   heartbeat), rewrites a holding only when it changed, and placement reads the table and a stream's
//   holders through a short-lived local view (one Redis read per `viewMaxAgeMs` per node).
//   It also survives a Redis restart: a node that finds its own record gone knows the registry lost
//   its data, rewrites its holdings, and for two TTLs treats nodes without a record as unknown, not
//   dead (they re-register on their next heartbeat), so no link is closed and no stream ended for it.
//   The same holds for a read that straddles the restart: every read of peers' records also reads
//   this node's own, and finding it gone means the registry lost its data, not that peers died.
//
// Besides its record, every heartbeat writes a small beat key (the heartbeat's time, same TTL), so
// a node can watch the few nodes it relays from between heartbeats at a few bytes each
// (`stoppedBeating`): a beat that has not changed for a while is a dead node seconds before its
// record expires. Only change is compared, on the watcher's own clock, so clocks need not agree.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Redis } from 'ioredis';
import { redactSecrets } from '@onair/platform';
import { z } from 'zod';

export const NodeRecord = z.object({
  nodeId: z.string(),
  /** Base URL viewers are redirected to (its /whep/{id}). */
  url: z.string(),
  region: z.string(),
  viewers: z.number().int().nonnegative(),
  maxViewers: z.number().int().nonnegative(),
  /** Whether it takes viewers itself (an origin-only node sends them to edges while they have room). */
  servesViewers: z.boolean(),
  /** The host its relay pipes listen on, to tell whether a link crosses hosts (SRTP). */
  relayHost: z.string(),
  heartbeatAtMs: z.number(),
});
export type NodeRecord = z.infer<typeof NodeRecord>;

export const StreamHolding = z.object({
  nodeId: z.string(),
  role: z.enum(['origin', 'relay']),
  /** Node ids from the origin to this node (inclusive): its depth in the tree, and a cycle guard. */
  path: z.array(z.string()).min(1),
  /** Relay links this node serves for the stream. */
  downstream: z.number().int().nonnegative(),
  /** WebRTC viewers this node serves for the stream (a relay's are counted by the origin). */
  viewers: z.number().int().nonnegative().default(0),
});
export type StreamHolding = z.infer<typeof StreamHolding>;

export type RegistryReadPath = 'scan' | 'indexed';

export interface RegistryOptions {
  /** `indexed` (default) or the original `scan` (kept for the scale simulation's before/after). */
  readPath?: RegistryReadPath;
  /** How old the placement view (node table, a stream's holders) may be, indexed path only. */
  viewMaxAgeMs?: number;
  /** Random index members a heartbeat checks for expiry, indexed path only. */
  sweepSample?: number;
  /** Told of Redis connection errors (ioredis emits them while it reconnects; unheard, they are printed). */
  onRedisError?: (err: Error) => void;
  /**
   * The cluster secret (CASCADE_SECRET): node records are signed with it (HMAC-SHA256) and a record
   * without a valid signature is ignored, so whoever can write to Redis cannot list a node whose URL
   * sends viewers elsewhere. Unset: records are unsigned (trust rests on Redis credentials alone).
   */
  secret?: string | undefined;
}

/** What a heartbeat learns about liveness: which of the asked peers are dead, and expired ids to sweep. */
export interface LivenessView {
  deadPeers: Set<string>;
  expired: string[];
}

interface CachedView<T> {
  atMs: number;
  value: Promise<T>;
}

export class NodeRegistry {
  readonly readPath: RegistryReadPath;
  private readonly viewMaxAgeMs: number;
  private readonly sweepSample: number;
  /** Holdings last written, by stream (indexed: unchanged ones are not rewritten). */
  private readonly written = new Map<string, string>();
  private everHeartbeat = false;
  /** This node's id, from its heartbeats: its own record is the witness that the registry kept its data. */
  private selfId: string | undefined;
  /** When this node last found the registry had lost its records (Redis restart or flush). */
  private lostAtMs = Number.NEGATIVE_INFINITY;
  /** Beats of the nodes `stoppedBeating` watches: the last value seen and when it last changed (own clock). */
  private readonly beats = new Map<string, { value: string | null; changedAtMs: number }>();
  private tableView: CachedView<Map<string, NodeRecord>> | undefined;
  private readonly holderViews = new Map<string, CachedView<StreamHolding[]>>();

  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
    private readonly ownsConnection: boolean,
    options: RegistryOptions,
  ) {
    this.readPath = options.readPath ?? 'indexed';
    this.viewMaxAgeMs = options.viewMaxAgeMs ?? 1000;
    this.sweepSample = options.sweepSample ?? 3;
    this.secret = options.secret;
  }

  private readonly secret: string | undefined;
  /** Records read whose signature did not verify (forged, or written with another secret). */
  rejectedRecords = 0;

  private sign(json: string): string {
    return createHmac('sha256', this.secret!).update(json).digest('base64url');
  }

  /** The stored form of a record: its JSON, then (with a secret) its signature over that JSON. */
  private encodeRecord(record: NodeRecord): string {
    const json = JSON.stringify(record);
    return this.secret ? JSON.stringify({ ...record, sig: this.sign(json) }) : json;
  }

  /** A stored record when it parses and, with a secret, its signature verifies; otherwise undefined. */
  private decodeRecord(text: string): NodeRecord | undefined {
    const value = safeJson(text);
    if (this.secret) {
      if (!value || typeof value !== 'object') return undefined;
      const { sig, ...rest } = value as { sig?: unknown };
      const expected = Buffer.from(this.sign(JSON.stringify(rest)));
      if (typeof sig !== 'string' || sig.length !== expected.length || !timingSafeEqual(Buffer.from(sig), expected)) {
        this.rejectedRecords++;
        return undefined;
      }
    }
    const parsed = NodeRecord.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  }

  /** Connects, failing fast when Redis is unreachable. */
  static async connect(url: string, prefix: string, ttlMs: number, options: RegistryOptions = {}): Promise<NodeRegistry> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    // Without a listener ioredis prints every reconnect error; the registry's callers see failed commands.
    redis.on('error', (err: Error) => options.onRedisError?.(err));
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new Error(`the cascade registry needs Redis at ${redactSecrets(url)}: ${redactSecrets((err as Error).message)}`);
    }
    return new NodeRegistry(redis, prefix, ttlMs, true, options);
  }

  /**
   * A registry over a connection the caller owns (the scale simulation runs many nodes per process
   * on one connection each process; close() leaves that connection open).
   */
  static over(redis: Redis, prefix: string, ttlMs: number, options: RegistryOptions = {}): NodeRegistry {
    return new NodeRegistry(redis, prefix, ttlMs, false, options);
  }

  /**
   * Within two TTLs after this node saw the registry lose its records, a missing record is not death:
   * every live node writes its record again on its first heartbeat after Redis is back, but its client
   * may reconnect a few seconds after this one (ioredis backs off up to 2 s).
   */
  private inGrace(nowMs = Date.now()): boolean {
    return nowMs - this.lostAtMs < 2 * this.ttlMs;
  }

  private nodeKey(id: string) {
    return `${this.prefix}node:${id}`;
  }
  private streamKey(id: string) {
    return `${this.prefix}stream:${id}`;
  }
  private beatKey(id: string) {
    return `${this.prefix}beat:${id}`;
  }
  private get nodesKey() {
    return `${this.prefix}nodes`;
  }
  /** The streams a node is the origin of: what is left behind if it dies. */
  private originsKey(id: string) {
    return `${this.prefix}origins:${id}`;
  }

  /**
   * Renews this node's record (and its TTL). Indexed path: when the previous record is gone although
   * this node heartbeat before, the registry lost its data (or this node was silent past its TTL):
   * every holding is written again on the next tick and missing peers get one TTL of grace.
   */
  async heartbeat(record: NodeRecord): Promise<void> {
    if (this.readPath === 'scan') {
      await this.redis
        .multi()
        .set(this.nodeKey(record.nodeId), this.encodeRecord(record), 'PX', this.ttlMs)
        .sadd(this.nodesKey, record.nodeId)
        .set(this.beatKey(record.nodeId), String(record.heartbeatAtMs), 'PX', this.ttlMs)
        .exec();
      return;
    }
    const [[setErr, previous], [saddErr]] = (await this.redis
      .multi()
      .set(this.nodeKey(record.nodeId), this.encodeRecord(record), 'PX', this.ttlMs, 'GET')
      .sadd(this.nodesKey, record.nodeId)
      .set(this.beatKey(record.nodeId), String(record.heartbeatAtMs), 'PX', this.ttlMs)
      .exec()) as [[Error | null, string | null], [Error | null, number]];
    if (setErr || saddErr) throw setErr ?? saddErr;
    if (this.everHeartbeat && previous === null) this.registryLost();
    this.everHeartbeat = true;
    this.selfId = record.nodeId;
  }

  /** The registry lost its records (restart, flush) or this node was silent past its TTL. */
  private registryLost(): void {
    this.lostAtMs = Date.now();
    this.written.clear();
    this.tableView = undefined;
    this.holderViews.clear();
    this.beats.clear();
  }

  /**
   * Which of `ids` have not beaten (their beat key unchanged, or gone) for `suspectMs`, on this
   * node's clock, counted from when this node started watching them. One MGET of short values. Never
   * while the registry has lost its data or within the grace after: a missing beat then is Redis's
   * loss, not a death. A failed read throws and, the caller's next check reading again, judges nobody.
   */
  async stoppedBeating(ids: Iterable<string>, suspectMs: number): Promise<Set<string>> {
    const asked = [...new Set(ids)];
    const self = this.selfId;
    const values = await this.redis.mget([...asked, ...(self ? [self] : [])].map((id) => this.beatKey(id)));
    if (self !== undefined && values[asked.length] === null) {
      this.registryLost();
      return new Set();
    }
    const now = Date.now();
    const seen = new Set(asked);
    for (const id of this.beats.keys()) if (!seen.has(id)) this.beats.delete(id);
    const stopped = new Set<string>();
    asked.forEach((id, i) => {
      const value = values[i] ?? null;
      const beat = this.beats.get(id);
      if (!beat || (value !== null && value !== beat.value)) this.beats.set(id, { value, changedAtMs: now });
      else if (now - beat.changedAtMs > suspectMs) stopped.add(id);
    });
    return this.inGrace(now) ? new Set() : stopped;
  }

  /**
   * Reads node records along with this node's own: when its own is missing too, the registry lost
   * its data since the last heartbeat (a read that straddles a Redis restart), so missing is not death.
   */
  private async readRecords(ids: string[]): Promise<{ missing: Set<string>; lost: boolean }> {
    const self = this.selfId;
    const values = await this.redis.mget([...ids, ...(self ? [self] : [])].map((id) => this.nodeKey(id)));
    const lost = self !== undefined && values[ids.length] === null;
    if (lost) this.registryLost();
    return { missing: new Set(ids.filter((_, i) => values[i] === null)), lost };
  }

  /** One node's record, when its heartbeat is current (and, with a secret, its signature verifies). */
  async nodeRecord(nodeId: string): Promise<NodeRecord | undefined> {
    const text = await this.redis.get(this.nodeKey(nodeId));
    const record = text === null ? undefined : this.decodeRecord(text);
    return record?.nodeId === nodeId ? record : undefined;
  }

  /** Every node whose heartbeat is current (read now; see placementNodes for the cached view). */
  async liveNodes(): Promise<Map<string, NodeRecord>> {
    return (await this.readIndex()).alive;
  }

  /** The node table for placement: read now on the scan path, at most `viewMaxAgeMs` old when indexed. */
  placementNodes(): Promise<Map<string, NodeRecord>> {
    if (this.readPath === 'scan') return this.liveNodes();
    const now = Date.now();
    if (!this.tableView || now - this.tableView.atMs > this.viewMaxAgeMs) {
      const value = this.liveNodes();
      const view = { atMs: now, value };
      this.tableView = view;
      value.catch(() => {
        if (this.tableView === view) this.tableView = undefined;
      });
    }
    return this.tableView.value;
  }

  /** A stream's holders for placing a viewer (not for relaying: pulls read holders fresh). */
  placementHolders(streamId: string, nodes: Map<string, NodeRecord>): Promise<StreamHolding[]> {
    if (this.readPath === 'scan') return this.holders(streamId, nodes);
    const now = Date.now();
    let view = this.holderViews.get(streamId);
    if (!view || now - view.atMs > this.viewMaxAgeMs) {
      if (this.holderViews.size > 10_000) this.holderViews.clear(); // bounded: placement touches few streams at once
      const value = this.holders(streamId, nodes);
      const fresh = { atMs: now, value };
      view = fresh;
      this.holderViews.set(streamId, fresh);
      value.catch(() => {
        if (this.holderViews.get(streamId) === fresh) this.holderViews.delete(streamId);
      });
    }
    return view.value;
  }

  /**
   * The heartbeat's liveness check. Scan: the whole index, read once. Indexed: only `peers` (the
   * nodes this one has relay links with) and a few random index members, whose records are read;
   * a missing record is death, except within the grace after a registry loss.
   */
  async liveness(peers: Iterable<string>): Promise<LivenessView> {
    const asked = [...new Set(peers)];
    if (this.readPath === 'scan') {
      const { alive, dead } = await this.readIndex();
      return { deadPeers: new Set(asked.filter((id) => !alive.has(id))), expired: dead };
    }
    const sample = this.sweepSample > 0 ? await this.redis.srandmember(this.nodesKey, this.sweepSample) : [];
    const ids = [...new Set([...asked, ...sample])];
    if (!ids.length) return { deadPeers: new Set(), expired: [] };
    const { missing, lost } = await this.readRecords(ids);
    if (lost || this.inGrace()) return { deadPeers: new Set(), expired: [] };
    return { deadPeers: new Set(asked.filter((id) => missing.has(id))), expired: sample.filter((id) => missing.has(id)) };
  }

  /** The index read once: nodes whose heartbeat is current, and ids whose record expired. */
  async readIndex(): Promise<{ alive: Map<string, NodeRecord>; dead: string[] }> {
    const ids = await this.redis.smembers(this.nodesKey);
    const alive = new Map<string, NodeRecord>();
    const dead: string[] = [];
    if (!ids.length) return { alive, dead };
    const values = await this.redis.mget(ids.map((id) => this.nodeKey(id)));
    ids.forEach((id, i) => {
      const text = values[i];
      if (text === null || text === undefined) return void dead.push(id);
      const record = this.decodeRecord(text);
      // A record that is there but unsigned or forged is neither alive (no viewer goes to its URL)
      // nor dead (its streams are not ended on a forger's word): it is ignored.
      if (record?.nodeId === id) alive.set(id, record);
    });
    return { alive, dead };
  }

  /**
   * Removes expired nodes (`dead`, from readIndex) from the index and returns, for each one this
   * caller removed (exactly one caller wins each), the streams it was the origin of. Its origin list
   * is deleted with it.
   */
  async sweepDeadNodes(dead: string[]): Promise<{ nodeId: string; originStreams: string[] }[]> {
    const claimed: { nodeId: string; originStreams: string[] }[] = [];
    for (const nodeId of dead) {
      if ((await this.redis.srem(this.nodesKey, nodeId)) !== 1) continue;
      claimed.push({ nodeId, originStreams: await this.takeOrigins(nodeId) });
    }
    return claimed;
  }

  /** Takes (reads and clears) a node's origin list: at start, what a previous run under this id left. */
  async takeOrigins(nodeId: string): Promise<string[]> {
    const [[, streams]] = (await this.redis.multi().smembers(this.originsKey(nodeId)).del(this.originsKey(nodeId)).exec()) as [
      [Error | null, string[]],
      unknown,
    ];
    return streams ?? [];
  }

  /**
   * Lists this node as a holder of the stream. Indexed path: a holding equal to the last one written
   * (role, path, links; the viewer figure is informative, the Audience owns counts) is not rewritten.
   */
  async hold(streamId: string, holding: StreamHolding): Promise<void> {
    const key = JSON.stringify([holding.role, holding.path, holding.downstream]);
    if (this.readPath === 'indexed' && this.written.get(streamId) === key) return;
    const m = this.redis.multi().hset(this.streamKey(streamId), holding.nodeId, JSON.stringify(holding));
    if (holding.role === 'origin') m.sadd(this.originsKey(holding.nodeId), streamId);
    await m.exec();
    if (this.readPath === 'indexed') this.written.set(streamId, key);
  }

  async release(streamId: string, nodeId: string): Promise<void> {
    this.written.delete(streamId);
    await this.redis.multi().hdel(this.streamKey(streamId), nodeId).srem(this.originsKey(nodeId), streamId).exec();
  }

  /**
   * The holders of a stream on live nodes (entries of dead nodes are removed on the way). Indexed
   * path: `alive` may be a cached view, so a holder missing from it is checked against its record
   * before it is dropped (a node that joined since) and removed only when the record is gone.
   */
  async holders(streamId: string, alive: Map<string, NodeRecord>): Promise<StreamHolding[]> {
    const all = await this.redis.hgetall(this.streamKey(streamId));
    const out: StreamHolding[] = [];
    const dead: string[] = [];
    const unknown: StreamHolding[] = [];
    for (const [nodeId, json] of Object.entries(all)) {
      const parsed = StreamHolding.safeParse(safeJson(json));
      if (parsed.success && alive.has(nodeId)) out.push(parsed.data);
      else if (parsed.success && this.readPath === 'indexed') unknown.push(parsed.data);
      else dead.push(nodeId);
    }
    if (unknown.length) {
      const { missing, lost } = await this.readRecords(unknown.map((h) => h.nodeId));
      const grace = lost || this.inGrace();
      for (const h of unknown) {
        if (!missing.has(h.nodeId) || grace) out.push(h);
        else dead.push(h.nodeId);
      }
    }
    if (dead.length) await this.redis.hdel(this.streamKey(streamId), ...dead);
    return out;
  }

  /** Removes this node at a clean shutdown (others stop sending viewers at once, not after the TTL). */
  async leave(nodeId: string, streamIds: string[]): Promise<void> {
    const m = this.redis
      .multi()
      .del(this.nodeKey(nodeId))
      .del(this.beatKey(nodeId))
      .srem(this.nodesKey, nodeId)
      .del(this.originsKey(nodeId));
    for (const s of streamIds) m.hdel(this.streamKey(s), nodeId);
    await m.exec();
  }

  async close(): Promise<void> {
    if (!this.ownsConnection) return;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
