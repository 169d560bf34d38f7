// channel() against a real node's /ws gateway (the `ws` package stands in for the browser's
// WebSocket): anonymous read, signed-in chat and reactions, refused frames, and reconnect with
// resume: a message sent while the socket was down arrives once after the reconnect, and nothing
// seen before is delivered again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { OnAirNode } from '@onair/signaling';
import { channel, type Channel, type ChannelSocket, type ChatMessage } from '../src/index.js';
import { createUserAndStream, startTestNode, waitFor, type TestStream } from '../../test/support/onair-node.js';
import { ChannelClient, registerUser } from '../../test/support/channel-client.js';

let node: OnAirNode;
let stream: TestStream;
const open: Channel[] = [];

beforeAll(async () => {
  node = await startTestNode();
  stream = await createUserAndStream(node.url, 'channel sdk');
});

afterAll(async () => {
  for (const c of open) c.close();
  await node?.close();
});

function recording(): { sockets: WebSocket[]; factory: (url: string, protocols: string[]) => ChannelSocket } {
  const sockets: WebSocket[] = [];
  return {
    sockets,
    factory: (url, protocols) => {
      const ws = new WebSocket(url, protocols);
      sockets.push(ws);
      return ws as unknown as ChannelSocket;
    },
  };
}

function collect(ch: Channel): ChatMessage[] {
  const got: ChatMessage[] = [];
  ch.on('chat', (messages) => got.push(...messages));
  return got;
}

describe('channel()', () => {
  it('reads anonymously, chats and reacts signed in, and reports refused frames', async () => {
    const viewer = await registerUser(node.url);
    const anon = recording();
    const reader = channel({ baseUrl: node.url, streamId: stream.id, socket: anon.factory });
    const writer = channel({ baseUrl: node.url, streamId: stream.id, token: viewer.token, socket: recording().factory });
    open.push(reader, writer);
    const readerGot = collect(reader);
    const reactions: Record<string, number> = {};
    reader.on('reactions', (a) => Object.entries(a.counts).forEach(([e, n]) => (reactions[e] = (reactions[e] ?? 0) + n)));
    const refused: string[] = [];
    reader.on('error', (e) => refused.push(e.code));
    await waitFor('both open', () => reader.state === 'open' && writer.state === 'open');
    await waitFor('status frame', () => reader.status !== undefined);

    expect(writer.chat('hello over the sdk')).toBeGreaterThan(0);
    await waitFor('chat at the reader', () => readerGot.some((m) => m.text === 'hello over the sdk' && m.username === viewer.username));
    writer.react('🔥');
    writer.react('🔥');
    reader.react('👏'); // anonymous reactions are allowed
    await waitFor('reaction counts', () => reactions['🔥'] === 2 && reactions['👏'] === 1);

    const seq = reader.chat('anonymous may not write');
    expect(seq).toBeGreaterThan(0);
    await waitFor('not_signed_in', () => refused.includes('not_signed_in'));
    // Channel connections are not viewers (docs/api.md "Viewers"): with no player, the count is 0.
    await waitFor('a viewer count', () => reader.viewers !== undefined, 10_000);
    expect(reader.viewers).toBe(0);
  });

  it('reconnects after the socket drops and resumes: missed messages once, nothing twice', async () => {
    const viewer = await registerUser(node.url);
    const other = await ChannelClient.connect(node.url, stream.id, (await registerUser(node.url)).token);
    const rec = recording();
    const ch = channel({ baseUrl: node.url, streamId: stream.id, token: viewer.token, socket: rec.factory, retryDelayMs: 1500 });
    open.push(ch);
    const got = collect(ch);
    const states: string[] = [];
    ch.on('state', (s) => states.push(s));
    await waitFor('open', () => ch.state === 'open');

    other.chat('before the drop');
    await waitFor('first message', () => got.some((m) => m.text === 'before the drop'));
    const history = async () =>
      ((await (await fetch(`${node.url}/api/streams/${stream.id}/chat`)).json()) as { items: Array<{ text: string }> }).items;
    await waitFor('first message stored', async () => (await history()).some((m) => m.text === 'before the drop'));

    rec.sockets[0]!.terminate(); // the network drops; no close handshake
    await waitFor('reconnecting', () => ch.state === 'reconnecting');
    other.chat('sent while away');
    await waitFor('stored', async () => (await history()).some((m) => m.text === 'sent while away'));

    await waitFor('reopened', () => ch.state === 'open' && ch.reconnects === 1, 10_000);
    await waitFor('missed message delivered', () => got.some((m) => m.text === 'sent while away'), 10_000);
    other.chat('after the return');
    await waitFor('live again', () => got.some((m) => m.text === 'after the return'));
    expect(rec.sockets.length).toBe(2);
    expect(states).toEqual(['open', 'reconnecting', 'open']);
    const texts = got.map((m) => m.text).filter((t) => ['before the drop', 'sent while away', 'after the return'].includes(t));
    expect(texts).toEqual(['before the drop', 'sent while away', 'after the return']);
    expect(new Set(got.map((m) => m.id)).size).toBe(got.length);
    await other.close();
  });

  it('stops for good on close()', async () => {
    const rec = recording();
    const ch = channel({ baseUrl: node.url, streamId: stream.id, socket: rec.factory, retryDelayMs: 100 });
    await waitFor('open', () => ch.state === 'open');
    ch.close();
    expect(ch.state).toBe('closed');
    await waitFor('socket closed', () => rec.sockets[0]!.readyState === WebSocket.CLOSED);
    await new Promise((r) => setTimeout(r, 500));
    expect(rec.sockets.length).toBe(1);
  });
});
