// The real-time channel on one node in embedded mode (in-process bus, in-process rate limits), with
// real `ws` clients: chat, errors, moderation, history, reactions, batching and a frame-decoder fuzz.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { onair } from '@onair/proto';
import { streamTopics } from '@onair/platform';
import type { OnAirNode } from '@onair/signaling';
import { frameOnce } from '../src/realtime/frame-writer.js';
import { api, ChannelClient, registerUser } from '../../test/support/channel-client.js';
import { createUserAndStream, startTestNode, waitFor, type TestStream } from '../../test/support/onair-node.js';

const { ClientFrame } = onair.channel.v1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('real-time channel (embedded mode)', () => {
  let node: OnAirNode;
  let stream: TestStream;
  const clients: ChannelClient[] = [];
  const connect = async (token?: string, streamId = stream.id) => {
    const c = await ChannelClient.connect(node.url, streamId, token);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    node = await startTestNode();
    stream = await createUserAndStream(node.url, 'chat test');
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await node?.close();
  });

  it("delivers a signed-in user's message to anonymous viewers and back to its sender", async () => {
    const viewer = await connect();
    const user = await registerUser(node.url);
    const sender = await connect(user.token);
    sender.chat('hello everyone');
    await viewer.waitForText('hello everyone');
    await sender.waitForText('hello everyone');
    const m = viewer.chatMessages.find((x) => x.text === 'hello everyone')!;
    expect(m).toMatchObject({ userId: user.id, username: user.username });
    expect(Math.abs(Number(m.sentAtMs) - Date.now())).toBeLessThan(5000);
  });

  it('a viewer joining as the last one leaves still gets the chat', async () => {
    const s = await createUserAndStream(node.url, 'rejoin');
    const user = await registerUser(node.url);
    for (let round = 0; round < 4; round++) {
      const leaving = await connect(undefined, s.id);
      const [joining] = await Promise.all([connect(undefined, s.id), leaving.close()]);
      const sender = await connect(user.token, s.id);
      await sleep(50);
      sender.chat(`round ${round}`);
      await joining!.waitForText(`round ${round}`);
      await Promise.all([joining!.close(), sender.close()]);
      await sleep(100 * (round % 3));
    }
  });

  it('refuses to let an anonymous viewer write', async () => {
    const anon = await connect();
    const seq = anon.chat('let me in');
    const err = await anon.waitForError('not_signed_in');
    expect(err.seq).toBe(seq);
  });

  it('refuses a bad token at the upgrade and an unknown stream', async () => {
    await expect(ChannelClient.connect(node.url, stream.id, 'a.b.c')).rejects.toThrow(/401/);
    await expect(ChannelClient.connect(node.url, 'nosuchstream1')).rejects.toThrow(/404/);
  });

  it('takes the token from ?token= as well', async () => {
    const user = await registerUser(node.url);
    const ws = new WebSocket(`${node.url.replace('http', 'ws')}/ws/${stream.id}?token=${user.token}`);
    const got: onair.channel.v1.ServerFrame[] = [];
    ws.on('message', (d: Buffer) => got.push(onair.channel.v1.ServerFrame.decode(d)));
    await new Promise((r) => ws.once('open', r));
    ws.send(ClientFrame.encode({ seq: 1, chat: { text: 'via query' } }).finish());
    await waitFor('own message', () => got.some((f) => f.chat?.messages?.some((m) => m.text === 'via query')));
    ws.close();
  });

  it('answers too_long, empty and control-character messages with error frames', async () => {
    const user = await registerUser(node.url);
    const c = await connect(user.token);
    c.chat('x'.repeat(501));
    await c.waitForError('too_long');
    c.chat('   ');
    await c.waitForError('empty_message');
    c.chat('bell \u0007');
    await c.waitForError('bad_frame');
  });

  it("blocks profanity (also obfuscated) and the stream's own blocked terms", async () => {
    const s = await createUserAndStream(node.url, 'filter');
    const user = await registerUser(node.url);
    const c = await connect(user.token, s.id);
    c.chat('you are a fuuucking sh1t');
    await c.waitForError('blocked_term');
    const r = await api(node.url, 'PATCH', `/api/streams/${s.id}/chat-settings`, s.token, { blockedTerms: ['Spoiler'] });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ slowModeSeconds: 0, blockedTerms: ['Spoiler'] });
    c.chat('big SPOILER ahead');
    await waitFor('two blocked_term errors', () => c.errors.filter((e) => e.code === 'blocked_term').length === 2);
    c.chat('a clean message');
    await c.waitForText('a clean message');
    expect(c.chatMessages.map((m) => m.text)).toEqual(['a clean message']);
  });

  it('enforces slow mode for viewers but not for the owner', async () => {
    const s = await createUserAndStream(node.url, 'slow');
    expect((await api(node.url, 'PATCH', `/api/streams/${s.id}/chat-settings`, s.token, { slowModeSeconds: 30 })).status).toBe(200);
    const user = await registerUser(node.url);
    const c = await connect(user.token, s.id);
    // A joiner learns the chat mode with its first status frame.
    await waitFor('a status frame', () => c.of('status').length > 0);
    expect(c.of('status')[0]?.slowModeSeconds).toBe(30);
    c.chat('first');
    await c.waitForText('first');
    c.chat('second');
    const err = await c.waitForError('slow_mode');
    expect(err.retryAfterMs).toBeGreaterThan(20_000);
    const owner = await connect(s.token, s.id);
    owner.chat('owner 1');
    owner.chat('owner 2');
    await owner.waitForText('owner 2');
  });

  it('rate-limits a user who sends too fast', async () => {
    const user = await registerUser(node.url);
    const c = await connect(user.token);
    for (let i = 0; i < 7; i++) c.chat(`burst ${i}`);
    await c.waitForError('rate_limited');
    await c.waitForText('burst 4');
    await sleep(200);
    expect(c.chatMessages.filter((m) => m.text?.startsWith('burst')).length).toBe(5);
  });

  it("a banned user's message reaches nobody, and an unban lets them talk again", async () => {
    const s = await createUserAndStream(node.url, 'bans');
    const user = await registerUser(node.url);
    const viewer = await connect(undefined, s.id);
    const c = await connect(user.token, s.id);
    const stranger = await registerUser(node.url);
    expect((await api(node.url, 'POST', `/api/streams/${s.id}/bans`, stranger.token, { userId: user.id })).status).toBe(403);
    const ban = await api(node.url, 'POST', `/api/streams/${s.id}/bans`, s.token, {
      userId: user.id,
      durationSeconds: 600,
      reason: 'spam',
    });
    expect(ban.status).toBe(201);
    await waitFor('ban event', () => viewer.of('moderation').some((m) => m.bannedUserId === user.id));
    c.chat('can you hear me');
    const err = await c.waitForError('banned');
    expect(err.retryAfterMs).toBeGreaterThan(500_000);
    await sleep(300);
    expect(viewer.chatMessages.some((m) => m.text === 'can you hear me')).toBe(false);
    expect((await api(node.url, 'DELETE', `/api/streams/${s.id}/bans/${user.id}`, s.token)).status).toBe(204);
    c.chat('back again');
    await viewer.waitForText('back again');
  });

  it('a timeout ends by itself', async () => {
    const s = await createUserAndStream(node.url, 'timeouts');
    const user = await registerUser(node.url);
    const c = await connect(user.token, s.id);
    expect((await api(node.url, 'POST', `/api/streams/${s.id}/bans`, s.token, { userId: user.id, durationSeconds: 1 })).status).toBe(201);
    c.chat('too early');
    const err = await c.waitForError('banned');
    expect(err.retryAfterMs).toBeLessThanOrEqual(1000);
    await sleep(1100);
    c.chat('on time');
    await c.waitForText('on time');
    expect(c.chatMessages.some((m) => m.text === 'too early')).toBe(false);
    expect((await api(node.url, 'POST', `/api/streams/${s.id}/bans`, s.token, { userId: s.id })).status).toBe(400);
    expect((await api(node.url, 'POST', `/api/streams/${s.id}/bans`, s.token, { userId: user.id, durationSeconds: -5 })).status).toBe(400);
  });

  it('a deleted message is removed for every viewer and from the history', async () => {
    const s = await createUserAndStream(node.url, 'deletions');
    const user = await registerUser(node.url);
    const viewer = await connect(undefined, s.id);
    const c = await connect(user.token, s.id);
    c.chat('delete me');
    await viewer.waitForText('delete me');
    const id = viewer.chatMessages.find((m) => m.text === 'delete me')!.id!;
    await waitFor('stored', async () => (await api(node.url, 'GET', `/api/streams/${s.id}/chat`)).body.items.length === 1);
    expect((await api(node.url, 'DELETE', `/api/streams/${s.id}/messages/${id}`, user.token)).status).toBe(403);
    expect((await api(node.url, 'DELETE', `/api/streams/${s.id}/messages/${id}`, s.token)).status).toBe(204);
    await waitFor('deletion event', () => viewer.of('moderation').some((m) => m.deletedMessageId === id));
    expect((await api(node.url, 'GET', `/api/streams/${s.id}/chat`)).body.items).toEqual([]);
    expect((await api(node.url, 'DELETE', `/api/streams/${s.id}/messages/nope`, s.token)).status).toBe(404);
  });

  it('serves chat history over HTTP (paged by before) and to late joiners', async () => {
    const s = await createUserAndStream(node.url, 'history');
    const user = await registerUser(node.url);
    const c = await connect(user.token, s.id);
    for (const t of ['one', 'two', 'three']) {
      c.chat(t);
      await c.waitForText(t);
      await sleep(5);
    }
    await waitFor('stored', async () => (await api(node.url, 'GET', `/api/streams/${s.id}/chat`)).body.items.length === 3);
    const page = await api(node.url, 'GET', `/api/streams/${s.id}/chat?limit=2`);
    expect(page.body.items.map((m: { text: string }) => m.text)).toEqual(['two', 'three']);
    const older = await api(node.url, 'GET', `/api/streams/${s.id}/chat?limit=2&before=${page.body.nextBefore}`);
    expect(older.body.items.map((m: { text: string }) => m.text)).toEqual(['one']);
    expect((await api(node.url, 'GET', `/api/streams/${s.id}/chat?limit=1000`)).status).toBe(400);
    expect((await api(node.url, 'GET', '/api/streams/nosuchstream1/chat')).status).toBe(404);
    const late = await connect(undefined, s.id);
    await waitFor('history batch', () => late.of('chat').some((b) => b.history));
    expect(
      late
        .of('chat')
        .find((b) => b.history)!
        .messages!.map((m) => m.text),
    ).toEqual(['one', 'two', 'three']);
  });

  it('a viewer joining just after a message went out gets it, though the stored history is written later', async () => {
    // The history is written in batches every 200 ms; delivery happens within 100 ms. Each round
    // joins a viewer right after the message reached the first one: before the write, every time.
    const s = await createUserAndStream(node.url, 'just missed');
    const user = await registerUser(node.url);
    const watcher = await connect(undefined, s.id);
    const c = await connect(user.token, s.id);
    for (let round = 0; round < 4; round++) {
      c.chat(`just now ${round}`);
      await watcher.waitForText(`just now ${round}`);
      const joiner = await connect(undefined, s.id);
      await waitFor('history batch', () => joiner.of('chat').some((b) => b.history));
      const history = joiner
        .of('chat')
        .find((b) => b.history)!
        .messages!.map((m) => m.text);
      expect(history).toEqual(Array.from({ length: round + 1 }, (_, i) => `just now ${i}`));
      await joiner.close();
    }
    // A deleted message is not handed to joiners either (the stored history already hides it).
    const id = watcher.chatMessages.find((m) => m.text === 'just now 3')!.id!;
    expect((await api(node.url, 'DELETE', `/api/streams/${s.id}/messages/${id}`, s.token)).status).toBe(204);
    await waitFor('deletion event', () => watcher.of('moderation').some((m) => m.deletedMessageId === id));
    const after = await connect(undefined, s.id);
    await waitFor('history batch', () => after.of('chat').some((b) => b.history));
    expect(
      after
        .of('chat')
        .find((b) => b.history)!
        .messages!.map((m) => m.text),
    ).toEqual(['just now 0', 'just now 1', 'just now 2']);
  });

  it('aggregated reactions sum exactly to what was sent, and unknown emojis are refused', async () => {
    const s = await createUserAndStream(node.url, 'reactions');
    const viewer = await connect(undefined, s.id);
    const senders = await Promise.all([connect(undefined, s.id), connect(undefined, s.id), connect(undefined, s.id)]);
    for (const c of senders) for (let i = 0; i < 15; i++) c.send({ reaction: { emoji: i % 3 === 0 ? '🔥' : '❤️' } });
    const sum = (emoji: string) => viewer.of('reactions').reduce((n, r) => n + (r.counts?.[emoji] ?? 0), 0);
    await waitFor('all reactions', () => sum('🔥') + sum('❤️') === 45);
    await sleep(600);
    expect(sum('🔥')).toBe(15);
    expect(sum('❤️')).toBe(30);
    expect(viewer.of('reactions').every((r) => r.windowMs === 250)).toBe(true);
    senders[0]!.send({ reaction: { emoji: 'free text' } });
    await senders[0]!.waitForError('unknown_emoji');
  });

  it('frames a broadcast once with ws internals (the same bytes for every socket)', () => {
    const framed = frameOnce(new Uint8Array([8, 1]))!;
    expect(Buffer.concat(framed)).toEqual(Buffer.from([0x82, 0x02, 8, 1]));
  });

  it('caps chat frames per viewer per second under a flood and samples when it is too fast to read', async () => {
    const s = await createUserAndStream(node.url, 'flood');
    const viewer = await connect(undefined, s.id);
    const moderatorClient = await connect(s.token, s.id);
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < 2000) {
      for (let i = 0; i < 100; i++) {
        const m = {
          id: `f${sent}`,
          userId: `00000000-0000-4000-8000-${String(sent % 1000).padStart(12, '0')}`,
          username: 'flood',
          text: `m${sent}`,
          sentAtMs: Date.now(),
        };
        streamTopics.chat.publish(node.bus, s.id, m);
        sent++;
      }
      await sleep(10);
    }
    await sleep(400);
    const times = viewer.frames.map((f, i) => (f.body === 'chat' ? viewer.frameTimes[i]! : 0)).filter(Boolean);
    const seconds = (times[times.length - 1]! - times[0]!) / 1000;
    expect(times.length).toBeGreaterThan(5);
    expect(times.length / Math.max(seconds, 1)).toBeLessThanOrEqual(12);
    expect(viewer.of('chat').some((b) => b.sampled)).toBe(true);
    const modTotal = moderatorClient.of('chat').reduce((n, b) => n + (b.messages?.length ?? 0), 0);
    expect(modTotal).toBe(sent);
  });

  it('sends the viewer count every ~2 s (chat sockets are not viewers), a status frame when the stream goes live and offline, and writes the count to the directory', async () => {
    const s = await createUserAndStream(node.url, 'viewers');
    const viewers = [await connect(undefined, s.id), await connect(undefined, s.id), await connect(undefined, s.id)];
    expect(viewers[0]!.of('status')[0]).toMatchObject({ live: false });
    await waitFor('two viewers frames', () => viewers[0]!.of('viewers').length >= 2, 6000);
    const [first, second] = viewers[0]!.frames.map((f, i) => (f.body === 'viewers' ? viewers[0]!.frameTimes[i]! : 0)).filter(Boolean);
    expect(second! - first!).toBeGreaterThan(1500);
    expect(viewers[0]!.of('viewers').map((v) => v.count)).toEqual([0, 0]);
    node.media.emit('live', s.id); // what the media plane emits when a publisher's media arrives
    await waitFor('live status', () => viewers.every((v) => v.of('status').some((st) => st.live)));
    await waitFor('directory count', async () => (await api(node.url, 'GET', `/api/streams/${s.id}`)).body.viewerCount === 0, 6000);
    node.media.emit('offline', s.id, 'test');
    await waitFor('offline status', () => viewers[1]!.of('status').at(-1)?.live === false);
  });

  it('forwards tip events from the bus to every viewer, amounts in minor units', async () => {
    const s = await createUserAndStream(node.url, 'tips');
    const viewer = await connect(undefined, s.id);
    const tip = { tipId: 't-1', fromUsername: 'fan', amount: 1250, currency: 'EUR', message: 'great show' };
    streamTopics.tip.publish(node.bus, s.id, tip);
    await waitFor('tip frame', () => viewer.of('tip').length === 1);
    expect(viewer.of('tip')[0]).toMatchObject(tip);
  });

  it('writes the chat batch, a tip and a moderation event of one window to each socket in ONE write, as separate messages', async () => {
    const s = await createUserAndStream(node.url, 'one write');
    const viewers = [await connect(undefined, s.id), await connect(undefined, s.id)];
    const channel = node.gateway.channel(s.id)!;
    // Record what the gateway writes on each server-side socket, one entry per write call.
    const writes: Buffer[][] = [];
    for (const v of channel.viewers) {
      const socket = (v.ws as unknown as { _socket: { write: (chunk: Buffer, ...rest: unknown[]) => boolean } })._socket;
      const write = socket.write.bind(socket);
      const mine: Buffer[] = [];
      writes.push(mine);
      socket.write = (chunk: Buffer, ...rest: unknown[]) => {
        mine.push(Buffer.from(chunk));
        return write(chunk, ...rest);
      };
    }
    const before = viewers.map((v) => v.frames.length);
    // Same tick: all three reach the channel before its next delivery window.
    const m = { id: 'w1', userId: '00000000-0000-4000-8000-000000000001', username: 'one', text: 'in one write', sentAtMs: Date.now() };
    streamTopics.chat.publish(node.bus, s.id, m);
    streamTopics.tip.publish(node.bus, s.id, { tipId: 'w-tip', fromUsername: 'fan', amount: 500, currency: 'EUR', message: '' });
    streamTopics.moderation.publish(node.bus, s.id, { kind: 'delete', streamId: s.id, messageId: 'older' });
    for (const v of viewers)
      await waitFor(
        'three frames',
        () => v.of('tip').length === 1 && v.of('moderation').length === 1 && v.chatMessages.some((c) => c.id === 'w1'),
      );
    viewers.forEach((v, i) => {
      // The client still sees one ServerFrame per WebSocket message.
      expect(
        v.frames
          .slice(before[i])
          .map((f) => f.body)
          .filter((k) => k !== 'viewers'),
      ).toEqual(['tip', 'moderation', 'chat']);
    });
    for (const mine of writes) {
      // One write carried all three messages (unmasked binary frames, back to back).
      const withChat = mine.map(splitServerFrames).find((kinds) => kinds.includes('chat'))!;
      expect(withChat.filter((k) => k !== 'viewers')).toEqual(['tip', 'moderation', 'chat']);
    }
    expect(node.gateway.writer.stats.writes).toBeLessThan(node.gateway.writer.stats.framesSent);
  });

  it('survives random and mutated frames with bad_frame errors, then still answers a ping', async () => {
    const user = await registerUser(node.url);
    const c = await connect(user.token);
    const valid = ClientFrame.encode({ seq: 1, chat: { text: 'fuzz base' } }).finish();
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed / 0x7fffffff);
    for (let i = 0; i < 300; i++) {
      let frame: Uint8Array;
      if (i % 2 === 0) frame = Uint8Array.from({ length: 1 + Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256));
      else {
        frame = Uint8Array.from(valid);
        for (let k = 0; k < 3; k++) frame[Math.floor(rnd() * frame.length)] = Math.floor(rnd() * 256);
      }
      c.ws.send(frame);
    }
    // invalid UTF-8 inside an otherwise valid chat frame
    c.ws.send(Uint8Array.from([0x08, 0x05, 0x12, 0x04, 0x0a, 0x02, 0xc3, 0x28]));
    c.ws.send(new Uint8Array(8192)); // over the frame size limit: closed by the server
    await waitFor('closed for an oversized frame', () => c.closeCode !== undefined);
    expect(c.closeCode).toBe(1009);
    expect(c.errors.some((e) => e.code === 'bad_frame')).toBe(true);
    const again = await connect(user.token);
    again.send({ ping: {} });
    await waitFor('pong', () => again.of('pong').length === 1);
    const text = await connect(user.token);
    text.ws.send('a text frame');
    await waitFor('closed for a text frame', () => text.closeCode !== undefined);
    expect(text.closeCode).toBe(1003);
  });

  it('closes a client that floods the server with frames (1008), and keeps serving the others', async () => {
    const flooder = await connect();
    const bystander = await connect();
    for (let i = 0; i < 2000; i++) flooder.send({ ping: {} });
    await waitFor('flooder closed', () => flooder.closeCode !== undefined);
    expect(flooder.closeCode).toBe(1008);
    expect(flooder.of('pong').length).toBeLessThanOrEqual(520);
    bystander.send({ ping: {} });
    await waitFor('bystander pong', () => bystander.of('pong').length === 1);
  });

  it('exports channel metrics for Prometheus', async () => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    expect(text).toMatch(/^onair_channel_connections \d+$/m);
    expect(text).toMatch(/^onair_bus_connected 1$/m);
    expect(Number(/^onair_channel_frames_sent_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    expect(Number(/^onair_channel_flood_closes_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
  });
});

/** The ServerFrame kinds in one chunk written by the gateway (unmasked binary WebSocket frames). */
function splitServerFrames(chunk: Buffer): string[] {
  const kinds: string[] = [];
  let at = 0;
  while (at + 2 <= chunk.length) {
    let len = chunk[at + 1]! & 0x7f;
    let header = 2;
    if (len === 126) [len, header] = [chunk.readUInt16BE(at + 2), 4];
    else if (len === 127) [len, header] = [Number(chunk.readBigUInt64BE(at + 2)), 10];
    const payload = chunk.subarray(at + header, at + header + len);
    kinds.push(onair.channel.v1.ServerFrame.decode(payload).body ?? '?');
    at += header + len;
  }
  return kinds;
}
