// HTTP routes for accounts: register, log in, sign out everywhere, change password, who am I. Parses and hands over to Accounts; never
// holds account rules itself and never echoes a password. The client's address (req.ip: the socket's,
// or a forwarded one only from a TRUST_PROXY proxy) goes along for sign-in throttling.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { unauthorized, type Accounts, type AuthUser } from '@onair/platform';
import { requireUser } from './auth.js';
import { parseBody } from './validate.js';

const Credentials = z.object({
  username: z.string().max(64, 'too long'),
  password: z.string().max(1024, 'too long'),
});

const PasswordChange = z.object({
  currentPassword: z.string().max(1024, 'too long'),
  newPassword: z.string().max(1024, 'too long'),
});

const userView = (u: AuthUser) => ({ id: u.id, username: u.username, role: u.role });

export function registerAuthRoutes(app: FastifyInstance, deps: { accounts: Accounts }): void {
  const { accounts } = deps;

  app.post('/api/auth/register', async (req, reply) => {
    const { username, password } = parseBody(Credentials, req.body);
    const session = await accounts.register(username, password, { address: req.ip });
    reply.code(201);
    return { user: userView(session.user), token: session.token };
  });

  app.post('/api/auth/login', async (req) => {
    const { username, password } = parseBody(Credentials, req.body);
    const session = await accounts.login(username, password, { address: req.ip });
    return { user: userView(session.user), token: session.token };
  });

  /** Signs out every session of the user (this one too): their tokens answer 401 session_revoked. */
  app.post('/api/auth/logout-all', async (req, reply) => {
    const user = await requireUser(req, accounts);
    await accounts.signOutEverywhere(user);
    return reply.code(204).send();
  });

  /** Changes the password; every other session ends, and this one gets a fresh token. */
  app.post('/api/auth/password', async (req) => {
    const user = await requireUser(req, accounts);
    const { currentPassword, newPassword } = parseBody(PasswordChange, req.body);
    const session = await accounts.changePassword(user, currentPassword, newPassword, { address: req.ip });
    return { user: userView(session.user), token: session.token };
  });

  app.get('/api/me', async (req) => {
    const who = await requireUser(req, accounts);
    const user = await accounts.getUser(who.id);
    if (!user) throw unauthorized('invalid_token', 'this account no longer exists');
    return { ...userView(user), createdAt: user.createdAt.toISOString() };
  });
}
