// The channel schema as clients see it: the contract's camelCase names, numbers for 64-bit fields,
// and frames from a newer schema still readable by an older one.
import { describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { onair } from '@onair/proto';

const { ClientFrame, ServerFrame } = onair.channel.v1;

describe('channel schema', () => {
  it('round-trips a chat batch with the contract field names', () => {
    const sentAtMs = Date.now();
    const bytes = ServerFrame.encode({
      chat: { messages: [{ id: 'm1', userId: 'u1', username: 'ann', text: 'hello', sentAtMs }], sampled: true },
    }).finish();
    const frame = ServerFrame.decode(bytes);
    expect(frame.body).toBe('chat');
    expect(frame.chat?.sampled).toBe(true);
    expect(frame.chat?.messages?.[0]).toMatchObject({ id: 'm1', userId: 'u1', username: 'ann', text: 'hello', sentAtMs });
    expect(typeof frame.chat?.messages?.[0]?.sentAtMs).toBe('number');
  });

  it('carries reaction counts, tips in minor units, viewers, moderation, status and errors', () => {
    const cases = [
      { reactions: { counts: { '❤️': 3, '🔥': 1 }, windowMs: 250 } },
      { tip: { tipId: 't1', fromUsername: 'bob', amount: 1250, currency: 'EUR', message: 'gg' } },
      { viewers: { count: 42 } },
      { moderation: { deletedMessageId: 'm9' } },
      { moderation: { bannedUserId: 'u7' } },
      { status: { live: true, chatReconnecting: false } },
      { error: { code: 'slow_mode', message: 'wait', seq: 7 } },
    ];
    for (const c of cases) {
      const frame = ServerFrame.toObject(ServerFrame.decode(ServerFrame.encode(c).finish()), { defaults: true });
      expect(frame).toMatchObject(c);
    }
  });

  it('reads the seq and body of a client frame', () => {
    const f = ClientFrame.decode(ClientFrame.encode({ seq: 9, reaction: { emoji: '🔥' } }).finish());
    expect(f.seq).toBe(9);
    expect(f.body).toBe('reaction');
    expect(f.reaction?.emoji).toBe('🔥');
  });

  it('an old reader skips fields and frame kinds it does not know', () => {
    // A "v1.1" schema with an extra field and an extra oneof member, as a future server might send.
    const future = protobuf.parse(`syntax = "proto3"; package onair.channel.v1;
      message ChatMessage { string id = 1; string user_id = 2; string username = 3; string text = 4; uint64 sent_at_ms = 5; string color = 9; }
      message ChatBatch { repeated ChatMessage messages = 1; bool sampled = 2; }
      message Poll { string question = 1; }
      message ServerFrame { oneof body { ChatBatch chat = 1; Poll poll = 42; } }`).root;
    const FutureFrame = future.lookupType('onair.channel.v1.ServerFrame');
    const chat = ServerFrame.decode(FutureFrame.encode({ chat: { messages: [{ id: 'm1', text: 'hi', color: 'red' }] } }).finish());
    expect(chat.chat?.messages?.[0]).toMatchObject({ id: 'm1', text: 'hi' });
    const poll = ServerFrame.decode(FutureFrame.encode({ poll: { question: '?' } }).finish());
    expect(poll.body).toBeUndefined();
  });
});
