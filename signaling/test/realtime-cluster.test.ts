// The real-time channel across two gateway nodes, as in the distributed mode: real NATS between
// them (a private nats-server, so it can be stopped), one PostgreSQL, real Redis for rate limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamTopics } from '@onair/platform';
import type { OnAirNode } from '@onair/signaling';
import { api, ChannelClient, registerUser } from '../../test/support/channel-client.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { PrivateNatsServer } from '../../test/support/nats-server.js';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { publish, watch, type Viewer } from '../../test/support/werift-peers.js';

const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('real-time channel across two nodes (NATS, PostgreSQL, Redis)', () => {
  let nats: PrivateNatsServer;
  let database: TestDatabase;
  let a: OnAirNode;
  let b: OnAirNode;
  const clients: ChannelClient[] = [];
  const connect = async (node: OnAirNode, streamId: string, token?: string) => {
    const c = await ChannelClient.connect(node.url, streamId, token);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    nats = await PrivateNatsServer.start();
    database = await createTestDatabase('postgres');
    const env = { NATS_URL: nats.url, DATABASE_URL: database.url!, REDIS_URL: TEST_REDIS_URL };
    a = await startTestNode(env);
    b = await startTestNode(env);
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await a?.close();
    await b?.close();
    await database?.dispose();
    await nats?.stop();
  });

  it('a message sent on node A reaches a viewer on node B', async () => {
    expect(a.bus.kind).toBe('nats');
    const s = await createUserAndStream(a.url, 'two nodes');
    const user = await registerUser(a.url);
    const viewerB = await connect(b, s.id);
    const sender = await connect(a, s.id, user.token);
    sender.chat('from A');
    await viewerB.waitForText('from A');
    await sender.waitForText('from A');
  });

  it('a ban made on node A stops the user on node B within a second', async () => {
    const s = await createUserAndStream(a.url, 'ban across');
    const user = await registerUser(a.url);
    const viewerA = await connect(a, s.id);
    const userOnB = await connect(b, s.id, user.token);
    userOnB.chat('before the ban');
    await viewerA.waitForText('before the ban');
    expect((await api(a.url, 'POST', `/api/streams/${s.id}/bans`, s.token, { userId: user.id })).status).toBe(201);
    await waitFor('ban seen on B', () => userOnB.of('moderation').some((m) => m.bannedUserId === user.id), 1000);
    userOnB.chat('after the ban');
    await userOnB.waitForError('banned');
    await sleep(300);
    expect(viewerA.chatMessages.some((m) => m.text === 'after the ban')).toBe(false);
  });

  it('a message deleted on one node disappears on both', async () => {
    const s = await createUserAndStream(a.url, 'delete across');
    const user = await registerUser(a.url);
    const viewerA = await connect(a, s.id);
    const viewerB = await connect(b, s.id);
    const sender = await connect(b, s.id, user.token);
    sender.chat('soon gone');
    await viewerA.waitForText('soon gone');
    const id = viewerA.chatMessages.find((m) => m.text === 'soon gone')!.id!;
    await waitFor('stored', async () => (await api(a.url, 'GET', `/api/streams/${s.id}/chat`)).body.items.length === 1);
    expect((await api(a.url, 'DELETE', `/api/streams/${s.id}/messages/${id}`, s.token)).status).toBe(204);
    for (const v of [viewerA, viewerB]) await waitFor('deletion', () => v.of('moderation').some((m) => m.deletedMessageId === id));
    expect((await api(b.url, 'GET', `/api/streams/${s.id}/chat`)).body.items).toEqual([]);
  });

  it("shares a user's rate limit between nodes through Redis", async () => {
    const s = await createUserAndStream(a.url, 'limits across');
    const user = await registerUser(a.url);
    const onA = await connect(a, s.id, user.token);
    const onB = await connect(b, s.id, user.token);
    for (let i = 0; i < 3; i++) onA.chat(`a${i}`);
    await onA.waitForText('a2');
    for (let i = 0; i < 3; i++) onB.chat(`b${i}`);
    await onB.waitForError('rate_limited');
    await sleep(300);
    expect(onB.chatMessages.filter((m) => m.text?.startsWith('b')).length).toBe(2);
  });

  it("shows node A's players to chat sockets on node B (chat sockets themselves are not viewers), and tells B when the stream goes live on A", async () => {
    const s = await createUserAndStream(a.url, 'count across');
    const onA = [await connect(a, s.id), await connect(a, s.id)];
    const onB = await connect(b, s.id);
    await waitFor('a count on B', () => onB.of('viewers').length > 0, 7000);
    expect(onB.of('viewers').at(-1)?.count).toBe(0);
    const pub = await publish(a.url, s.id, s.streamKey, 'vp8');
    const viewers: Viewer[] = [];
    try {
      await waitFor('live on B', () => onB.of('status').some((st) => st.live), 20_000);
      viewers.push(await watch(a.url, s.id, { clientId: 'cluster-viewer-1' }));
      await viewers[0]!.connected;
      await waitFor('a total of 1 on B', () => onB.of('viewers').at(-1)?.count === 1, 7000);
      await waitFor('a total of 1 on A', () => onA[0]!.of('viewers').at(-1)?.count === 1, 7000);
    } finally {
      await Promise.all(viewers.map((v) => v.stop()));
      await pub.stop();
    }
  });

  it('a moderator granted on node A takes the role on node B without reconnecting (every message, no slow mode); revoking takes it back', async () => {
    const s = await createUserAndStream(a.url, 'roles across');
    const user = await registerUser(a.url);
    const userOnB = await connect(b, s.id, user.token);
    const viewerB = await connect(b, s.id);
    expect((await api(a.url, 'PATCH', `/api/streams/${s.id}/chat-settings`, s.token, { slowModeSeconds: 60 })).status).toBe(200);
    await waitFor('slow mode on B', () => userOnB.of('status').some((st) => st.slowModeSeconds === 60));
    // A flood published on NATS the way other nodes publish chat: more than a person can read.
    const flood = async (tag: string) => {
      for (let i = 0; i < 200; i++) {
        const m = {
          id: `${tag}${i}`,
          userId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
          username: 'crowd',
          text: `${tag} ${i}`,
          sentAtMs: Date.now(),
        };
        streamTopics.chat.publish(a.bus, s.id, m);
      }
      await waitFor(`flood ${tag} seen`, () => [userOnB, viewerB].every((c) => c.chatMessages.some((m) => m.id?.startsWith(tag))));
      await sleep(500); // the rest of the flood's windows
      const batches = userOnB.of('chat').filter((b) => b.messages?.some((m) => m.id?.startsWith(tag)));
      return { sampled: batches.some((b) => b.sampled), received: batches.reduce((n, b) => n + (b.messages?.length ?? 0), 0) };
    };
    const roleOnB = (moderator: boolean) =>
      b.gateway.channel(s.id)?.viewers &&
      [...b.gateway.channel(s.id)!.viewers].some((v) => v.user?.id === user.id && v.moderator === moderator);

    userOnB.chat('first');
    await userOnB.waitForText('first');
    userOnB.chat('second');
    await userOnB.waitForError('slow_mode');
    expect(await flood('r')).toMatchObject({ sampled: true });

    expect((await api(a.url, 'POST', `/api/streams/${s.id}/moderators`, s.token, { userId: user.id })).status).toBe(201);
    await waitFor('moderator on B', () => roleOnB(true), 1000);
    userOnB.chat('third');
    userOnB.chat('fourth');
    await userOnB.waitForText('fourth');
    expect(userOnB.errors.filter((e) => e.code === 'slow_mode')).toHaveLength(1);
    expect(await flood('m')).toEqual({ sampled: false, received: 200 });
    expect((await flood('v')) && viewerB.of('chat').some((b) => b.sampled && b.messages?.some((m) => m.id?.startsWith('v')))).toBe(true);

    expect((await api(a.url, 'DELETE', `/api/streams/${s.id}/moderators/${user.id}`, s.token)).status).toBe(204);
    await waitFor('no longer a moderator on B', () => roleOnB(false), 1000);
    userOnB.chat('fifth');
    await waitFor('slow mode again', () => userOnB.errors.filter((e) => e.code === 'slow_mode').length === 2);
    expect(await flood('x')).toMatchObject({ sampled: true });
    expect(userOnB.closeCode).toBeUndefined(); // the same socket throughout
  });

  it('with NATS down, HTTP keeps working and chat says it is reconnecting; chat resumes when NATS is back', async () => {
    const s = await createUserAndStream(a.url, 'nats outage');
    const user = await registerUser(a.url);
    const viewerB = await connect(b, s.id);
    const sender = await connect(a, s.id, user.token);
    await nats.stop();
    await waitFor('reconnecting status', () => viewerB.of('status').some((st) => st.chatReconnecting));
    await waitFor('reconnecting status on A', () => sender.of('status').some((st) => st.chatReconnecting));
    sender.chat('during the outage');
    await sender.waitForError('chat_reconnecting');
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
    expect((await api(b.url, 'GET', `/api/streams/${s.id}`)).status).toBe(200);
    await nats.resume();
    await waitFor('recovered status', () => viewerB.of('status').at(-1)?.chatReconnecting === false, 15_000);
    await waitFor('recovered on A', () => a.bus.status === 'connected', 15_000);
    sender.chat('after the outage');
    await viewerB.waitForText('after the outage');
  });
});
