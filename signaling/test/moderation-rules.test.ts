// Moderation without holes, on a real node (PostgreSQL for the ledger, NATS for chat): a banned or
// timed-out user cannot tip (no money moves), react, or appear in the history a joiner or the HTTP
// history gets; tip messages pass the chat's filters, after the same normalisation (zero-width and
// bidi controls, NFKC) that blocked terms now apply; moderators do not ban each other and a banned
// moderator has no powers; reserved usernames and bidi controls in titles are refused or removed.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
import { api, ChannelClient, registerUser } from '../../test/support/channel-client.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { TEST_NATS_URL } from '../../test/support/nats-server.js';
import { createUserAndStream, startTestNode, waitFor, type TestStream } from '../../test/support/onair-node.js';

let node: OnAirNode;
let database: TestDatabase;
const clients: ChannelClient[] = [];

beforeAll(async () => {
  database = await createTestDatabase('postgres');
  node = await startTestNode({ DATABASE_URL: database.url!, NATS_URL: TEST_NATS_URL, TIP_MIN_AMOUNT: '5', TEST_FUNDS: 'on' });
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await node?.close();
  await database?.dispose();
});

const connect = async (streamId: string, token?: string) => {
  const c = await ChannelClient.connect(node.url, streamId, token);
  clients.push(c);
  return c;
};
const tip = (streamId: string, token: string, body: object) =>
  fetch(`${node.url}/api/streams/${streamId}/tips`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': randomUUID() },
    body: JSON.stringify(body),
  });
const balance = async (token: string) => (await api(node.url, 'GET', '/api/wallet', token)).body.balance as number;
async function funded(): Promise<{ id: string; token: string; username: string }> {
  const user = await registerUser(node.url);
  expect((await api(node.url, 'POST', '/api/wallet/topups', user.token, { amount: 5000 })).status).toBe(201);
  return user;
}
const ban = (s: TestStream, token: string, userId: string, durationSeconds?: number) =>
  api(node.url, 'POST', `/api/streams/${s.id}/bans`, token, durationSeconds ? { userId, durationSeconds } : { userId });

describe('a banned or timed-out user', () => {
  it('cannot tip: 403 banned (with Retry-After for a timeout), and no money moves', async () => {
    const s = await createUserAndStream(node.url, 'no tips from the banned');
    const banned = await funded();
    const timedOut = await funded();
    expect((await ban(s, s.token, banned.id)).status).toBe(201);
    expect((await ban(s, s.token, timedOut.id, 600)).status).toBe(201);

    const refused = await tip(s.id, banned.token, { amount: 100, message: 'let me back in' });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: { code: 'banned', message: expect.any(String) } });
    const timed = await tip(s.id, timedOut.token, { amount: 100 });
    expect(timed.status).toBe(403);
    expect(Number(timed.headers.get('retry-after'))).toBeGreaterThan(590);
    expect(await balance(banned.token)).toBe(5000);
    expect(await balance(timedOut.token)).toBe(5000);

    // Lifted: the same user tips again.
    expect((await api(node.url, 'DELETE', `/api/streams/${s.id}/bans/${banned.id}`, s.token)).status).toBe(204);
    expect((await tip(s.id, banned.token, { amount: 100 })).status).toBe(201);
    expect(await balance(banned.token)).toBe(4900);
  });

  it("cannot react: the reaction is refused with 'banned' and never counted", async () => {
    const s = await createUserAndStream(node.url, 'no reactions from the banned');
    const user = await registerUser(node.url);
    const watcher = await connect(s.id);
    const reacting = await connect(s.id, user.token);
    expect((await ban(s, s.token, user.id, 300)).status).toBe(201);
    await waitFor('the ban to reach the node', async () => {
      reacting.send({ reaction: { emoji: '🔥' } });
      await new Promise((r) => setTimeout(r, 100));
      return reacting.errors.some((e) => e.code === 'banned');
    });
    const other = await connect(s.id);
    other.send({ reaction: { emoji: '👏' } });
    await waitFor('the allowed reaction', () => watcher.of('reactions').some((r) => (r.counts?.['👏'] ?? 0) > 0));
    expect(watcher.of('reactions').some((r) => (r.counts?.['🔥'] ?? 0) > 0)).toBe(false);
  });

  it('is left out of the history a joiner gets and of GET /chat, and comes back when unbanned', async () => {
    const s = await createUserAndStream(node.url, 'history without the banned');
    const troll = await registerUser(node.url);
    const fan = await registerUser(node.url);
    const trollSocket = await connect(s.id, troll.token);
    const fanSocket = await connect(s.id, fan.token);
    trollSocket.chat('troll words');
    fanSocket.chat('fan words');
    await fanSocket.waitForText('troll words');
    await fanSocket.waitForText('fan words');
    expect((await ban(s, s.token, troll.id)).status).toBe(201);

    const historyTexts = async () => {
      const joiner = await connect(s.id);
      await waitFor('history', () => joiner.frames.some((f) => f.chat?.history));
      return joiner.frames.flatMap((f) => (f.chat?.history ? (f.chat.messages ?? []) : [])).map((m) => m.text);
    };
    await waitFor('the history to settle', async () => (await historyTexts()).includes('fan words'));
    expect(await historyTexts()).toEqual(['fan words']);
    const page = await api(node.url, 'GET', `/api/streams/${s.id}/chat`);
    expect(page.body.items.map((m: { text: string }) => m.text)).toEqual(['fan words']);

    expect((await api(node.url, 'DELETE', `/api/streams/${s.id}/bans/${troll.id}`, s.token)).status).toBe(204);
    const after = await api(node.url, 'GET', `/api/streams/${s.id}/chat`);
    expect(after.body.items.map((m: { text: string }) => m.text)).toEqual(['troll words', 'fan words']);
  });
});

describe('tip messages', () => {
  it('pass the blocked terms and the profanity filter, also when disguised with zero-width or fullwidth characters', async () => {
    const s = await createUserAndStream(node.url, 'filtered tips');
    expect((await api(node.url, 'PATCH', `/api/streams/${s.id}/chat-settings`, s.token, { blockedTerms: ['spoiler'] })).status).toBe(200);
    const fan = await funded();
    for (const message of ['big spoiler here', 'big spo\u200Biler here', 'big \u202Espoiler', 'ｓｐｏｉｌｅｒ', 'you are shit']) {
      const res = await tip(s.id, fan.token, { amount: 10, message });
      expect(res.status, message).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('blocked_term');
    }
    expect(await balance(fan.token)).toBe(5000);
    expect((await tip(s.id, fan.token, { amount: 10, message: 'great show' })).status).toBe(201);
  });

  it('chat applies the same normalisation: a zero-width character does not hide a blocked term', async () => {
    const s = await createUserAndStream(node.url, 'filtered chat');
    expect((await api(node.url, 'PATCH', `/api/streams/${s.id}/chat-settings`, s.token, { blockedTerms: ['spoiler'] })).status).toBe(200);
    const user = await registerUser(node.url);
    const socket = await connect(s.id, user.token);
    socket.chat('spo\u200Biler alert');
    await socket.waitForError('blocked_term');
  });
});

describe('moderators', () => {
  it("cannot ban or lift the ban of another moderator; the owner can, and a banned moderator's powers are suspended", async () => {
    const s = await createUserAndStream(node.url, 'moderator rules');
    const alice = await registerUser(node.url);
    const bob = await registerUser(node.url);
    const viewer = await registerUser(node.url);
    for (const m of [alice, bob]) {
      expect((await api(node.url, 'POST', `/api/streams/${s.id}/moderators`, s.token, { userId: m.id })).status).toBe(201);
    }
    const byAlice = await ban(s, alice.token, bob.id);
    expect(byAlice.status).toBe(403);
    expect(byAlice.body.error.code).toBe('cannot_ban_moderator');
    expect((await ban(s, alice.token, viewer.id, 60)).status).toBe(201); // moderators still ban viewers

    expect((await ban(s, s.token, bob.id)).status).toBe(201); // the owner can
    const selfUnban = await api(node.url, 'DELETE', `/api/streams/${s.id}/bans/${bob.id}`, bob.token);
    expect(selfUnban.status).toBe(403);
    const byBob = await ban(s, bob.token, viewer.id);
    expect(byBob.status).toBe(403); // suspended while banned
    const liftByAlice = await api(node.url, 'DELETE', `/api/streams/${s.id}/bans/${bob.id}`, alice.token);
    expect(liftByAlice.status).toBe(403);
    expect(liftByAlice.body.error.code).toBe('cannot_ban_moderator');

    expect((await api(node.url, 'DELETE', `/api/streams/${s.id}/bans/${bob.id}`, s.token)).status).toBe(204);
    expect((await ban(s, bob.token, viewer.id, 60)).status).toBe(201); // powers back
  });
});

describe('names and titles', () => {
  it('refuses reserved usernames in any case', async () => {
    for (const username of ['admin', 'Moderator', 'ONAIR', 'support']) {
      const r = await api(node.url, 'POST', '/api/auth/register', undefined, { username, password: 'correct horse battery' });
      expect(r.status, username).toBe(400);
      expect(r.body.error.code).toBe('reserved_username');
    }
  });

  it('removes bidi and zero-width controls from a title, and refuses a title that is nothing else', async () => {
    const s = await createUserAndStream(node.url, 'plain');
    const edited = await api(node.url, 'PATCH', `/api/streams/${s.id}`, s.token, { title: 'Speed\u202Enur \u200Bgame' });
    expect(edited.status).toBe(200);
    expect((await api(node.url, 'GET', `/api/streams/${s.id}`)).body.title).toBe('Speednur game');
    const empty = await api(node.url, 'PATCH', `/api/streams/${s.id}`, s.token, { title: '\u202E\u200B' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('invalid_title');
  });
});
