// The channel's delivery knobs (CHAT_FRAMES_PER_SECOND, CHAT_MAX_MESSAGES_PER_FRAME) and its sliced
// fan-out (CHAT_WRITE_SLICE): a window is written a few sockets per event-loop turn. With a slice of
// 3 and 24 viewers every window takes 8 turns, with viewers leaving and joining in between: every
// viewer must still get every window once, in order, the same bytes as the others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, streamTopics } from '@onair/platform';
import type { OnAirNode } from '@onair/signaling';
import { ChannelClient } from '../../test/support/channel-client.js';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sliced chat fan-out and the delivery knobs', () => {
  let node: OnAirNode;
  const clients: ChannelClient[] = [];

  beforeAll(async () => {
    node = await startTestNode({ CHAT_WRITE_SLICE: '3', CHAT_FRAMES_PER_SECOND: '4', CHAT_MAX_MESSAGES_PER_FRAME: '10' });
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await node?.close();
  });

  it('refuses out-of-range knobs at start-up with a message', () => {
    expect(() => loadConfig({ CHAT_FRAMES_PER_SECOND: '0' })).toThrow(/CHAT_FRAMES_PER_SECOND must be 1..100/);
    expect(() => loadConfig({ CHAT_MAX_MESSAGES_PER_FRAME: '0' })).toThrow(/CHAT_MAX_MESSAGES_PER_FRAME/);
    expect(() => loadConfig({ CHAT_WRITE_SLICE: 'many' })).toThrow(/CHAT_WRITE_SLICE: expected an integer/);
    expect(loadConfig({}).chat).toEqual({ framesPerSecond: 10, maxMessagesPerFrame: 25, writeSlice: 500 });
  });

  it('every viewer gets every window once and in order while viewers come and go between slices', async () => {
    const s = await createUserAndStream(node.url, 'slices');
    const connect = async (token?: string) => {
      const c = await ChannelClient.connect(node.url, s.id, token);
      clients.push(c);
      return c;
    };
    // The owner (who gets every message) joins in the middle of the order: its window is split across turns.
    const early = await Promise.all(Array.from({ length: 11 }, () => connect()));
    const owner = await connect(s.token);
    const late = await Promise.all(Array.from({ length: 12 }, () => connect()));
    const leaving = [early[2]!, late[5]!];

    const started = Date.now();
    let sent = 0;
    let joiner: ChannelClient | undefined;
    while (Date.now() - started < 2500) {
      for (let i = 0; i < 40; i++, sent++) {
        const m = {
          id: `s${sent}`,
          userId: `00000000-0000-4000-8000-${String(sent % 300).padStart(12, '0')}`,
          username: 'crowd',
          text: `m${sent}`,
          sentAtMs: Date.now(),
        };
        streamTopics.chat.publish(node.bus, s.id, m);
      }
      if (!joiner && Date.now() - started > 800) {
        joiner = await connect();
        await Promise.all(leaving.map((c) => c.close()));
      }
      await sleep(10);
    }
    await waitFor('the owner got every message', () => owner.chatMessages.length >= sent, 5000);
    await sleep(600); // the last window's slices

    // The owner: every message exactly once, in publishing order, across all windows.
    expect(owner.chatMessages.map((m) => m.id)).toEqual(Array.from({ length: sent }, (_, i) => `s${i}`));

    // Regular viewers who stayed: the same sampled batches, in the same order, at most 10 messages each.
    const batches = (c: ChannelClient) =>
      c
        .of('chat')
        .filter((b) => !b.history)
        .map((b) => (b.messages ?? []).map((m) => m.id).join(','));
    const stayed = [...early, ...late].filter((c) => !leaving.includes(c));
    const reference = batches(stayed[0]!);
    expect(reference.length).toBeGreaterThan(5);
    for (const c of stayed) expect(batches(c)).toEqual(reference);
    for (const b of stayed[0]!.of('chat').filter((x) => !x.history)) {
      expect(b.sampled).toBe(true);
      expect(b.messages!.length).toBeLessThanOrEqual(10);
    }
    const ids = stayed[0]!.chatMessages.map((m) => Number(m.id!.slice(1)));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);

    // At most CHAT_FRAMES_PER_SECOND (4) chat frames a second per viewer.
    const times = stayed[0]!.frames.map((f, i) => (f.body === 'chat' && !f.chat?.history ? stayed[0]!.frameTimes[i]! : 0)).filter(Boolean);
    const seconds = (times[times.length - 1]! - times[0]!) / 1000;
    expect((times.length - 1) / seconds).toBeLessThanOrEqual(4.5);

    // The viewer who joined mid-flood gets a tail of the same batches from its first window on.
    const joined = batches(joiner!);
    expect(joined.length).toBeGreaterThan(2);
    expect(reference.slice(reference.indexOf(joined[0]!))).toEqual(joined);

    // Those who left were skipped without disturbing anyone; the node still serves.
    const after = await connect();
    const user = await connect(s.token);
    user.chat('still here');
    await after.waitForText('still here');
  });
});
