// Placement decisions of the cascade, as pure functions over registry facts: which node a viewer
// should be sent to, and which holder a node should relay a stream from. Nearness is by region: the
// node's own region first, then its peer regions in the configured order, then the rest. Never does
// I/O: the Cascade reads the registry and acts on these answers.
import type { NodeRecord, StreamHolding } from './node-registry.js';

export interface Locality {
  region: string;
  /** Other regions, nearest first. */
  peerRegions: string[];
}

/** 0 for the own region, 1.. for peer regions in order, then one tier for every other region. */
export function regionTier(region: string, from: Locality): number {
  if (region === from.region) return 0;
  const at = from.peerRegions.indexOf(region);
  return at >= 0 ? at + 1 : from.peerRegions.length + 1;
}

const loadOf = (n: NodeRecord) => (n.maxViewers > 0 ? n.viewers / n.maxViewers : 1);

/**
 * The node to redirect a viewer of `streamId` to, excluding `self`: the nearest region with a node
 * that has room and takes viewers; within it a node already holding the stream (no new relay), then
 * the least loaded. Undefined when no other node has room.
 */
export function chooseViewerNode(
  nodes: Iterable<NodeRecord>,
  holders: StreamHolding[],
  selfId: string,
  from: Locality,
): NodeRecord | undefined {
  const holding = new Set(holders.map((h) => h.nodeId));
  const candidates = [...nodes].filter((n) => n.nodeId !== selfId && n.servesViewers && n.viewers < n.maxViewers);
  candidates.sort(
    (a, b) =>
      regionTier(a.region, from) - regionTier(b.region, from) ||
      Number(holding.has(b.nodeId)) - Number(holding.has(a.nodeId)) ||
      loadOf(a) - loadOf(b) ||
      a.nodeId.localeCompare(b.nodeId),
  );
  return candidates[0];
}

/**
 * The holder `selfId` should relay `streamId` from: never one whose chain passes through `selfId`
 * (a cycle), preferring holders with relay links to spare, then the nearest region (one long-haul
 * copy per region, then fan-out inside it), then the shallowest (fewest hops from the origin), then
 * the fewest links. Undefined when nobody holds it.
 *
 * With `random` (a source of numbers in [0, 1)), the choice among the holders that tie on the first
 * three (spare links, region, depth) is random, weighted by spare links: the link counts it reads may
 * be a moment old, and in a flash crowd every edge pulling at once would otherwise pick the same one.
 */
export function chooseUpstream(
  holders: StreamHolding[],
  nodes: Map<string, NodeRecord>,
  selfId: string,
  from: Locality,
  maxDownstream: number,
  avoid: ReadonlySet<string> = new Set(),
  random?: () => number,
): StreamHolding | undefined {
  const usable = holders.filter((h) => h.nodeId !== selfId && !h.path.includes(selfId) && nodes.has(h.nodeId) && !avoid.has(h.nodeId));
  const tier = (h: StreamHolding) => regionTier(nodes.get(h.nodeId)!.region, from);
  const full = (h: StreamHolding) => Number(h.downstream >= maxDownstream);
  usable.sort(
    (a, b) =>
      full(a) - full(b) ||
      tier(a) - tier(b) ||
      a.path.length - b.path.length ||
      a.downstream - b.downstream ||
      a.nodeId.localeCompare(b.nodeId),
  );
  const best = usable[0];
  if (!random || !best) return best;
  const ties = usable.filter((h) => full(h) === full(best) && tier(h) === tier(best) && h.path.length === best.path.length);
  const weight = (h: StreamHolding) => Math.max(1, maxDownstream - h.downstream);
  let at = random() * ties.reduce((sum, h) => sum + weight(h), 0);
  for (const h of ties) {
    at -= weight(h);
    if (at < 0) return h;
  }
  return best;
}
