// Per-user rate limits (in-process and real Redis, same suite) and the chat text filter.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, foldText, InProcessRateLimiter, isBlocked, openRateLimiter, type RateLimiter } from '@onair/platform';

const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = createLogger('silent');

describe.each([
  ['in-process', async () => new InProcessRateLimiter() as RateLimiter],
  ['redis', () => openRateLimiter(TEST_REDIS_URL, log)],
])('%s rate limiter', (_name, open) => {
  let limiter: RateLimiter;
  beforeAll(async () => {
    limiter = await open();
  });
  afterAll(async () => {
    await limiter.close();
  });

  it('allows `limit` hits per window, then refuses with the time left', async () => {
    const key = `t:${randomBytes(6).toString('hex')}`;
    for (let i = 0; i < 3; i++) expect((await limiter.hit(key, 3, 10_000)).allowed).toBe(true);
    const refused = await limiter.hit(key, 3, 10_000);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(9000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(10_000);
    expect((await limiter.hit(`${key}:other`, 3, 10_000)).allowed).toBe(true);
  });

  it('opens a new window when the old one ends', async () => {
    const key = `t:${randomBytes(6).toString('hex')}`;
    expect((await limiter.hit(key, 1, 150)).allowed).toBe(true);
    expect((await limiter.hit(key, 1, 150)).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 250));
    expect((await limiter.hit(key, 1, 150)).allowed).toBe(true);
  });
});

describe('chat text filter', () => {
  it('catches profanity, also obfuscated, without flagging innocent words', () => {
    for (const bad of ['fuuuck this', 'sh1t', 'what the fück']) expect(isBlocked(bad, [])).toBe(true);
    for (const fine of ['hello there', 'class assessment', 'Scunthorpe United']) expect(isBlocked(fine, [])).toBe(false);
  });

  it("matches a stream's blocked terms regardless of case and accents", () => {
    const terms = ['Spoiler', 'crème brûlée'].map(foldText);
    expect(isBlocked('big SPOILER', terms)).toBe(true);
    expect(isBlocked('I love CREME   BRULEE', terms)).toBe(true);
    expect(isBlocked('nothing to see', terms)).toBe(false);
  });
});
