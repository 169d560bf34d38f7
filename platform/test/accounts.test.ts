import { SignJWT, decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { Accounts, hashPassword, PasswordHasher, verifyPassword } from '@onair/platform';
import { STORAGE_KINDS, useTestDatabase } from '../../test/support/databases.js';
import { appError } from '../../test/support/app-error.js';
import { TEST_SCRYPT } from '../../test/support/fast-hashing.js';

const TTL_SECONDS = 60;
let seq = 0;
const uniqueName = (prefix = 'user') => `${prefix}_${process.pid % 1000}_${++seq}`;

describe('passwords', () => {
  it('a password verifies against its own hash and no other', async () => {
    const hash = await hashPassword('correct horse battery');
    expect(hash).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
    expect(await hashPassword('correct horse battery')).not.toBe(hash); // salted
  });

  it('runs a bounded number of hashes at once, queues a few more and refuses the rest with 503 busy', async () => {
    const hasher = new PasswordHasher(TEST_SCRYPT, 1, 1);
    const results = await Promise.allSettled([hasher.hash('first one'), hasher.hash('second one'), hasher.hash('third one')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ status: 503, code: 'busy', headers: { 'retry-after': '1' } });
    expect(await hasher.verify('first one', (results[0] as PromiseFulfilledResult<string>).value)).toBe(true); // the slot came back
  });

  it('a malformed or hostile stored hash never verifies', async () => {
    expect(await verifyPassword('x', 'plain')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$1048576000$8$1$AAAA$AAAA')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$16384$8$1$AAAA$AAAA')).toBe(false); // wrong key length
  });
});

describe.each(STORAGE_KINDS)('accounts on %s storage', (kind) => {
  const t = useTestDatabase(kind);
  let clockMs = Date.now();
  const open = (jwtSecret?: string) =>
    Accounts.open(t.db, { jwtSecret, jwtTtlSeconds: TTL_SECONDS, nowMs: () => clockMs, scrypt: TEST_SCRYPT });

  it('a new user can register, log in and be recognised by their token', async () => {
    const accounts = await open();
    const name = uniqueName('Alice');
    const reg = await accounts.register(name, 'password123');
    expect(reg.user).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), username: name, role: 'user' });
    expect(await accounts.verifyToken(reg.token)).toEqual(reg.user);

    const login = await accounts.login(name, 'password123');
    expect(login.user).toEqual(reg.user);
    const claims = decodeJwt(login.token);
    expect(claims).toMatchObject({ sub: reg.user.id, name, role: 'user', iss: 'onair' });
    expect(claims.exp! - claims.iat!).toBe(TTL_SECONDS);

    const user = await accounts.getUser(reg.user.id);
    expect(user).toMatchObject({ id: reg.user.id, username: name, role: 'user' });
    expect(user?.createdAt).toBeInstanceOf(Date);
  });

  it('logging in ignores the case of the username but keeps the registered spelling', async () => {
    const accounts = await open();
    const name = uniqueName('MixedCase');
    await accounts.register(name, 'password123');
    const login = await accounts.login(name.toUpperCase(), 'password123');
    expect(login.user.username).toBe(name);
  });

  it('a second register with the same name in other case is refused', async () => {
    const accounts = await open();
    const name = uniqueName('bob');
    await accounts.register(name, 'password123');
    const err = await appError(accounts.register(name.toUpperCase(), 'another-password'));
    expect([err.status, err.code]).toEqual([409, 'username_taken']);
  });

  it('concurrent registrations of one name create exactly one account', async () => {
    const accounts = await open();
    const name = uniqueName('race');
    const results = await Promise.allSettled([
      accounts.register(name, 'password123'),
      accounts.register(name.toUpperCase(), 'password123'),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rows = await t.db.query('SELECT 1 FROM users WHERE username_key = $1', [name.toLowerCase()]);
    expect(rows).toHaveLength(1);
  });

  it('a wrong password and an unknown user get the same answer', async () => {
    const accounts = await open();
    const name = uniqueName('carol');
    await accounts.register(name, 'password123');
    const wrong = await appError(accounts.login(name, 'password124'));
    const unknown = await appError(accounts.login(uniqueName('nobody'), 'password123'));
    const malformed = await appError(accounts.login('no such name!', 'password123'));
    for (const err of [wrong, unknown, malformed]) {
      expect([err.status, err.code, err.message]).toEqual([401, 'invalid_credentials', wrong.message]);
    }
  });

  it('usernames outside 3-32 letters, digits and underscores are refused', async () => {
    const accounts = await open();
    for (const bad of ['ab', 'a'.repeat(33), 'has space', 'dash-name', 'émile', '']) {
      const err = await appError(accounts.register(bad, 'password123'));
      expect([err.status, err.code]).toEqual([400, 'invalid_username']);
    }
  });

  it('passwords shorter than 8 or longer than 128 characters are refused', async () => {
    const accounts = await open();
    for (const bad of ['short', '1234567', 'x'.repeat(129)]) {
      const err = await appError(accounts.register(uniqueName(), bad));
      expect([err.status, err.code]).toEqual([400, 'weak_password']);
    }
  });

  it('the database keeps only a scrypt hash of the password', async () => {
    const accounts = await open();
    const reg = await accounts.register(uniqueName(), 'hunter2hunter2');
    const rows = await t.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [reg.user.id]);
    expect(rows[0]?.password_hash).toMatch(/^scrypt\$/);
    expect(rows[0]?.password_hash).not.toContain('hunter2');
  });

  it('a token stops working once its time-to-live has passed', async () => {
    const accounts = await open();
    const { token } = await accounts.register(uniqueName(), 'password123');
    const issuedAtMs = clockMs;
    try {
      clockMs = issuedAtMs + (TTL_SECONDS - 5) * 1000;
      await expect(accounts.verifyToken(token)).resolves.toBeTruthy();
      clockMs = issuedAtMs + (TTL_SECONDS + 5) * 1000;
      const err = await appError(accounts.verifyToken(token));
      expect([err.status, err.code]).toEqual([401, 'token_expired']);
    } finally {
      clockMs = issuedAtMs;
    }
  });

  it('a tampered, foreign or unsigned token is refused', async () => {
    const accounts = await open();
    const { token, user } = await accounts.register(uniqueName(), 'password123');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    const nowSeconds = Math.floor(clockMs / 1000);
    const foreign = await new SignJWT({ name: user.username, role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuer('onair')
      .setExpirationTime(nowSeconds + 60)
      .sign(new TextEncoder().encode('some-other-secret-that-is-long-enough!!'));
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;

    for (const bad of [`${header}.${forgedPayload}.${signature}`, foreign, unsigned, 'not-a-jwt', '']) {
      const err = await appError(accounts.verifyToken(bad));
      expect([err.status, err.code]).toEqual([401, 'invalid_token']);
    }
  });

  it('nodes without a configured secret share one through the database', async () => {
    const nodeA = await open();
    const nodeB = await open();
    const { token } = await nodeA.register(uniqueName(), 'password123');
    await expect(nodeB.verifyToken(token)).resolves.toBeTruthy();
    const rows = await t.db.query('SELECT name FROM app_secrets');
    expect(rows).toHaveLength(1);
  });

  it('a configured JWT secret is used instead of the stored one', async () => {
    const configured = await open('x'.repeat(40));
    const shared = await open();
    const { token } = await configured.register(uniqueName(), 'password123');
    await expect(configured.verifyToken(token)).resolves.toBeTruthy();
    const err = await appError(shared.verifyToken(token));
    expect(err.code).toBe('invalid_token');
  });

  it('looking up an id that is not a uuid finds nobody instead of failing', async () => {
    const accounts = await open();
    expect(await accounts.getUser('nope')).toBeNull();
    expect(await accounts.getUser('00000000-0000-4000-8000-000000000000')).toBeNull();
  });
});
