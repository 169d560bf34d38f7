// Throttles online password guessing and account floods: failed sign-ins per account and per client
// address, and registrations per address, each in an hourly window (counters in Redis when
// REDIS_URL is set, so every node sees the same count; in memory otherwise). A throttled request is
// refused before any password is hashed, with 429 `too_many_attempts` and Retry-After. Only failures
// count towards the sign-in limits, so people who type their password right are never slowed, and
// the per-address limits are high enough for a campus or a stadium behind one NAT.
import type { RateLimiter } from '../chat/rate-limiter.js';
import { AppError } from '../errors.js';

export interface SignInLimits {
  /** Wrong passwords for one account per hour before its sign-ins are refused until the hour ends. */
  loginFailuresPerAccount: number;
  /** Wrong passwords (any accounts) from one address per hour. */
  loginFailuresPerAddress: number;
  /** New accounts from one address per hour. */
  registrationsPerAddress: number;
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = {
  loginFailuresPerAccount: 20,
  loginFailuresPerAddress: 500,
  registrationsPerAddress: 100,
};

const HOUR_MS = 3_600_000;

export class SignInThrottle {
  constructor(
    private readonly limiter: RateLimiter,
    readonly limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS,
  ) {}

  /** Refuses a sign-in when the account or the address has used up its failures. */
  async beforeLogin(usernameKey: string, address: string): Promise<void> {
    const [account, from] = await Promise.all([
      this.limiter.peek(`login-fail:acct:${usernameKey}`, this.limits.loginFailuresPerAccount),
      this.limiter.peek(`login-fail:addr:${address}`, this.limits.loginFailuresPerAddress),
    ]);
    for (const d of [account, from]) if (!d.allowed) throw tooMany('too many wrong passwords; try again later', d.retryAfterMs);
  }

  /** Counts a wrong password (or an unknown name) against the account name and the address. */
  async loginFailed(usernameKey: string, address: string): Promise<void> {
    await Promise.all([
      this.limiter.hit(`login-fail:acct:${usernameKey}`, this.limits.loginFailuresPerAccount, HOUR_MS),
      this.limiter.hit(`login-fail:addr:${address}`, this.limits.loginFailuresPerAddress, HOUR_MS),
    ]);
  }

  /** Counts a registration attempt from the address; refuses it over the limit. */
  async register(address: string): Promise<void> {
    const d = await this.limiter.hit(`register:addr:${address}`, this.limits.registrationsPerAddress, HOUR_MS);
    if (!d.allowed) throw tooMany('too many new accounts from this address; try again later', d.retryAfterMs);
  }
}

function tooMany(message: string, retryAfterMs: number): AppError {
  return new AppError(429, 'too_many_attempts', message, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) });
}
