// Placement rules over registry facts: nearest region first, nodes already holding the stream before
// new relays, the least loaded; relays never pulled through a cycle, spare links before full ones.
import { describe, expect, it } from 'vitest';
import { chooseUpstream, chooseViewerNode, regionTier, type NodeRecord, type StreamHolding } from '@onair/origin-cascade';

const node = (nodeId: string, region: string, viewers = 0, extra: Partial<NodeRecord> = {}): NodeRecord => ({
  nodeId,
  url: `http://${nodeId}`,
  region,
  viewers,
  maxViewers: 100,
  servesViewers: true,
  relayHost: nodeId,
  heartbeatAtMs: 0,
  ...extra,
});
const hold = (nodeId: string, path: string[], downstream = 0): StreamHolding => ({
  nodeId,
  role: path.length === 1 ? 'origin' : 'relay',
  path,
  downstream,
});
const from = { region: 'us', peerRegions: ['eu'] };

describe('placement', () => {
  it('ranks regions: own, then peers in order, then the rest', () => {
    expect([regionTier('us', from), regionTier('eu', from), regionTier('ap', from)]).toEqual([0, 1, 2]);
  });

  it('sends a viewer to the nearest node with room, preferring one that holds the stream, then the least loaded', () => {
    const nodes = [node('self', 'us', 100), node('a', 'us', 10), node('b', 'us', 50), node('c', 'eu', 0), node('full', 'us', 100)];
    expect(chooseViewerNode(nodes, [], 'self', from)?.nodeId).toBe('a');
    expect(chooseViewerNode(nodes, [hold('b', ['o', 'b'])], 'self', from)?.nodeId).toBe('b');
    expect(
      chooseViewerNode(
        nodes.filter((n) => n.region !== 'us' || n.nodeId === 'self'),
        [],
        'self',
        from,
      )?.nodeId,
    ).toBe('c');
    expect(
      chooseViewerNode([node('self', 'us'), node('o', 'eu', 0, { servesViewers: false }), node('full', 'us', 100)], [], 'self', from),
    ).toBeUndefined();
  });

  it('relays from the nearest holder with spare links, never through itself', () => {
    const nodes = new Map([node('o', 'eu'), node('r1', 'us'), node('r2', 'us'), node('self', 'us')].map((n) => [n.nodeId, n]));
    const origin = hold('o', ['o'], 1);
    expect(chooseUpstream([origin], nodes, 'self', from, 8)?.nodeId).toBe('o');
    expect(chooseUpstream([origin, hold('r1', ['o', 'r1'])], nodes, 'self', from, 8)?.nodeId).toBe('r1');
    // r1 is full: a deeper relay with room beats it.
    expect(chooseUpstream([origin, hold('r1', ['o', 'r1'], 8), hold('r2', ['o', 'r1', 'r2'])], nodes, 'self', from, 8)?.nodeId).toBe('r2');
    // r2 relays through self: pulling from it would be a loop.
    expect(chooseUpstream([origin, hold('r2', ['o', 'self', 'r2'])], nodes, 'self', from, 8)?.nodeId).toBe('o');
    expect(chooseUpstream([origin], nodes, 'self', from, 8, new Set(['o']))).toBeUndefined();
    expect(chooseUpstream([hold('gone', ['gone'])], nodes, 'self', from, 8)).toBeUndefined();
  });

  it('with a random source, spreads pulls over the equally good holders by spare links, never onto a worse one', () => {
    const nodes = new Map(
      [node('o', 'us'), node('r1', 'us'), node('r2', 'us'), node('r3', 'eu'), node('self', 'us')].map((n) => [n.nodeId, n]),
    );
    const holders = [hold('o', ['o'], 8), hold('r1', ['o', 'r1'], 2), hold('r2', ['o', 'r2'], 6), hold('r3', ['o', 'r3'])];
    const picks = new Map<string, number>();
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (let i = 0; i < 800; i++) {
      const id = chooseUpstream(holders, nodes, 'self', from, 8, new Set(), random)!.nodeId;
      picks.set(id, (picks.get(id) ?? 0) + 1);
    }
    // r1 has 6 spare links, r2 has 2: about 3:1. The full origin and the farther r3 are never picked.
    expect([...picks.keys()].sort()).toEqual(['r1', 'r2']);
    expect(picks.get('r1')! / picks.get('r2')!).toBeGreaterThan(2);
    expect(picks.get('r1')! / picks.get('r2')!).toBeLessThan(4.5);
  });
});
