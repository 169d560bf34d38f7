// The NATS cost of viewer counting at the seed's rates, measured rather than extrapolated: a private
// nats-server, publishers sending what the Audience sends at the seed (250 edges, 160 origins, 10 k
// streams, ~1,031 streams held per edge) and subscribers standing in for the nodes that read it, for
// the two wires alternately in one run:
// - `per-stream` (before): one message per node and stream every interval on
//   onair.stream.<id>.viewers, read by the stream's origin and by one channel node (every watcher of
//   a stream receives every node's figure);
// - `batched` (after): one message per node and origin every interval on onair.node.<origin>.viewers
//   (the origin reads it), and one total per stream and interval on onair.stream.<id>.viewer-total
//   (counted as if every total changed every interval; read by one channel node).
// Payloads are the JSON the Audience writes. Measured per phase: nats-server CPU (/proc), messages in
// and out (/varz) and the rate reached; a phase whose rate falls short says so (the load generator,
// on the same machine, is then the limit, and the CPU per message is what to read). Starts nothing it
// does not stop.
import { connect, type NatsConnection } from 'nats';
import { PrivateNats, processCpuSeconds } from './scale-sim-servers.js';

export interface SeedWire {
  edges: number;
  origins: number;
  streams: number;
  /** Streams an edge holds with viewers (its per-stream messages per interval). */
  streamsPerEdge: number;
  /** Origins an edge holds streams of (its batches per interval). */
  originsPerEdge: number;
  intervalMs: number;
}

export interface WirePhase {
  wire: 'per-stream' | 'batched';
  targetInPerSec: number;
  inPerSec: number;
  outPerSec: number;
  natsCores: number;
  /** nats-server CPU per message handled (in + out), microseconds. */
  usPerMsg: number;
  /** At the target rate: how many times the load fits in one core. */
  headroomPerCore: number;
  loadAverage: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The messages one interval of a wire carries, as [subject, payload] generators per publisher tick. */
function intervalMessages(wire: WirePhase['wire'], seed: SeedWire): { count: number; make: (i: number) => [string, Uint8Array] } {
  const enc = new TextEncoder();
  if (wire === 'per-stream') {
    const count = seed.edges * seed.streamsPerEdge;
    const payloads = Array.from({ length: seed.edges }, (_, e) => enc.encode(JSON.stringify({ node: `edge-${e}`, count: 7 })));
    return {
      count,
      make: (i) => [`onair.stream.s${i % seed.streams}.viewers`, payloads[Math.floor(i / seed.streamsPerEdge) % seed.edges]!],
    };
  }
  const batches = seed.edges * seed.originsPerEdge;
  const entries = Math.max(1, Math.round(seed.streamsPerEdge / seed.originsPerEdge));
  const batch = (e: number) =>
    enc.encode(
      JSON.stringify({ node: `edge-${e}`, counts: Object.fromEntries(Array.from({ length: entries }, (_, k) => [`s${e * 37 + k}`, 7])) }),
    );
  const batchPayloads = Array.from({ length: seed.edges }, (_, e) => batch(e));
  const total = enc.encode(JSON.stringify({ node: 'origin-1', total: 1234 }));
  return {
    count: batches + seed.streams,
    make: (i) =>
      i < batches
        ? [`onair.node.origin-${i % seed.origins}.viewers`, batchPayloads[Math.floor(i / seed.originsPerEdge) % seed.edges]!]
        : [`onair.stream.s${i - batches}.viewer-total`, total],
  };
}

async function phase(
  nats: PrivateNats,
  wire: WirePhase['wire'],
  seed: SeedWire,
  seconds: number,
  loadAverage: () => number,
): Promise<WirePhase> {
  const subs: NatsConnection[] = [];
  const pubs: NatsConnection[] = [];
  try {
    // Two readers: the origins' side and one channel node per stream.
    for (let i = 0; i < 2; i++) subs.push(await connect({ servers: nats.url, name: `reader-${i}` }));
    if (wire === 'per-stream') for (const c of subs) c.subscribe('onair.stream.*.viewers', { callback: () => {} });
    else {
      subs[0]!.subscribe('onair.node.*.viewers', { callback: () => {} });
      subs[1]!.subscribe('onair.stream.*.viewer-total', { callback: () => {} });
    }
    for (const c of subs) await c.flush();
    for (let i = 0; i < 2; i++) pubs.push(await connect({ servers: nats.url, name: `writer-${i}` }));
    const { count, make } = intervalMessages(wire, seed);
    const targetInPerSec = (count * 1000) / seed.intervalMs;
    const tickMs = 10;
    const perTick = (targetInPerSec * tickMs) / 1000;
    let sent = 0;
    let carry = 0;
    const v0 = await nats.varz();
    const cpu0 = processCpuSeconds(nats.pid!);
    const t0 = Date.now();
    let next = t0;
    while (Date.now() - t0 < seconds * 1000) {
      carry += perTick;
      const n = Math.floor(carry);
      carry -= n;
      for (let k = 0; k < n; k++) {
        const [subject, payload] = make(sent % count);
        pubs[sent % pubs.length]!.publish(subject, payload);
        sent++;
      }
      next += tickMs;
      const wait = next - Date.now();
      await sleep(Math.max(0, wait));
    }
    await Promise.all([...pubs, ...subs].map((c) => c.flush()));
    const secs = (Date.now() - t0) / 1000;
    const cpu = processCpuSeconds(nats.pid!) - cpu0;
    const v1 = await nats.varz();
    const inPerSec = (v1.inMsgs - v0.inMsgs) / secs;
    const outPerSec = (v1.outMsgs - v0.outMsgs) / secs;
    const natsCores = cpu / secs;
    const usPerMsg = (cpu * 1e6) / Math.max(1, v1.inMsgs - v0.inMsgs + v1.outMsgs - v0.outMsgs);
    // The cost at the target rate (in + the same fan-out), from the cost per message measured.
    const atTarget = (usPerMsg / 1e6) * targetInPerSec * (1 + outPerSec / Math.max(1, inPerSec));
    return { wire, targetInPerSec, inPerSec, outPerSec, natsCores, usPerMsg, headroomPerCore: 1 / atTarget, loadAverage: loadAverage() };
  } finally {
    await Promise.allSettled([...pubs, ...subs].map((c) => c.close()));
  }
}

/** Alternates the two wires `rounds` times on one private nats-server. */
export async function measureViewerWires(
  seed: SeedWire,
  opts: { seconds: number; rounds: number; loadAverage: () => number; log?: (line: string) => void },
): Promise<WirePhase[]> {
  const nats = await PrivateNats.start();
  const out: WirePhase[] = [];
  try {
    for (let r = 0; r < opts.rounds; r++) {
      for (const wire of ['per-stream', 'batched'] as const) {
        const p = await phase(nats, wire, seed, opts.seconds, opts.loadAverage);
        opts.log?.(
          `  nats at the seed, ${wire}: target ${Math.round(p.targetInPerSec)} in/s, reached ${Math.round(p.inPerSec)} in/s ${Math.round(p.outPerSec)} out/s, nats-server ${p.natsCores.toFixed(3)} core, ${p.usPerMsg.toFixed(2)} us/msg, headroom ${p.headroomPerCore.toFixed(1)}x per core (load ${p.loadAverage.toFixed(1)})`,
        );
        out.push(p);
      }
    }
    return out;
  } finally {
    await nats.close();
  }
}
