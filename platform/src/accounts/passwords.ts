// Password hashing with scrypt (node:crypto), stored as `scrypt$N$r$p$<salt b64>$<hash b64>` so the
// cost can be raised later without breaking old hashes. Never logs, returns or compares passwords
// in any other way than through these functions. Hashing is memory-hard on purpose (128 MiB and
// ~0.3 s of a core at the default cost), so the number running at once is bounded (PasswordHasher):
// a flood of sign-ins queues, then gets `503 busy`, instead of taking the node's memory.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { AppError } from '../errors.js';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** OWASP's minimum for scrypt (N=2^17, r=8, p=1). Hashes made at a lower cost are redone at sign-in. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 64;
/** Refuses stored hashes whose cost would take this process down (a corrupted or hostile row). */
const MAX_N = 2 ** 20;

function scrypt(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // scrypt needs 128 * N * r bytes; the default maxmem (32 MiB) is exactly too small for N=2^15, r=8.
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) =>
    scryptCb(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** True when the stored hash was made at a lower cost than `params` (rehash it after a good sign-in). */
export function needsRehash(stored: string, params: ScryptParams): boolean {
  const [, N, r, p] = stored.split('$').map(Number);
  return !(N! >= params.N && r! >= params.r && p! >= params.p);
}

/** True when password matches the stored hash; false for a wrong password or a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every(Number.isSafeInteger) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) {
    return false;
  }
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (expected.length !== KEY_BYTES) return false;
  const actual = await scrypt(password, salt, { N, r, p });
  return timingSafeEqual(actual, expected);
}

/**
 * At most `concurrent` hashes at once (each holds a libuv thread and 128 MiB); up to `queued` more
 * wait their turn; beyond that `run` refuses at once with 503 `busy` (Retry-After: 1).
 */
export class PasswordHasher {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly params: ScryptParams = DEFAULT_SCRYPT,
    private readonly concurrent = 4,
    private readonly queued = 256,
  ) {}

  hash(password: string): Promise<string> {
    return this.run(() => hashPassword(password, this.params));
  }

  verify(password: string, stored: string): Promise<boolean> {
    return this.run(() => verifyPassword(password, stored));
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrent) {
      if (this.waiting.length >= this.queued)
        throw new AppError(503, 'busy', 'too many sign-ins at once; try again in a moment', { 'retry-after': '1' });
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter (running stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
