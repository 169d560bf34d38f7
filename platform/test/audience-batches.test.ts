// Viewer counts sent to each stream's origin in one batch per node and interval (the Audience with
// `originOf`), against the machine's NATS: the bus carries one message per node and origin instead of
// one per node and stream, the origin sums them (with figures of nodes still sharing per stream, as
// the previous version does), other watchers read the origin's total, and a node that stops sending
// is forgotten. The drill: the same edge without `originOf` (the previous wire) sends a message per
// stream and interval.
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Audience, createLogger, NatsBus, type Bus, type PlayerSource } from '@onair/platform';
import { TEST_NATS_URL } from '../../test/support/nats-server.js';
import { waitFor } from '../../test/support/onair-node.js';

const log = createLogger('silent');
const INTERVAL_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let bus: Bus;
let spy: NatsConnection;
beforeAll(async () => {
  bus = await NatsBus.connect({ url: TEST_NATS_URL, name: 'audience-batches' }, log);
  spy = await connect({ servers: TEST_NATS_URL, name: 'audience-batches-spy' });
});
afterAll(async () => {
  await spy?.close();
  await bus?.close();
});

/** `n` players on each stream. */
function players(streams: string[], n: number): PlayerSource {
  return { players: (id) => (streams.includes(id) ? Array.from({ length: n }, (_, i) => `p${i}`) : []), streams: () => streams };
}

/** Messages on `subject` from node `node` (the payload's `node`) during `ms`. */
async function countFrom(subject: string, node: string, ms: number): Promise<number> {
  let n = 0;
  const sub = spy.subscribe(subject, {
    callback: (_err, msg) => {
      if ((JSON.parse(new TextDecoder().decode(msg.data)) as { node?: string }).node === node) n++;
    },
  });
  await spy.flush();
  await sleep(ms);
  sub.unsubscribe();
  return n;
}

describe('viewer counts batched to the origin', () => {
  const run = randomBytes(3).toString('hex');
  const streams = Array.from({ length: 40 }, (_, i) => `b${run}s${i}`);
  const origin = `o${run}`;
  const audiences: Audience[] = [];
  const open = (nodeId: string, sources: PlayerSource[], originOf?: (id: string) => string | undefined) => {
    const a = new Audience({ nodeId, bus, log, sources, intervalMs: INTERVAL_MS, originOf });
    audiences.push(a);
    return a;
  };
  afterAll(() => {
    for (const a of audiences) a.close();
  });

  it('an edge sends one message per origin and interval for its 40 streams; the origin sums them and other watchers read its total', async () => {
    const atOrigin = open(origin, [], () => origin);
    const edge = open(`e${run}`, [players(streams, 3)], () => origin);
    const channel = open(`c${run}`, [], () => undefined); // a chat node that holds no relay of the stream
    const originTotals: number[] = [];
    const channelTotals: number[] = [];
    const stops = [atOrigin.watch(streams[0]!, (t) => originTotals.push(t)), channel.watch(streams[0]!, (t) => channelTotals.push(t))];
    await waitFor('the origin sums the edge', () => originTotals.at(-1) === 3, 5000);
    await waitFor("the channel node reads the origin's total", () => channelTotals.at(-1) === 3, 5000);

    const window = INTERVAL_MS * 5;
    const [batches, perStream] = await Promise.all([
      countFrom(`onair.node.${origin}.viewers`, `e${run}`, window),
      countFrom('onair.stream.*.viewers', `e${run}`, window),
    ]);
    expect(batches).toBeGreaterThanOrEqual(3);
    expect(batches).toBeLessThanOrEqual(7);
    expect(perStream).toBe(0);

    // The drill: the previous wire, one message per stream and interval.
    edge.close();
    const legacy = open(`l${run}`, [players(streams, 3)]);
    const legacyMessages = await countFrom('onair.stream.*.viewers', `l${run}`, window);
    expect(legacyMessages).toBeGreaterThanOrEqual(3 * streams.length);
    legacy.close();
    for (const stop of stops) stop();
  });

  it('the origin also counts a node of the previous version (per stream), and forgets a node that stops', async () => {
    const s = `${streams[1]!}x`;
    const atOrigin = open(`${origin}2`, [], () => `${origin}2`);
    const edge = open(`e2${run}`, [players([s], 3)], () => `${origin}2`);
    const legacy = open(`l2${run}`, [players([s], 2)]);
    const totals: number[] = [];
    const stop = atOrigin.watch(s, (t) => totals.push(t));
    await waitFor('both nodes summed', () => totals.at(-1) === 5, 5000);
    edge.close(); // its batches stop: its figure goes stale after three intervals
    await waitFor('the stopped node forgotten', () => totals.at(-1) === 2, 5000);
    legacy.close();
    stop();
  });
});
