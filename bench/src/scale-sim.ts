// `npm run scale-sim -w bench`: the control plane at fleet scale. For each node count and registry
// read path (the original `scan`, the `indexed` fix) it runs scale-sim-run.ts on private Redis and
// NATS servers, prints what each run measured, fits each cost's growth exponent over the node counts
// (least squares on log cost vs log nodes: ~1 is linear, ~2 quadratic) and extrapolates it to the
// seed's fleet. Both read paths run in the same invocation, so before/after compare on one machine
// state. Options (defaults in brackets):
//   --nodes 50,200,400           simulated node counts
//   --configs before,after       what to compare, each on fresh servers: `scan` (the original read path),
//                                `before` (indexed read path, this round's cascade and audience fixes
//                                off), `after` (all fixes on); `both` = scan,after (the first round's A/B)
//   --streams-per-node 25        the seed's ratio: 10 k streams on ~410 nodes
//   --viewers-per-node 20        scaled down from 8,000 per real edge (viewers are counted, not sent)
//   --streams N --viewers N      absolute figures instead of the ratios
//   --heartbeat-ms 1000  --steady-seconds 10  --flash-viewers 2000  --flash-seconds 10
//   --flash-per-edge-per-sec R   flash arrivals per edge per second (the seed: 100 k in 60 s over 250
//                                edges = 6.7) for --flash-seconds, instead of --flash-viewers
//   --hosts 2                    host processes the nodes are spread over
//   --seed-nodes 410             the fleet to extrapolate to (250 edges + ~160 origins, see README)
//   --no-region-outage --no-redis-restart
//   --nats-seed-seconds 8        each phase of the viewer-count wires at the seed's rates on a private
//   --nats-seed-rounds 2         nats-server (scale-sim-nats.ts), alternating before/after; 0 rounds: skip
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { RegistryReadPath } from '@onair/origin-cascade';
import { round, table } from './report.js';
import { measureViewerWires } from './scale-sim-nats.js';
import { DEFAULTS, runScaleSim, type SimResult, zipfWeights } from './scale-sim-run.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const num = (name: string, fallback: number) => Number(arg(name) ?? fallback);
const flag = (name: string) => process.argv.includes(`--${name}`);

/** Least-squares slope of log(y) on log(x), and the fitted y at `at`. */
export function fitPower(xs: number[], ys: number[], at: number): { exponent: number; at: number } | undefined {
  const pts = xs.map((x, i) => [Math.log(x), Math.log(ys[i]!)] as const).filter(([, y]) => Number.isFinite(y));
  if (pts.length < 2) return undefined;
  const mx = pts.reduce((a, [x]) => a + x, 0) / pts.length;
  const my = pts.reduce((a, [, y]) => a + y, 0) / pts.length;
  const b = pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return { exponent: b, at: Math.exp(my + b * (Math.log(at) - mx)) };
}

async function main() {
  const nodeCounts = (arg('nodes') ?? '50,200,400').split(',').map(Number);
  const configNames = (arg('configs') ?? 'before,after').replace('both', 'scan,after').split(',');
  const known: Record<string, { readPath: RegistryReadPath; fixes: boolean }> = {
    scan: { readPath: 'scan', fixes: false },
    before: { readPath: 'indexed', fixes: false },
    after: { readPath: 'indexed', fixes: true },
  };
  for (const c of configNames) if (!known[c]) throw new Error(`unknown config ${c} (scan, before, after)`);
  const paths = configNames;
  const seedNodes = num('seed-nodes', 410);
  const hostModule = fileURLToPath(new URL('./scale-sim-host.js', import.meta.url));
  const results: SimResult[] = [];
  const started = new Date();
  for (const nodes of nodeCounts) {
    for (const label of paths) {
      console.log(`run: ${nodes} nodes, ${label}`);
      const r = await runScaleSim({
        ...DEFAULTS,
        ...known[label]!,
        label,
        nodes,
        streams: Number(arg('streams') ?? Math.round(nodes * num('streams-per-node', 25))),
        viewers: Number(arg('viewers') ?? Math.round(nodes * num('viewers-per-node', 20))),
        heartbeatMs: num('heartbeat-ms', DEFAULTS.heartbeatMs),
        ttlMs: num('heartbeat-ms', DEFAULTS.heartbeatMs) * 3.5,
        steadySeconds: num('steady-seconds', DEFAULTS.steadySeconds),
        flashViewers: num('flash-viewers', DEFAULTS.flashViewers),
        flashSeconds: num('flash-seconds', DEFAULTS.flashSeconds),
        flashPerEdgePerSec: arg('flash-per-edge-per-sec') ? num('flash-per-edge-per-sec', 0) : undefined,
        hosts: num('hosts', DEFAULTS.hosts),
        regionOutage: !flag('no-region-outage'),
        redisRestart: !flag('no-redis-restart'),
        hostModule,
        log: (line) => console.log(line),
      });
      results.push(r);
    }
  }

  console.log(`\nmachine: ${cpus().length} cores, ${cpus()[0]?.model}; ${started.toISOString()}`);
  console.log('\nsteady state (churn, no scenario running):');
  console.log(
    table(
      results.map((r) => ({
        config: r.options.label!,
        nodes: r.options.nodes,
        streams: r.options.streams,
        viewers: r.steady.viewers,
        'redis cmd/s': round(r.steady.redisOpsPerSec, 0),
        'redis core': round(r.steady.redisCpuCores, 3),
        'redis out MB/s': round(r.steady.redisOutMBps, 2),
        'nats in/s': round(r.steady.natsInPerSec, 0),
        'nats out/s': round(r.steady.natsOutPerSec, 0),
        'nats core': round(r.steady.natsCpuCores, 3),
        'hosts core': round(r.steady.hostCpuCores, 2),
        'ms CPU/node/s': round(r.steady.perNodeCpuMs, 2),
        holdings: r.steady.holdings,
        'redis cmd/holding/s': round(r.steady.redisOpsPerSec / Math.max(1, r.steady.holdings), 2),
        'loop p99 ms': round(r.steady.loopDelayP99Ms, 0),
      })),
    ),
  );
  console.log('\nscenarios:');
  console.log(
    table(
      results.map((r) => ({
        config: r.options.label!,
        nodes: r.options.nodes,
        'flash placed': `${r.flash.placed}/${r.flash.viewers}`,
        'flash /s': round(r.flash.ratePerSec, 0),
        'p50 ms': r.flash.latency.p50,
        'p99 ms': r.flash.latency.p99,
        'node-side p50/p99 ms': `${r.flash.serverLatency.p50}/${r.flash.serverLatency.p99}`,
        'loop p99 ms': round(r.flash.loopDelayP99Ms, 0),
        'retries/viewer': round(r.flash.retriesPerViewer, 2),
        'redis cmd/s flash': round(r.flash.redisOpsPerSec, 0),
        'tree depth/fan-out/relays': `${r.flash.tree.depth}/${r.flash.tree.maxFanOut}/${r.flash.tree.relays}`,
        'dir lag p50/max ms': `${r.flash.directoryLagMs.p50}/${r.flash.directoryLagMs.max}`,
        'dir converged ms': r.flash.directoryConvergedMs ?? 'no',
        '5% edges: placed/affected, max ms': r.failure ? `${r.failure.placed}/${r.failure.affected}, ${r.failure.replace.max}` : '-',
        'of which relayed: n, p99/max ms': r.failure
          ? `${r.failure.relayed.affected}, ${r.failure.relayed.replace.p99}/${r.failure.relayed.replace.max}`
          : '-',
        'region: placed/affected, max ms': r.regionOutage
          ? `${r.regionOutage.placed}/${r.regionOutage.affected}, ${r.regionOutage.replace.max}`
          : '-',
        'redis restart: ended/dropped/records': r.redisRestart
          ? `${r.redisRestart.originsLost}/${r.redisRestart.viewersDropped}/${r.redisRestart.nodeRecordsAfter} of ${r.redisRestart.aliveNodes}`
          : '-',
      })),
    ),
  );

  if (nodeCounts.length >= 2) {
    console.log(`\ngrowth with nodes (fitted exponent b in cost ~ nodes^b) and the cost at ${seedNodes} nodes:`);
    const rows: Record<string, string | number>[] = [];
    for (const path of paths) {
      const rs = results.filter((r) => r.options.label === path);
      const xs = rs.map((r) => r.options.nodes);
      const metrics: [string, (r: SimResult) => number, number][] = [
        ['redis cmd/s', (r) => r.steady.redisOpsPerSec, 0],
        ['redis core', (r) => r.steady.redisCpuCores, 1],
        ['redis out MB/s', (r) => r.steady.redisOutMBps, 0],
        ['nats msgs/s (in+out)', (r) => r.steady.natsInPerSec + r.steady.natsOutPerSec, 0],
        ['nats core', (r) => r.steady.natsCpuCores, 1],
        ['control plane, all nodes (core)', (r) => r.steady.hostCpuCores, 0],
        ['ms CPU per node per s', (r) => r.steady.perNodeCpuMs, 100],
      ];
      for (const [name, f, budget] of metrics) {
        const fit = fitPower(xs, rs.map(f), seedNodes);
        // Where the cost reaches its budget (1 core for Redis and NATS, 10 % of a core per node).
        let saturatesAt: number | string = '-';
        if (fit && budget > 0 && fit.exponent > 0) {
          const last = rs[rs.length - 1]!;
          saturatesAt = Math.round(last.options.nodes * (budget / f(last)) ** (1 / fit.exponent));
        }
        rows.push({
          config: path,
          cost: name,
          ...Object.fromEntries(rs.map((r) => [`n=${r.options.nodes}`, round(f(r), 3)])),
          b: fit ? round(fit.exponent, 2) : '-',
          [`at ${seedNodes}`]: fit ? round(fit.at, 3) : '-',
          'budget reached at nodes': saturatesAt,
        });
      }
    }
    console.log(table(rows));
  }

  // Holdings at the seed: an edge holds every stream one of its viewers watches. With 8,000 WebRTC
  // viewers per edge drawn from the same Zipf popularity over 10 k streams, the expected number of
  // distinct streams per edge is sum_i 1 - (1 - p_i)^8000.
  const seedStreams = 10_000;
  const seedWeights = zipfWeights(seedStreams);
  const perEdge = seedWeights.reduce((a, p) => a + 1 - (1 - p) ** 8000, 0);
  const seedHoldings = Math.round(250 * perEdge + seedStreams);
  console.log(
    `\nseed holdings estimate: ${Math.round(perEdge)} distinct streams per edge (8,000 viewers), ${seedHoldings} holdings over 250 edges + 10 k origins`,
  );
  for (const path of paths) {
    const last = results.filter((r) => r.options.label === path).at(-1);
    if (!last) continue;
    const perHolding = last.steady.redisOpsPerSec / Math.max(1, last.steady.holdings);
    console.log(
      `  ${path}: ${round(perHolding, 2)} Redis cmd per holding per s at ${last.options.nodes} nodes -> ~${Math.round(perHolding * seedHoldings)} cmd/s at the seed`,
    );
  }

  // Viewer counting's NATS load at the seed: streams spread over 160 origins (stream i on origin
  // i mod 160); an edge sends one batch per origin it holds a stream of.
  const rounds = num('nats-seed-rounds', 2);
  if (rounds > 0) {
    const seedOrigins = 160;
    const noneHeld = new Array<number>(seedOrigins).fill(1);
    seedWeights.forEach((p, i) => {
      noneHeld[i % seedOrigins]! *= (1 - p) ** 8000;
    });
    const originsPerEdge = noneHeld.reduce((a, q) => a + 1 - q, 0);
    const seed = {
      edges: 250,
      origins: seedOrigins,
      streams: seedStreams,
      streamsPerEdge: Math.round(perEdge),
      originsPerEdge: Math.round(originsPerEdge),
      intervalMs: DEFAULTS.audienceIntervalMs,
    };
    console.log(
      `\nviewer counts on NATS at the seed (${seed.edges} edges x ${seed.streamsPerEdge} streams from ${seed.originsPerEdge} origins, every ${seed.intervalMs} ms), ${new Date().toISOString()}:`,
    );
    const phases = await measureViewerWires(seed, {
      seconds: num('nats-seed-seconds', 8),
      rounds,
      loadAverage: () => loadavg()[0]!,
      log: (line) => console.log(line),
    });
    console.log(
      table(
        phases.map((p) => ({
          wire: p.wire,
          'target in/s': Math.round(p.targetInPerSec),
          'reached in/s': Math.round(p.inPerSec),
          'out/s': Math.round(p.outPerSec),
          'nats core': round(p.natsCores, 3),
          'us/msg': round(p.usPerMsg, 2),
          'headroom per core at target': `${round(p.headroomPerCore, 1)}x`,
          load: round(p.loadAverage, 1),
        })),
      ),
    );
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
