// Where the directory keeps what it must not recompute per request: rendered pages for a short time
// (so polling viewers and 10,000 live streams do not query PostgreSQL per request), the frozen order
// of each listing session (so paging is stable while viewer counts move), and a generation number
// that every node bumps when the listing changes. Redis when REDIS_URL is set (shared by all nodes),
// process memory otherwise. Holds no stream data of record: losing it costs only recomputation.
import { Redis } from 'ioredis';

export interface DirectoryStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Freezes an ordered list of ids under key (replacing any earlier one). */
  saveOrder(key: string, ids: readonly string[], ttlMs: number): Promise<void>;
  /** ids[offset, offset + count) of a frozen list and its length; null when unknown or expired. */
  readOrder(key: string, offset: number, count: number): Promise<{ ids: string[]; total: number } | null>;
  /** The current listing generation (a counter; starts at 0). */
  generation(): Promise<number>;
  bumpGeneration(): Promise<void>;
  close(): Promise<void>;
}

interface Entry {
  value: string | string[];
  expiresAt: number;
}

/**
 * One process's store: a map with expiry, bounded by entries and by the ids of frozen lists it
 * holds (oldest entries go first when either bound is reached).
 */
export class MemoryDirectoryStore implements DirectoryStore {
  private readonly entries = new Map<string, Entry>();
  private gen = 0;
  /** Entries plus the ids of every frozen list held. */
  private weight = 0;

  constructor(
    private readonly maxEntries = 5000,
    /** ~1,000,000 ids is ~60 MB of strings. */
    private readonly maxIds = 1_000_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<string | null> {
    const value = this.live(key)?.value;
    return typeof value === 'string' ? value : null;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.put(key, value, ttlMs);
  }

  async saveOrder(key: string, ids: readonly string[], ttlMs: number): Promise<void> {
    this.put(key, [...ids], ttlMs);
  }

  async readOrder(key: string, offset: number, count: number): Promise<{ ids: string[]; total: number } | null> {
    const value = this.live(key)?.value;
    if (!Array.isArray(value)) return null;
    return { ids: value.slice(offset, offset + count), total: value.length };
  }

  async generation(): Promise<number> {
    return this.gen;
  }

  async bumpGeneration(): Promise<void> {
    this.gen++;
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.weight = 0;
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.remove(key);
      return undefined;
    }
    return entry;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.weight -= weightOf(entry.value);
  }

  private put(key: string, value: string | string[], ttlMs: number): void {
    this.remove(key);
    const weight = weightOf(value);
    while (this.entries.size > 0 && (this.entries.size >= this.maxEntries || this.weight + weight > this.maxIds)) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.remove(oldest);
    }
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    this.weight += weight;
  }
}

const weightOf = (value: string | string[]) => (Array.isArray(value) ? value.length + 1 : 1);

const ORDER_CHUNK = 1000;

/** The shared store: plain keys with PX expiry, frozen orders as Redis lists (LRANGE per page). */
export class RedisDirectoryStore implements DirectoryStore {
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Connects (failing fast when Redis is unreachable); keys live under `prefix`. */
  static async connect(url: string, prefix = 'onair:directory:'): Promise<RedisDirectoryStore> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw err;
    }
    return new RedisDirectoryStore(redis, prefix);
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.prefix + key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async saveOrder(key: string, ids: readonly string[], ttlMs: number): Promise<void> {
    const k = this.prefix + key;
    const tx = this.redis.multi().del(k);
    for (let i = 0; i < ids.length; i += ORDER_CHUNK) tx.rpush(k, ...ids.slice(i, i + ORDER_CHUNK));
    tx.pexpire(k, Math.max(1, Math.round(ttlMs)));
    await tx.exec();
  }

  async readOrder(key: string, offset: number, count: number): Promise<{ ids: string[]; total: number } | null> {
    const k = this.prefix + key;
    const res = await this.redis
      .multi()
      .lrange(k, offset, offset + count - 1)
      .llen(k)
      .exec();
    const ids = res?.[0]?.[1] as string[] | undefined;
    const total = res?.[1]?.[1] as number | undefined;
    if (!ids || !total) return null;
    return { ids, total };
  }

  async generation(): Promise<number> {
    return Number((await this.redis.get(`${this.prefix}generation`)) ?? 0);
  }

  async bumpGeneration(): Promise<void> {
    await this.redis.incr(`${this.prefix}generation`);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
