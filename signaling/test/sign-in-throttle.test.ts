// Sign-in abuse on a real node: wrong passwords are throttled per account and per address with 429
// and Retry-After (the right password too, while the account is locked: that is the point), other
// accounts and addresses are unaffected, a forged X-Forwarded-For changes nothing without
// TRUST_PROXY, registrations per address are capped; passwords are hashed at OWASP's minimum
// (scrypt N=2^17) and an older, cheaper hash is redone at the next good sign-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, InProcessRateLimiter, SignInThrottle } from '@onair/platform';
import type { OnAirNode } from '@onair/signaling';
import { api } from '../../test/support/channel-client.js';
import { startTestNode } from '../../test/support/onair-node.js';
import { unique } from '../../test/support/unique-name.js';

const PASSWORD = 'correct horse battery';

describe('sign-in throttling', () => {
  let node: OnAirNode;
  beforeAll(async () => {
    node = await startTestNode({ LOGIN_FAILURES_PER_ACCOUNT: '5', LOGIN_FAILURES_PER_ADDRESS: '12', REGISTRATIONS_PER_ADDRESS: '6' });
  });
  afterAll(async () => {
    await node?.close();
  });

  const login = (username: string, password: string, headers: Record<string, string> = {}) =>
    fetch(`${node.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ username, password }),
    });
  const register = (username: string) => api(node.url, 'POST', '/api/auth/register', undefined, { username, password: PASSWORD });

  it('locks an account after 5 wrong passwords with 429 and Retry-After, the right one included; other accounts still sign in', async () => {
    const victim = unique('victim');
    const other = unique('other');
    expect((await register(victim)).status).toBe(201);
    expect((await register(other)).status).toBe(201);
    for (let i = 0; i < 5; i++) expect((await login(victim, `guess number ${i}`)).status).toBe(401);
    const locked = await login(victim, 'guess number 5');
    expect(locked.status).toBe(429);
    expect(await locked.json()).toEqual({ error: { code: 'too_many_attempts', message: expect.any(String) } });
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(3000);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect((await login(victim, PASSWORD)).status).toBe(429); // the guesser cannot tell a hit now
    expect((await login(other, PASSWORD)).status).toBe(200);
    // The name is compared as the account is: any case is the same account.
    expect((await login(victim.toUpperCase(), PASSWORD)).status).toBe(429);
  });

  it('caps wrong passwords per address (12 here), whatever names they try and whatever X-Forwarded-For says', async () => {
    // 6 failures were spent by the test above on this address (5 + the 429s do not count).
    let status = 0;
    let failures = 0;
    for (let i = 0; i < 20 && status !== 429; i++) {
      status = (await login(unique('nobody'), 'wrong password', { 'x-forwarded-for': `203.0.113.${i}` })).status;
      if (status === 401) failures++;
    }
    expect(status).toBe(429);
    expect(failures).toBe(12 - 5);
  });

  it('caps registrations per address', async () => {
    // 2 registrations were made above; 4 more are allowed, the 7th is refused.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await register(unique('flood'))).status);
    expect(statuses).toEqual([201, 201, 201, 201, 429]);
  });
});

describe('password hashing', () => {
  let node: OnAirNode;
  beforeAll(async () => {
    // The production cost: no PASSWORD_SCRYPT_LOG2N override.
    node = await startTestNode({ PASSWORD_SCRYPT_LOG2N: '17' });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('stores new passwords at scrypt N=2^17, r=8, p=1, and redoes a 2^15 hash at the next good sign-in', async () => {
    const fresh = unique('fresh');
    expect((await api(node.url, 'POST', '/api/auth/register', undefined, { username: fresh, password: PASSWORD })).status).toBe(201);
    const stored = async (name: string) =>
      (await node.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE username_key = $1', [name.toLowerCase()]))[0]!
        .password_hash;
    expect((await stored(fresh)).split('$').slice(0, 4)).toEqual(['scrypt', '131072', '8', '1']);

    const old = unique('old');
    expect((await api(node.url, 'POST', '/api/auth/register', undefined, { username: old, password: PASSWORD })).status).toBe(201);
    const legacy = await hashPassword(PASSWORD, { N: 2 ** 15, r: 8, p: 1 });
    await node.db.query('UPDATE users SET password_hash = $2 WHERE username_key = $1', [old.toLowerCase(), legacy]);
    expect((await api(node.url, 'POST', '/api/auth/login', undefined, { username: old, password: 'not the password' })).status).toBe(401);
    expect(await stored(old)).toBe(legacy); // a failed sign-in changes nothing
    expect((await api(node.url, 'POST', '/api/auth/login', undefined, { username: old, password: PASSWORD })).status).toBe(200);
    const upgraded = await stored(old);
    expect(upgraded.split('$')[1]).toBe('131072');
    expect((await api(node.url, 'POST', '/api/auth/login', undefined, { username: old, password: PASSWORD })).status).toBe(200);
  });
});

describe('SignInThrottle on its own', () => {
  it('counts only failures: any number of good sign-ins never locks an account', async () => {
    const throttle = new SignInThrottle(new InProcessRateLimiter(), {
      loginFailuresPerAccount: 2,
      loginFailuresPerAddress: 100,
      registrationsPerAddress: 100,
    });
    for (let i = 0; i < 50; i++) await throttle.beforeLogin('ann', '198.51.100.7');
    await throttle.loginFailed('ann', '198.51.100.7');
    await throttle.beforeLogin('ann', '198.51.100.7');
    await throttle.loginFailed('ann', '198.51.100.7');
    await expect(throttle.beforeLogin('ann', '198.51.100.7')).rejects.toMatchObject({ status: 429, code: 'too_many_attempts' });
    await throttle.beforeLogin('bob', '198.51.100.7');
  });
});
