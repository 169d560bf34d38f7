// The bus contract, run against both adapters: the in-process bus (embedded mode) and real NATS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusRequestError, createLogger, InProcessBus, NatsBus, streamTopics, subjectMatches, type Bus } from '@onair/platform';
import { PrivateNatsServer, TEST_NATS_URL } from '../../test/support/nats-server.js';
import { waitFor } from '../../test/support/onair-node.js';

const log = createLogger('silent');
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('subjects', () => {
  it('match like NATS wildcards', () => {
    expect(subjectMatches('onair.stream.*.chat.*', 'onair.stream.abc.chat.3')).toBe(true);
    expect(subjectMatches('onair.stream.*.chat.*', 'onair.stream.abc.chat')).toBe(false);
    expect(subjectMatches('onair.stream.>', 'onair.stream.abc.chat.3')).toBe(true);
    expect(subjectMatches('onair.stream.>', 'onair.stream')).toBe(false);
    expect(subjectMatches('onair.stream.abc.viewers', 'onair.stream.abd.viewers')).toBe(false);
  });

  it("keep one user's chat on one partition and refuse ids that would escape the stream's subjects", () => {
    const chatOf = (userId: string) => streamTopics.chat.subject('abc', { id: 'm', userId, username: 'u', text: 'hi', sentAtMs: 1 });
    expect(chatOf('user-1')).toBe(chatOf('user-1'));
    expect(subjectMatches(streamTopics.chat.pattern('abc'), chatOf('user-1'))).toBe(true);
    const partitions = new Set(Array.from({ length: 200 }, (_, i) => chatOf(`u${i}`)));
    expect(partitions.size).toBeGreaterThan(4);
    for (const bad of ['a.b', '*', '>', 'a b', '']) expect(() => streamTopics.status.subject(bad)).toThrow();
  });
});

const adapters: [string, () => Promise<Bus>][] = [
  ['in-process', async () => new InProcessBus()],
  ['nats', () => NatsBus.connect({ url: TEST_NATS_URL }, log)],
];

describe.each(adapters)('%s bus', (_name, open) => {
  let a: Bus;
  let b: Bus;
  beforeAll(async () => {
    a = await open();
    b = _name === 'nats' ? await open() : a; // two NATS connections stand for two nodes
  });
  afterAll(async () => {
    await a.close();
    if (b !== a) await b.close();
  });

  it('delivers to every plain subscriber of a matching subject, in order', async () => {
    const id = `s${Date.now()}`;
    const got1: string[] = [];
    const got2: string[] = [];
    // The adapter's own semantics, on subjects of the test's own (topics are tested below).
    const s1 = b.subscribe(`test.${id}.chat.*`, (d) => got1.push(text(d)));
    const s2 = b.subscribe(`test.${id}.chat.0`, (d) => got2.push(text(d)));
    await b.flush();
    for (let i = 0; i < 100; i++) a.publish(`test.${id}.chat.0`, bytes(String(i)));
    a.publish(`test.${id}.status`, bytes('not chat'));
    await a.flush();
    await waitFor('all messages', () => got1.length === 100 && got2.length === 100);
    expect(got1).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    s1.unsubscribe();
    s2.unsubscribe();
  });

  it('splits messages between the members of a queue group', async () => {
    const subject = `onair.test.${Date.now()}.q`;
    const counts = [0, 0];
    const s1 = a.subscribe(subject, () => counts[0]!++, { queue: 'writers' });
    const s2 = b.subscribe(subject, () => counts[1]!++, { queue: 'writers' });
    await a.flush();
    await b.flush();
    for (let i = 0; i < 200; i++) a.publish(subject, bytes('x'));
    await a.flush();
    await waitFor('200 deliveries', () => counts[0]! + counts[1]! === 200);
    await new Promise((r) => setTimeout(r, 100));
    expect(counts[0]! + counts[1]!).toBe(200);
    s1.unsubscribe();
    s2.unsubscribe();
  });

  it('answers a request from a responder on another node, carries its failure back, and says when nobody answers', async () => {
    const subject = `onair.test.${Date.now()}.rr`;
    const sub = b.serve(subject, async (d) => {
      if (text(d) === 'fail') throw new Error('refused on purpose');
      return bytes(`echo ${text(d)}`);
    });
    await b.flush();
    expect(text(await a.request(subject, bytes('hello'), { timeoutMs: 2000 }))).toBe('echo hello');
    await expect(a.request(subject, bytes('fail'), { timeoutMs: 2000 })).rejects.toMatchObject({
      reason: 'remote_error',
      message: expect.stringContaining('refused on purpose'),
    });
    sub.unsubscribe();
    await b.flush();
    await expect(a.request(subject, bytes('again'), { timeoutMs: 2000 })).rejects.toBeInstanceOf(BusRequestError);
    await expect(a.request(subject, bytes('again'), { timeoutMs: 2000 })).rejects.toMatchObject({ reason: 'no_responders' });
  });

  it('times a request out when the responder never answers', async () => {
    const subject = `onair.test.${Date.now()}.slow`;
    const sub = b.serve(subject, () => new Promise(() => {}));
    await b.flush();
    const started = Date.now();
    await expect(a.request(subject, bytes('x'), { timeoutMs: 300 })).rejects.toMatchObject({ reason: 'timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    sub.unsubscribe();
  });

  it('stops delivering after unsubscribe', async () => {
    const subject = `onair.test.${Date.now()}.u`;
    let n = 0;
    const s = b.subscribe(subject, () => n++);
    await b.flush();
    s.unsubscribe();
    a.publish(subject, bytes('x'));
    await a.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect(n).toBe(0);
  });
});

describe('nats bus when the server goes away', () => {
  it('reports reconnecting, drops publishes without throwing, and resumes delivery after a restart', async () => {
    const server = await PrivateNatsServer.start();
    const bus = await NatsBus.connect({ url: server.url, reconnectWaitMs: 100 }, log);
    try {
      const statuses: string[] = [];
      bus.on('status', (s) => statuses.push(s));
      const got: string[] = [];
      bus.subscribe('onair.test.restart', (d) => got.push(text(d)));
      await server.stop();
      await waitFor('reconnecting', () => bus.status === 'reconnecting');
      expect(() => bus.publish('onair.test.restart', bytes('lost'))).not.toThrow();
      await server.resume();
      await waitFor('connected again', () => bus.status === 'connected');
      await waitFor('a message after the restart', async () => {
        bus.publish('onair.test.restart', bytes('after'));
        await bus.flush();
        return got.includes('after');
      });
      expect(got).not.toContain('lost');
      expect(statuses).toEqual(['reconnecting', 'connected']);
    } finally {
      await bus.close();
      await server.stop();
    }
  });
});
