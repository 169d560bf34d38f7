// The cascade's shared memory in Redis: which OnAir nodes are alive (URL, region, viewer load), and
// which nodes hold which stream (origin or relay, and the chain of nodes it comes through). A node
// record expires unless its heartbeat renews it, so a node that dies drops out within the TTL and the
// streams it held stop being offered. The streams a dead node was the origin of are handed, once, to
// whichever live node sweeps the index first, so they can be shown offline. Never decides placement:
// it only stores and reads facts (placement.ts decides).
import { Redis } from 'ioredis';
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

export class NodeRegistry {
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  /** Connects, failing fast when Redis is unreachable. */
  static async connect(url: string, prefix: string, ttlMs: number): Promise<NodeRegistry> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new Error(`the cascade registry needs Redis at ${url}: ${(err as Error).message}`);
    }
    return new NodeRegistry(redis, prefix, ttlMs);
  }

  private nodeKey(id: string) {
    return `${this.prefix}node:${id}`;
  }
  private streamKey(id: string) {
    return `${this.prefix}stream:${id}`;
  }
  private get nodesKey() {
    return `${this.prefix}nodes`;
  }
  /** The streams a node is the origin of: what is left behind if it dies. */
  private originsKey(id: string) {
    return `${this.prefix}origins:${id}`;
  }

  /** Renews this node's record (and its TTL). */
  async heartbeat(record: NodeRecord): Promise<void> {
    await this.redis
      .multi()
      .set(this.nodeKey(record.nodeId), JSON.stringify(record), 'PX', this.ttlMs)
      .sadd(this.nodesKey, record.nodeId)
      .exec();
  }

  /** Every node whose heartbeat is current. */
  async liveNodes(): Promise<Map<string, NodeRecord>> {
    return (await this.readIndex()).alive;
  }

  /** The index read once: nodes whose heartbeat is current, and ids whose record expired. */
  async readIndex(): Promise<{ alive: Map<string, NodeRecord>; dead: string[] }> {
    const ids = await this.redis.smembers(this.nodesKey);
    const alive = new Map<string, NodeRecord>();
    const dead: string[] = [];
    if (!ids.length) return { alive, dead };
    const values = await this.redis.mget(ids.map((id) => this.nodeKey(id)));
    ids.forEach((id, i) => {
      const parsed = values[i] ? NodeRecord.safeParse(safeJson(values[i]!)) : undefined;
      if (parsed?.success) alive.set(id, parsed.data);
      else dead.push(id);
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

  async hold(streamId: string, holding: StreamHolding): Promise<void> {
    const m = this.redis.multi().hset(this.streamKey(streamId), holding.nodeId, JSON.stringify(holding));
    if (holding.role === 'origin') m.sadd(this.originsKey(holding.nodeId), streamId);
    await m.exec();
  }

  async release(streamId: string, nodeId: string): Promise<void> {
    await this.redis.multi().hdel(this.streamKey(streamId), nodeId).srem(this.originsKey(nodeId), streamId).exec();
  }

  /** The holders of a stream on live nodes (entries of dead nodes are removed on the way). */
  async holders(streamId: string, alive: Map<string, NodeRecord>): Promise<StreamHolding[]> {
    const all = await this.redis.hgetall(this.streamKey(streamId));
    const out: StreamHolding[] = [];
    const dead: string[] = [];
    for (const [nodeId, json] of Object.entries(all)) {
      const parsed = StreamHolding.safeParse(safeJson(json));
      if (parsed.success && alive.has(nodeId)) out.push(parsed.data);
      else dead.push(nodeId);
    }
    if (dead.length) await this.redis.hdel(this.streamKey(streamId), ...dead);
    return out;
  }

  /** Removes this node at a clean shutdown (others stop sending viewers at once, not after the TTL). */
  async leave(nodeId: string, streamIds: string[]): Promise<void> {
    const m = this.redis.multi().del(this.nodeKey(nodeId)).srem(this.nodesKey, nodeId).del(this.originsKey(nodeId));
    for (const s of streamIds) m.hdel(this.streamKey(s), nodeId);
    await m.exec();
  }

  async close(): Promise<void> {
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
