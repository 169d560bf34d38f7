// A streamer's channel over HTTP, on both storage modes: GET /api/me/streams (their streams and
// settings, never a key), moderators added by username, the chat settings as stored, the ban list
// and the activity feed (owner and moderators only), each bad input a 4xx with a code.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Accounts,
  ChatHistory,
  ChatModeration,
  createLogger,
  InProcessBus,
  MemoryDirectoryStore,
  StreamActivity,
  StreamCatalog,
  StreamDirectory,
  StreamListing,
  StreamModerators,
} from '@onair/platform';
import { registerAuthRoutes } from '../src/http/auth-routes.js';
import { installErrorHandler } from '../src/http/error-handler.js';
import { registerModerationRoutes } from '../src/http/moderation-routes.js';
import { playbackUrlsFor, registerStreamRoutes } from '../src/http/stream-routes.js';
import { STORAGE_KINDS, useTestDatabase } from '../../test/support/databases.js';
import { TEST_SCRYPT } from '../../test/support/fast-hashing.js';

let seq = 0;
const uniqueName = (prefix = 'user') => `${prefix}_${process.pid % 1000}_${++seq}`;

interface Session {
  user: { id: string; username: string };
  token: string;
}

function expectError(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json()).toEqual({ error: { code, message: expect.any(String) } });
}

describe.each(STORAGE_KINDS)("a streamer's channel over HTTP on %s storage", (kind) => {
  const t = useTestDatabase(kind);
  let app: FastifyInstance;
  let moderation: ChatModeration;

  beforeAll(async () => {
    const log = createLogger('silent');
    const accounts = await Accounts.open(t.db, { jwtTtlSeconds: 600, scrypt: TEST_SCRYPT });
    const streams = new StreamCatalog(t.db);
    const moderators = new StreamModerators(t.db, streams);
    moderation = new ChatModeration(t.db, new InProcessBus(), streams, moderators, new ChatHistory(t.db, log), log);
    app = Fastify({ logger: false });
    installErrorHandler(app, log);
    registerAuthRoutes(app, { accounts });
    const directory = new StreamDirectory(streams, new StreamListing(t.db), new MemoryDirectoryStore());
    registerStreamRoutes(app, { accounts, streams, moderators, directory, urls: playbackUrlsFor('https://onair.test') });
    registerModerationRoutes(app, { accounts, moderation, activity: new StreamActivity(t.db, moderation) });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    moderation?.close();
  });

  const register = async (name = uniqueName()): Promise<Session> =>
    (await app.inject({ method: 'POST', url: '/api/auth/register', payload: { username: name, password: 'password123' } })).json();
  const auth = (s: Session) => ({ authorization: `Bearer ${s.token}` });
  const call = (s: Session | null, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    app.inject({ method, url, headers: s ? auth(s) : {}, ...(payload ? { payload } : {}) });

  it('GET /api/me/streams lists the signed-in user’s streams with their settings, newest first, and never a key', async () => {
    const owner = await register();
    const other = await register();
    const first = (
      await call(owner, 'POST', '/api/streams', { title: 'First', tags: ['chill'], category: 'Music', language: 'fr' })
    ).json();
    const second = (await call(owner, 'POST', '/api/streams', { title: 'Second' })).json();
    await call(other, 'POST', '/api/streams', { title: 'Not mine' });

    const res = await call(owner, 'GET', '/api/me/streams');
    expect(res.statusCode).toBe(200);
    const items = res.json().items as Array<Record<string, unknown>>;
    expect(items.map((s) => s.id)).toEqual([second.id, first.id]);
    expect(items[1]).toMatchObject({
      title: 'First',
      tags: ['chill'],
      category: 'Music',
      language: 'fr',
      live: false,
      endedAt: null,
      ingest: { whip: `https://onair.test/whip/${first.id}` },
    });
    expect(res.body).not.toContain(first.streamKey);
    expect(res.body).not.toMatch(/streamKey|sk_/);
    expect((await call(other, 'GET', '/api/me/streams')).json().items.map((s: { title: string }) => s.title)).toEqual(['Not mine']);
    expect((await call(await register(), 'GET', '/api/me/streams')).json()).toEqual({ items: [] });
    expectError(await call(null, 'GET', '/api/me/streams'), 401, 'not_signed_in');
  });

  it('the owner adds a moderator by username; unknown names, the owner and bad bodies are 4xx', async () => {
    const owner = await register();
    const mod = await register(uniqueName('Moddy'));
    const stream = (await call(owner, 'POST', '/api/streams', { title: 'Moderated' })).json();
    const added = await call(owner, 'POST', `/api/streams/${stream.id}/moderators`, { username: mod.user.username.toUpperCase() });
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json()).toEqual({ userId: mod.user.id, username: mod.user.username });
    expectError(
      await call(owner, 'POST', `/api/streams/${stream.id}/moderators`, { username: 'nobody_by_this_name' }),
      404,
      'user_not_found',
    );
    expectError(
      await call(owner, 'POST', `/api/streams/${stream.id}/moderators`, { username: owner.user.username }),
      400,
      'owner_is_moderator',
    );
    expectError(await call(owner, 'POST', `/api/streams/${stream.id}/moderators`, { name: 'x' }), 400, 'invalid_body');
    expectError(await call(mod, 'POST', `/api/streams/${stream.id}/moderators`, { username: owner.user.username }), 403, 'forbidden');
  });

  it('bans, the activity feed and blocked terms are read by the owner and moderators only; the chat mode by anyone', async () => {
    const owner = await register();
    const mod = await register();
    const viewer = await register();
    const troll = await register();
    const stream = (await call(owner, 'POST', '/api/streams', { title: 'Busy chat' })).json();
    const base = `/api/streams/${stream.id}`;

    expect((await call(owner, 'GET', `${base}/chat-settings`)).json()).toEqual({ slowModeSeconds: 0, blockedTerms: [] });
    await call(owner, 'PATCH', `${base}/chat-settings`, { slowModeSeconds: 10, blockedTerms: ['spoiler'] });
    expect((await call(owner, 'GET', `${base}/chat-settings`)).json()).toEqual({ slowModeSeconds: 10, blockedTerms: ['spoiler'] });

    await call(owner, 'POST', `${base}/moderators`, { userId: mod.user.id });
    expect((await call(mod, 'POST', `${base}/bans`, { userId: troll.user.id, durationSeconds: 600 })).statusCode).toBe(201);
    expect((await call(owner, 'POST', `${base}/bans`, { userId: viewer.user.id })).statusCode).toBe(201);
    await t.db.query(
      `INSERT INTO tips (id, stream_id, from_user_id, from_username, to_user_id, amount, fee, currency, message, idempotency_key, request_hash)
       VALUES ($1, $2, $3, $4, $5, 500, 25, 'USD', 'great show', $6, 'h')`,
      [randomUUID(), stream.id, viewer.user.id, viewer.user.username, owner.user.id, randomUUID()],
    );

    const bans = (await call(mod, 'GET', `${base}/bans`)).json().items as Array<Record<string, unknown>>;
    expect(bans).toHaveLength(2);
    expect(bans).toContainEqual({
      userId: troll.user.id,
      username: troll.user.username,
      until: expect.any(String),
      reason: '',
      bannedBy: mod.user.username,
      since: expect.any(String),
    });
    expect(bans).toContainEqual(expect.objectContaining({ userId: viewer.user.id, until: null, bannedBy: owner.user.username }));
    const trollUntil = Date.parse(bans.find((b) => b.userId === troll.user.id)!.until as string);
    expect(trollUntil - Date.now()).toBeGreaterThan(590_000);

    const feed = (await call(owner, 'GET', `${base}/activity?limit=10`)).json().items as Array<{ kind: string; username: string }>;
    expect(feed.map((e) => `${e.kind}:${e.username}`).sort()).toEqual(
      [
        `tip:${viewer.user.username}`,
        `ban:${viewer.user.username}`,
        `timeout:${troll.user.username}`,
        `moderator_added:${mod.user.username}`,
      ].sort(),
    );
    expect(feed.find((e) => e.kind === 'tip')).toMatchObject({ amount: 500, currency: 'USD', message: 'great show' });

    await call(owner, 'DELETE', `${base}/bans/${troll.user.id}`);
    expect((await call(owner, 'GET', `${base}/bans`)).json().items.map((b: { userId: string }) => b.userId)).toEqual([viewer.user.id]);

    // Anyone sees the chat mode; only the owner and moderators the blocked terms.
    expect((await call(mod, 'GET', `${base}/chat-settings`)).json()).toEqual({ slowModeSeconds: 10, blockedTerms: ['spoiler'] });
    expect((await call(viewer, 'GET', `${base}/chat-settings`)).json()).toEqual({ slowModeSeconds: 10 });
    expect((await call(null, 'GET', `${base}/chat-settings`)).json()).toEqual({ slowModeSeconds: 10 });
    expectError(await call(null, 'GET', '/api/streams/nosuchstream/chat-settings'), 404, 'stream_not_found');
    for (const path of ['bans', 'activity']) {
      expectError(await call(viewer, 'GET', `${base}/${path}`), 403, 'forbidden');
      expectError(await call(null, 'GET', `${base}/${path}`), 401, 'not_signed_in');
      expectError(await call(owner, 'GET', `/api/streams/nosuchstream/${path}`), 404, 'stream_not_found');
    }
    expectError(await call(owner, 'GET', `${base}/activity?limit=lots`), 400, 'invalid_query');
  });
});
