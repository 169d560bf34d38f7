// Typed bus topics over a real NATS server: a payload that is not a valid value of its topic never
// reaches a handler (null, wrong types, random bytes, deep nesting, a notice naming another stream),
// a handler that throws does not take the subscription down, and viewer counts from two nodes sum
// with each node's players counted once per client.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Audience, createLogger, NatsBus, streamTopics, type Bus, type ModerationNotice, type PlayerSource } from '@onair/platform';
import { TEST_NATS_URL } from '../../test/support/nats-server.js';
import { waitFor } from '../../test/support/onair-node.js';

const log = createLogger('silent');
let a: Bus;
let b: Bus;
beforeAll(async () => {
  a = await NatsBus.connect({ url: TEST_NATS_URL, name: 'topics-a' }, log);
  b = await NatsBus.connect({ url: TEST_NATS_URL, name: 'topics-b' }, log);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** JSON nested `depth` objects deep (built as text: too deep for JSON.stringify's own stack). */
function nested(depth: number): string {
  return `${'{"kind":"ban","streamId":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

describe('typed topics', () => {
  it('drop every malformed moderation payload and deliver the valid one', async () => {
    const streamId = `t${randomBytes(4).toString('hex')}`;
    const got: ModerationNotice[] = [];
    const sub = streamTopics.moderation.subscribe(b, streamId, (n) => got.push(n), { log });
    await b.flush();
    const subject = streamTopics.moderation.subject(streamId);
    const rejectedBefore = streamTopics.moderation.rejected;
    const hostile: Uint8Array[] = [
      Buffer.from('null'),
      Buffer.from('{"kind":"ban"}'),
      Buffer.from(JSON.stringify({ kind: 'ban', streamId, userId: 42, untilMs: null })),
      Buffer.from(JSON.stringify({ kind: 'settings', streamId, settings: { slowModeSeconds: -1, blockedTerms: [] } })),
      Buffer.from(JSON.stringify({ kind: 'delete', streamId: 'another-stream', messageId: 'm1' })), // names another stream
      Buffer.from(JSON.stringify({ kind: 'nonsense', streamId })),
      Buffer.from(nested(20_000)),
      randomBytes(300),
      new Uint8Array([0xff, 0xfe, 0x7b]),
    ];
    for (const p of hostile) a.publish(subject, p);
    streamTopics.moderation.publish(a, streamId, { kind: 'unban', streamId, userId: 'u-1' });
    await a.flush();
    await waitFor('the valid notice', () => got.length === 1);
    await sleep(100);
    expect(got).toEqual([{ kind: 'unban', streamId, userId: 'u-1' }]);
    expect(streamTopics.moderation.rejected - rejectedBefore).toBe(hostile.length);
    sub.unsubscribe();
  });

  it('keep delivering after a handler throws', async () => {
    const streamId = `t${randomBytes(4).toString('hex')}`;
    let calls = 0;
    const sub = streamTopics.status.subscribe(
      b,
      streamId,
      () => {
        calls++;
        throw new Error('handler bug');
      },
      { log },
    );
    await b.flush();
    for (let i = 0; i < 3; i++) streamTopics.status.publish(a, streamId, { live: i % 2 === 0 });
    await a.flush();
    await waitFor('three deliveries', () => calls === 3);
    sub.unsubscribe();
  });

  it('refuse to build a subject from an id that would escape its family', () => {
    for (const bad of ['a.b', '*', '>', 'a b', '', 'x'.repeat(200)]) expect(() => streamTopics.viewers.subject(bad)).toThrow();
  });
});

describe('Audience', () => {
  /** A node's players, as its media plane and HTTP delivery would list them. */
  function players(list: Record<string, string[]>): PlayerSource {
    return { players: (id) => list[id] ?? [], streams: () => Object.keys(list).filter((id) => list[id]!.length > 0) };
  }

  it('sums both nodes, counts one client once across sources, and forgets a node that stops sharing', async () => {
    const streamId = `t${randomBytes(4).toString('hex')}`;
    const webrtcA = { [streamId]: ['client-1', 'session:x'] };
    const httpA = { [streamId]: ['client-1', 'addr:10.0.0.9 Safari'] }; // client-1 fell back to HLS: still one viewer
    const webrtcB = { [streamId]: ['client-2'] };
    const nodeA = new Audience({ nodeId: 'node-a', bus: a, log, sources: [players(webrtcA), players(httpA)], intervalMs: 200 });
    const nodeB = new Audience({ nodeId: 'node-b', bus: b, log, sources: [players(webrtcB)], intervalMs: 200 });
    try {
      const totals: number[] = [];
      const unwatch = nodeA.watch(streamId, (t) => totals.push(t));
      expect(nodeA.local(streamId)).toBe(3);
      await waitFor('both nodes summed', () => totals.at(-1) === 4, 5000);
      nodeB.close(); // node B dies: its share goes stale
      await waitFor('node B forgotten', () => totals.at(-1) === 3, 5000);
      unwatch();
    } finally {
      nodeA.close();
      nodeB.close();
    }
  });
});
