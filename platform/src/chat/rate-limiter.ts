// Per-key fixed-window counters for chat rate limits, slow mode and sign-in throttling. In-process for one node
// (embedded mode); Redis when REDIS_URL is set, so a user spreading messages over several gateway
// nodes meets the same limit. Never throws on a Redis outage: it then allows (and logs), because
// refusing all chat is worse than a short unlimited window.
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';

export interface RateDecision {
  allowed: boolean;
  /** When refused: how long until the window resets. */
  retryAfterMs: number;
}

export interface RateLimiter {
  /** Counts one hit on `key`; allowed while the window holds at most `limit` hits. */
  hit(key: string, limit: number, windowMs: number): Promise<RateDecision>;
  /** Whether one more hit would be allowed, without counting one. */
  peek(key: string, limit: number): Promise<RateDecision>;
  close(): Promise<void>;
}

export class InProcessRateLimiter implements RateLimiter {
  private windows = new Map<string, { count: number; endsAt: number }>();
  private sweeper: NodeJS.Timeout;

  constructor() {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [k, w] of this.windows) if (w.endsAt <= now) this.windows.delete(k);
    }, 10_000);
    this.sweeper.unref();
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || w.endsAt <= now) {
      w = { count: 0, endsAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count++;
    return w.count <= limit ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: w.endsAt - now };
  }

  async peek(key: string, limit: number): Promise<RateDecision> {
    const now = Date.now();
    const w = this.windows.get(key);
    if (!w || w.endsAt <= now || w.count < limit) return { allowed: true, retryAfterMs: 0 };
    return { allowed: false, retryAfterMs: w.endsAt - now };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.windows.clear();
  }
}

// INCR, set the expiry on the first hit, return count and remaining ms: one round trip.
const HIT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly prefix = 'onair:rl:',
  ) {}

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    try {
      const [count, ttl] = (await this.redis.eval(HIT, 1, this.prefix + key, String(windowMs))) as [number, number];
      return count <= limit ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: Math.max(0, ttl) };
    } catch (err) {
      this.log.warn({ err }, 'rate limiter: Redis unavailable, allowing');
      return { allowed: true, retryAfterMs: 0 };
    }
  }

  async peek(key: string, limit: number): Promise<RateDecision> {
    try {
      const [count, ttl] = await Promise.all([this.redis.get(this.prefix + key), this.redis.pttl(this.prefix + key)]);
      return Number(count ?? 0) < limit ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: Math.max(0, ttl) };
    } catch (err) {
      this.log.warn({ err }, 'rate limiter: Redis unavailable, allowing');
      return { allowed: true, retryAfterMs: 0 };
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export async function openRateLimiter(redisUrl: string | undefined, log: Logger): Promise<RateLimiter> {
  if (!redisUrl) return new InProcessRateLimiter();
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  redis.on('error', (err) => log.debug({ err }, 'redis error'));
  await redis.connect();
  return new RedisRateLimiter(redis, log);
}
