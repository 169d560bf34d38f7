import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORAGE_KINDS, useTestDatabase } from '../../test/support/databases.js';
import { expectApiError, streamRoutesApp, TEST_BASE_URL } from '../../test/support/stream-routes-app.js';
import { unique } from '../../test/support/unique-name.js';

const BASE_URL = TEST_BASE_URL;
const uniqueName = (prefix = 'user') => unique(prefix);

interface Session {
  user: { id: string; username: string; role: string };
  token: string;
}

const expectError = expectApiError;

describe.each(STORAGE_KINDS)('account and stream routes on %s storage', (kind) => {
  const t = useTestDatabase(kind);
  let app: FastifyInstance;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ app, close } = await streamRoutesApp(t.db, { authRoutes: true }));
  });
  afterAll(async () => {
    await close?.();
  });

  const register = async (name = uniqueName()): Promise<Session> => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/register', payload: { username: name, password: 'password123' } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };
  const auth = (s: Session) => ({ authorization: `Bearer ${s.token}` });
  const createStream = async (owner: Session, payload: object = { title: 'My stream' }) => {
    const res = await app.inject({ method: 'POST', url: '/api/streams', headers: auth(owner), payload });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };

  it('register, login and /api/me agree on who the user is', async () => {
    const name = uniqueName('Dora');
    const reg = await register(name);
    expect(reg).toEqual({ user: { id: expect.any(String), username: name, role: 'user' }, token: expect.any(String) });

    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: name, password: 'password123' } });
    expect(login.statusCode).toBe(200);
    expect(login.json().user).toEqual(reg.user);

    const me = await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${login.json().token}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({ ...reg.user, createdAt: expect.any(String) });
    expect(me.body).not.toContain('password');
  });

  it('a second register with the same name in other case gets 409 username_taken', async () => {
    const name = uniqueName('Eve');
    await register(name);
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { username: name.toLowerCase(), password: 'password123' },
    });
    expectError(res, 409, 'username_taken');
  });

  it('a wrong password gets 401 invalid_credentials', async () => {
    const { user } = await register();
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: user.username, password: 'wrong-password' },
    });
    expectError(res, 401, 'invalid_credentials');
  });

  it('/api/me needs a valid bearer token', async () => {
    expectError(await app.inject({ method: 'GET', url: '/api/me' }), 401, 'not_signed_in');
    expectError(await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: 'Basic abc' } }), 401, 'not_signed_in');
    expectError(await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: 'Bearer nope' } }), 401, 'invalid_token');
  });

  it.each([
    ['no body', undefined, 'invalid_body'],
    ['a missing password', { username: 'someone' }, 'invalid_body'],
    ['a numeric username', { username: 12345, password: 'password123' }, 'invalid_body'],
    ['an array body', [1, 2], 'invalid_body'],
    ['a short username', { username: 'ab', password: 'password123' }, 'invalid_username'],
    ['a short password', { username: 'someone_ok', password: 'short' }, 'weak_password'],
  ])('registering with %s gets 400 with a code', async (_name, payload, code) => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/register', payload: payload as object });
    expectError(res, 400, code);
  });

  it('malformed JSON gets a 400 JSON error, not a 500', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"username":',
    });
    expectError(res, 400, 'bad_request');
  });

  it('creating a stream returns its key and ingest URL once; reading it never shows the key', async () => {
    const owner = await register();
    const created = await createStream(owner, { title: ' Chess ', tags: ['Chess', 'Blitz'], category: 'Games', language: 'EN' });
    expect(created).toMatchObject({
      id: expect.stringMatching(/^[A-Za-z0-9]{12}$/),
      title: 'Chess',
      tags: ['chess', 'blitz'],
      category: 'Games',
      language: 'en',
      ownerId: owner.user.id,
      live: false,
      streamKey: expect.stringMatching(/^sk_/),
      ingest: { whip: `${BASE_URL}/whip/${created.id}` },
    });

    const shown = await app.inject({ method: 'GET', url: `/api/streams/${created.id}` });
    expect(shown.statusCode).toBe(200);
    expect(shown.json()).toEqual({
      id: created.id,
      title: 'Chess',
      tags: ['chess', 'blitz'],
      category: 'Games',
      language: 'en',
      ownerId: owner.user.id,
      ownerName: owner.user.username,
      viewerCount: 0,
      live: false,
      startedAt: null,
      endedAt: null,
      playback: {
        whep: `${BASE_URL}/whep/${created.id}`,
        hls: `${BASE_URL}/hls/${created.id}/index.m3u8`,
        dash: `${BASE_URL}/dash/${created.id}/manifest.mpd`,
      },
      thumbnail: null, // only while live
    });
    expect(shown.body).not.toContain(created.streamKey);
    expect(shown.body).not.toContain('streamKey');

    const listed = await app.inject({ method: 'GET', url: `/api/streams?category=Games&limit=100` });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().items).toContainEqual(shown.json());
    expect(listed.body).not.toContain(created.streamKey);
  });

  it('the owner can rotate the key; others get 403', async () => {
    const owner = await register();
    const stream = await createStream(owner);
    const rotated = await app.inject({ method: 'POST', url: `/api/streams/${stream.id}/key/rotate`, headers: auth(owner) });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().streamKey).toMatch(/^sk_/);
    expect(rotated.json().streamKey).not.toBe(stream.streamKey);

    const stranger = await register();
    const denied = await app.inject({ method: 'POST', url: `/api/streams/${stream.id}/key/rotate`, headers: auth(stranger) });
    expectError(denied, 403, 'forbidden');
  });

  it('a stream can be edited by its owner, not by another user', async () => {
    const owner = await register();
    const stream = await createStream(owner);
    const edited = await app.inject({
      method: 'PATCH',
      url: `/api/streams/${stream.id}`,
      headers: auth(owner),
      payload: { title: 'Renamed', tags: ['new tag'] },
    });
    expect(edited.statusCode, edited.body).toBe(200);
    expect(edited.json()).toMatchObject({ id: stream.id, title: 'Renamed', tags: ['new-tag'] });

    const stranger = await register();
    const res = await app.inject({
      method: 'PATCH',
      url: `/api/streams/${stream.id}`,
      headers: auth(stranger),
      payload: { title: 'Mine now' },
    });
    expectError(res, 403, 'forbidden');
    const anonymous = await app.inject({ method: 'PATCH', url: `/api/streams/${stream.id}`, payload: { title: 'Mine now' } });
    expectError(anonymous, 401, 'not_signed_in');
  });

  it('the owner manages moderators by user id', async () => {
    const owner = await register();
    const mod = await register();
    const stream = await createStream(owner);
    const url = `/api/streams/${stream.id}/moderators`;

    const added = await app.inject({ method: 'POST', url, headers: auth(owner), payload: { userId: mod.user.id } });
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json()).toEqual({ userId: mod.user.id, username: mod.user.username });
    expect((await app.inject({ method: 'GET', url })).json()).toEqual({ items: [added.json()] });

    expectError(await app.inject({ method: 'POST', url, headers: auth(mod), payload: { userId: mod.user.id } }), 403, 'forbidden');
    expectError(await app.inject({ method: 'POST', url, headers: auth(owner), payload: { userId: 'bob' } }), 400, 'invalid_body');
    expectError(await app.inject({ method: 'DELETE', url: `${url}/not-a-uuid`, headers: auth(owner) }), 400, 'invalid_params');

    const removed = await app.inject({ method: 'DELETE', url: `${url}/${mod.user.id}`, headers: auth(owner) });
    expect(removed.statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url })).json()).toEqual({ items: [] });
  });

  it('pages of GET /api/streams join up with no duplicates or gaps', async () => {
    const owner = await register();
    const category = uniqueName('pages');
    const ids = new Set<string>();
    for (let i = 0; i < 7; i++) ids.add((await createStream(owner, { title: `p${i}`, category })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const qs = new URLSearchParams({ category, limit: '3', sort: 'recent', ...(cursor ? { cursor } : {}) });
      const res = await app.inject({ method: 'GET', url: `/api/streams?${qs}` });
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json() as { items: { id: string }[]; nextCursor: string | null };
      seen.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(ids);
  });

  it.each([
    ['a bad cursor', '/api/streams?cursor=not-a-cursor', 400, 'invalid_cursor'],
    ['a non-numeric limit', '/api/streams?limit=ten', 400, 'invalid_query'],
    ['live=maybe', '/api/streams?live=maybe', 400, 'invalid_query'],
    ['an unknown sort', '/api/streams?sort=random', 400, 'invalid_query'],
    ['a repeated parameter', '/api/streams?q=a&q=b', 400, 'invalid_query'],
    ['an unknown stream', '/api/streams/doesnotexist', 404, 'stream_not_found'],
    ['an overlong stream id', `/api/streams/${'x'.repeat(65)}`, 400, 'invalid_params'],
    ['an unknown route', '/api/nothing-here', 404, 'not_found'],
  ])('GET with %s gets a JSON error with a code', async (_name, url, status, code) => {
    expectError(await app.inject({ method: 'GET', url }), status, code);
  });

  it.each([
    ['no title', {}, 'invalid_body'],
    ['an empty title', { title: ' ' }, 'invalid_title'],
    ['tags that are not a list', { title: 'x', tags: 'a,b' }, 'invalid_body'],
    ['a bad tag', { title: 'x', tags: ['c++'] }, 'invalid_tags'],
    ['a bad language', { title: 'x', language: 'klingon!' }, 'invalid_language'],
  ])('creating a stream with %s gets 400 with a code', async (_name, payload, code) => {
    const owner = await register();
    const res = await app.inject({ method: 'POST', url: '/api/streams', headers: auth(owner), payload });
    expectError(res, 400, code);
  });

  it('bad stream writes get 4xx JSON errors', async () => {
    const owner = await register();
    const stream = await createStream(owner);
    expectError(await app.inject({ method: 'POST', url: '/api/streams', payload: { title: 'x' } }), 401, 'not_signed_in');
    expectError(
      await app.inject({ method: 'PATCH', url: `/api/streams/${stream.id}`, headers: auth(owner), payload: { live: true } }),
      400,
      'invalid_body',
    );
    expectError(
      await app.inject({ method: 'PATCH', url: '/api/streams/doesnotexist', headers: auth(owner), payload: { title: 'x' } }),
      404,
      'stream_not_found',
    );
    expectError(
      await app.inject({ method: 'POST', url: '/api/streams/doesnotexist/key/rotate', headers: auth(owner) }),
      404,
      'stream_not_found',
    );
  });
});
