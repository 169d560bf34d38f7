// Sessions that can be ended, on a real node: signing out everywhere and changing the password revoke
// every older token (401 session_revoked); a channel socket is closed when its session is revoked and
// when its token expires (close code 4001); a role is read from the database, so a demoted admin
// loses admin powers without signing in again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
import { SESSION_CHECK_CACHE_MS } from '@onair/platform';
import { CLOSE_SESSION_ENDED, SESSION_SWEEP_MS } from '../src/realtime/gateway.js';
import { api, ChannelClient, registerUser } from '../../test/support/channel-client.js';
import { createUserAndStream, startTestNode } from '../../test/support/onair-node.js';

const PASSWORD = 'correct horse battery';
let node: OnAirNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => {
  await node?.close();
});

const login = (username: string, password = PASSWORD) => api(node.url, 'POST', '/api/auth/login', undefined, { username, password });
const me = (token: string) => api(node.url, 'GET', '/api/me', token);
const closed = (c: ChannelClient) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    c.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );

describe('revoking sessions', () => {
  it('sign-out everywhere ends every token of the user, this one included; signing in again works', async () => {
    const user = await registerUser(node.url);
    const other = (await login(user.username)).body.token as string;
    expect((await me(other)).status).toBe(200);
    expect((await api(node.url, 'POST', '/api/auth/logout-all', user.token)).status).toBe(204);
    for (const token of [user.token, other]) {
      const r = await me(token);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('session_revoked');
    }
    const fresh = (await login(user.username)).body.token as string;
    expect((await me(fresh)).status).toBe(200);
  });

  it('a password change needs the current password, ends the other sessions and gives this one a new token', async () => {
    const user = await registerUser(node.url);
    const elsewhere = (await login(user.username)).body.token as string;
    const wrong = await api(node.url, 'POST', '/api/auth/password', user.token, {
      currentPassword: 'not it at all',
      newPassword: 'a new passphrase',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    const weak = await api(node.url, 'POST', '/api/auth/password', user.token, { currentPassword: PASSWORD, newPassword: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.body.error.code).toBe('weak_password');
    expect((await me(elsewhere)).status).toBe(200); // refused attempts changed nothing

    const changed = await api(node.url, 'POST', '/api/auth/password', user.token, {
      currentPassword: PASSWORD,
      newPassword: 'a new passphrase',
    });
    expect(changed.status).toBe(200);
    expect((await me(changed.body.token)).status).toBe(200);
    expect((await me(elsewhere)).body.error.code).toBe('session_revoked');
    expect((await me(user.token)).body.error.code).toBe('session_revoked');
    expect((await login(user.username)).status).toBe(401);
    expect((await login(user.username, 'a new passphrase')).status).toBe(200);
  });

  it('closes a signed-in channel socket when its session is revoked; anonymous sockets stay', async () => {
    const s = await createUserAndStream(node.url, 'sessions');
    const user = await registerUser(node.url);
    const signedIn = await ChannelClient.connect(node.url, s.id, user.token);
    const anonymous = await ChannelClient.connect(node.url, s.id);
    const ended = closed(signedIn);
    const t0 = Date.now();
    expect((await api(node.url, 'POST', '/api/auth/logout-all', user.token)).status).toBe(204);
    const { code, reason } = await ended;
    expect(code).toBe(CLOSE_SESSION_ENDED);
    expect(reason).toBe('session_revoked');
    expect(Date.now() - t0).toBeLessThan(SESSION_SWEEP_MS + SESSION_CHECK_CACHE_MS + 2000);
    expect(anonymous.closeCode).toBeUndefined();
    await expect(ChannelClient.connect(node.url, s.id, user.token)).rejects.toThrow(/401/);
    await anonymous.close();
  }, 20_000);
});

describe('token expiry and roles', () => {
  it('closes a channel socket when its token expires', async () => {
    const short = await startTestNode({ JWT_TTL_SECONDS: '2' });
    try {
      const s = await createUserAndStream(short.url, 'short tokens');
      const user = await registerUser(short.url);
      const socket = await ChannelClient.connect(short.url, s.id, user.token);
      const t0 = Date.now();
      const { code, reason } = await closed(socket);
      expect(code).toBe(CLOSE_SESSION_ENDED);
      expect(reason).toBe('token_expired');
      expect(Date.now() - t0).toBeLessThan(3500);
    } finally {
      await short.close();
    }
  });

  it('reads the role from the database: a demoted admin loses admin powers without signing in again', async () => {
    const owner = await createUserAndStream(node.url, 'owned by someone else');
    const admin = await registerUser(node.url);
    await node.db.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [admin.id]);
    const token = (await login(admin.username)).body.token as string;
    expect((await api(node.url, 'PATCH', `/api/streams/${owner.id}`, token, { title: 'edited by an admin' })).status).toBe(200);
    await node.db.query(`UPDATE users SET role = 'user' WHERE id = $1`, [admin.id]);
    await new Promise((r) => setTimeout(r, SESSION_CHECK_CACHE_MS + 200));
    const after = await api(node.url, 'PATCH', `/api/streams/${owner.id}`, token, { title: 'edited by a former admin' });
    expect(after.status).toBe(403);
    expect((await me(token)).body.role).toBe('user');
  }, 20_000);
});
