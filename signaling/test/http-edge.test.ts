// The HTTP edge's own behaviour: every failure is the contract's JSON error body with a 4xx, and
// common client habits (a JSON content type on a body-less POST) are accepted.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
import { createUserAndStream, startTestNode } from '../../test/support/onair-node.js';

let node: OnAirNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.close());

it('accepts a body-less POST that says it is JSON', async () => {
  const s = await createUserAndStream(node.url);
  const res = await fetch(`${node.url}/api/streams/${s.id}/key/rotate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { streamKey: string }).streamKey).toMatch(/^sk_/);
});

it('answers malformed JSON with 400 and the error body', async () => {
  const res = await fetch(`${node.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"username":',
  });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
});

it('answers an unknown route with 404 and the error body', async () => {
  const res = await fetch(`${node.url}/api/nothing-here`);
  expect(res.status).toBe(404);
  expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no route for GET /api/nothing-here' } });
});

it('answers CORS preflights for the API', async () => {
  const res = await fetch(`${node.url}/api/streams`, {
    method: 'OPTIONS',
    headers: { origin: 'https://player.example', 'access-control-request-method': 'POST' },
  });
  expect(res.status).toBe(204);
  expect(res.headers.get('access-control-allow-headers')).toContain('Authorization');
});

it('filters the directory by a language written as the creator wrote it', async () => {
  const s = await createUserAndStream(node.url, 'em português');
  await fetch(`${node.url}/api/streams/${s.id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ language: 'pt_BR' }),
  });
  const list = (await (await fetch(`${node.url}/api/streams?language=pt_BR`)).json()) as { items: { id: string }[] };
  expect(list.items.map((i) => i.id)).toEqual([s.id]);
});
