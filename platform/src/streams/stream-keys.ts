// Stream keys: the secret a broadcaster's encoder presents to WHIP. A key is `sk_` + 32 random bytes
// (base64url); only its sha256 is stored (the key is high-entropy, so a fast hash cannot be
// brute-forced). Never store, log or compare a key in any other way.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const STREAM_KEY_PREFIX = 'sk_';

export interface NewStreamKey {
  /** Shown to the owner once. */
  key: string;
  /** What the database keeps. */
  hash: string;
}

export function newStreamKey(): NewStreamKey {
  const key = STREAM_KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, hash: hashStreamKey(key) };
}

export function hashStreamKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented key with a stored hash. */
export function streamKeyMatches(key: string, storedHash: string): boolean {
  const actual = Buffer.from(hashStreamKey(key), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}
