// The SDK's hand-written channel codec against the generated protobuf code (@onair/proto) that the
// server uses: ClientFrames must be byte-identical, every ServerFrame kind must decode to the same
// values, unknown fields are skipped and truncated input is refused.
import { describe, expect, it } from 'vitest';
import { onair } from '@onair/proto';
import { decodeServerFrame, encodeClientFrame } from '../src/channel-codec.js';

const { ClientFrame, ServerFrame } = onair.channel.v1;

describe('channel codec', () => {
  it('encodes ClientFrames exactly as protobufjs does', () => {
    const frames = [
      { seq: 1, chat: { text: 'hello' } },
      { seq: 300, chat: { text: 'héllo 🔥 ünïcode' } },
      { seq: 4_000_000_000, reaction: { emoji: '❤️' } },
      { seq: 7, ping: {} },
      { seq: 0, chat: { text: '' } },
    ] as const;
    for (const f of frames) {
      const ours = encodeClientFrame(f as never);
      const theirs = ClientFrame.encode(f as never).finish();
      expect(Buffer.from(ours).toString('hex'), JSON.stringify(f)).toBe(Buffer.from(theirs).toString('hex'));
      expect(ClientFrame.toObject(ClientFrame.decode(ours), { defaults: false })).toEqual(
        ClientFrame.toObject(ClientFrame.decode(theirs), { defaults: false }),
      );
    }
  });

  it('decodes every ServerFrame kind to the values protobufjs encoded', () => {
    const sentAtMs = 1_795_000_000_123; // beyond 32 bits
    const cases: Array<[onair.channel.v1.IServerFrame, unknown]> = [
      [
        {
          chat: {
            messages: [
              { id: 'm1', userId: 'u1', username: 'ann', text: 'hi ✨', sentAtMs },
              { id: 'm2', userId: 'u2', username: 'bob', text: 'yo', sentAtMs: sentAtMs + 1 },
            ],
            sampled: true,
            history: true,
          },
        },
        {
          kind: 'chat',
          chat: {
            messages: [
              { id: 'm1', userId: 'u1', username: 'ann', text: 'hi ✨', sentAtMs },
              { id: 'm2', userId: 'u2', username: 'bob', text: 'yo', sentAtMs: sentAtMs + 1 },
            ],
            sampled: true,
            history: true,
          },
        },
      ],
      [
        { reactions: { counts: { '🔥': 3, '❤️': 70000 }, windowMs: 250 } },
        { kind: 'reactions', reactions: { counts: { '🔥': 3, '❤️': 70000 }, windowMs: 250 } },
      ],
      [
        { tip: { tipId: 't', fromUsername: 'ann', amount: 123456789012, currency: 'USD', message: 'gg' } },
        { kind: 'tip', tip: { tipId: 't', fromUsername: 'ann', amount: 123456789012, currency: 'USD', message: 'gg' } },
      ],
      [{ viewers: { count: 42 } }, { kind: 'viewers', viewers: { count: 42 } }],
      [{ viewers: {} }, { kind: 'viewers', viewers: { count: 0 } }],
      [
        { moderation: { bannedUserId: 'u9', bannedUntilMs: sentAtMs } },
        { kind: 'moderation', moderation: { deletedMessageId: '', bannedUserId: 'u9', bannedUntilMs: sentAtMs, unbannedUserId: '' } },
      ],
      [
        { status: { live: true, chatReconnecting: false, slowModeSeconds: 30 } },
        { kind: 'status', status: { live: true, chatReconnecting: false, slowModeSeconds: 30 } },
      ],
      [
        { error: { code: 'slow_mode', message: 'wait', seq: 9, retryAfterMs: 1500 } },
        { kind: 'error', error: { code: 'slow_mode', message: 'wait', seq: 9, retryAfterMs: 1500 } },
      ],
      [{ pong: {} }, { kind: 'pong' }],
    ];
    for (const [frame, expected] of cases) {
      expect(decodeServerFrame(ServerFrame.encode(frame).finish()), JSON.stringify(frame)).toEqual(expected);
    }
  });

  it('skips unknown fields and refuses truncated frames', () => {
    const known = ServerFrame.encode({ viewers: { count: 5 } }).finish();
    // field 15 (varint 7) and field 16 (bytes "xy") before the known field: a newer server's additions
    const withUnknown = Uint8Array.from([0x78, 0x07, 0x82, 0x01, 0x02, 0x78, 0x79, ...known]);
    expect(decodeServerFrame(withUnknown)).toEqual({ kind: 'viewers', viewers: { count: 5 } });
    const chat = ServerFrame.encode({ chat: { messages: [{ id: 'm', text: 'hello' }] } }).finish();
    expect(() => decodeServerFrame(chat.subarray(0, chat.length - 2))).toThrow(RangeError);
    expect(decodeServerFrame(new Uint8Array())).toEqual({ kind: 'unknown' });
  });
});
