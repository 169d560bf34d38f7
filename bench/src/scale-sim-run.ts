// One run of the scale simulation: a private Redis and NATS, a fleet of simulated nodes spread over
// a few hosts (child processes, or in this process for the test), and the workload: Zipf-popular
// streams and their viewers, a steady window with churn, a flash crowd on one new stream, 5 % of the
// edges crashing at once, a region's edges going dark, and a Redis restart. Returns what it measured;
// printing, fitting and comparing are the caller's (scale-sim.ts, the small test). Starts nothing it
// does not stop.
import { fork, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import type { RegistryReadPath } from '@onair/origin-cascade';
import { distribution, type Distribution } from './report.js';
import {
  SimHost,
  type HostCommand,
  type HostInit,
  type HostStats,
  type PlaceOutcome,
  type Reconnect,
  type StreamSample,
} from './scale-sim-host.js';
import type { SimNodeSpec } from './scale-sim-node.js';
import { PrivateNats, PrivateRedis, processCpuSeconds } from './scale-sim-servers.js';

export interface SimOptions {
  /** What the run is called in the report (the read path, and before/after this round's fixes). */
  label?: string;
  readPath: RegistryReadPath;
  /** This round's fixes (placement follows refusals, upstream beats watched, batched viewer counts); off = before. */
  fixes: boolean;
  nodes: number;
  streams: number;
  /** Steady-state viewers over all streams. */
  viewers: number;
  regions: number;
  /** Share of nodes that are origins (ingest, ladder; they take no viewers). */
  originShare: number;
  heartbeatMs: number;
  ttlMs: number;
  maxDownstream: number;
  audienceIntervalMs: number;
  /** Edge capacity = (steady viewers + the flash crowd) per edge x this. */
  capacityFactor: number;
  rampPerSec: number;
  steadySeconds: number;
  /** Viewers leaving and arriving per second in the steady window. */
  churnPerSec: number;
  flashViewers: number;
  flashSeconds: number;
  /**
   * When set, the flash crowd arrives at this rate per edge (the seed's 100 k in 60 s over 250 edges
   * is ~6.7 viewers/s per edge) for flashSeconds, instead of flashViewers over flashSeconds.
   */
  flashPerEdgePerSec?: number;
  failShare: number;
  regionOutage: boolean;
  redisRestart: boolean;
  /** Host processes (0: every node in this process, for tests). */
  hosts: number;
  /** The compiled host module (bench/dist/.../scale-sim-host.js) when hosts > 0. */
  hostModule?: string;
  log?: (line: string) => void;
}

export const DEFAULTS: Omit<SimOptions, 'readPath' | 'nodes' | 'streams' | 'viewers'> = {
  fixes: true,
  regions: 4,
  originShare: 0.1,
  heartbeatMs: 1000,
  ttlMs: 3500,
  maxDownstream: 8,
  audienceIntervalMs: 2000,
  capacityFactor: 1.6,
  rampPerSec: 2000,
  steadySeconds: 10,
  churnPerSec: 100,
  flashViewers: 2000,
  flashSeconds: 10,
  failShare: 0.05,
  regionOutage: true,
  redisRestart: true,
  hosts: 2,
};

export interface Recovery {
  /** Viewers that had to play again (on the crashed nodes, and on relays that ended with them). */
  affected: number;
  placed: number;
  failed: number;
  /** From the crash to the viewer playing again, ms. */
  replace: Distribution;
  /** The same for the viewers of relays that ended because their upstream crashed (not on a crashed node). */
  relayed: { affected: number; replace: Distribution };
}

export interface SimResult {
  options: SimOptions;
  edges: number;
  origins: number;
  edgeCapacity: number;
  ramp: { placed: number; failed: number; seconds: number };
  steady: {
    seconds: number;
    redisOpsPerSec: number;
    redisCpuCores: number;
    /** Bytes Redis sent to its clients (replies): where reading every record every second shows. */
    redisOutMBps: number;
    natsInPerSec: number;
    natsOutPerSec: number;
    natsCpuCores: number;
    natsSubscriptions: number;
    hostCpuCores: number;
    perNodeCpuMs: number;
    viewers: number;
    /** Streams held over all nodes (origins and relays): registry holdings. */
    holdings: number;
    /** Worst host's p99 event-loop delay in the window: high means the simulation, not the system, is saturated. */
    loopDelayP99Ms: number;
  };
  flash: {
    /** Viewers in the flash crowd and their arrival rate (all edges together). */
    viewers: number;
    ratePerSec: number;
    placed: number;
    failed: number;
    /** First POST to playing as the simulated client sees it: redirects, retries, hops through the hosts. */
    latency: Distribution;
    /** The WHEP handler of the node that took the viewer: placeViewer, relay set-up included. */
    serverLatency: Distribution;
    /** Worst host's p99 event-loop delay during the flash crowd (every simulated hop waits for it). */
    loopDelayP99Ms: number;
    retriesPerViewer: number;
    redisOpsPerSec: number;
    tree: { holders: number; relays: number; depth: number; maxFanOut: number };
    directoryLagMs: Distribution;
    /** From the last arrival until the directory showed the true total (undefined: not within 10 s). */
    directoryConvergedMs: number | undefined;
    finalViewers: number;
    finalDirectory: number | undefined;
  };
  failure?: Recovery & { crashed: number };
  regionOutage?: Recovery & { crashed: number };
  redisRestart?: {
    originsLost: number;
    viewersDropped: number;
    nodeRecordsAfter: number;
    aliveNodes: number;
    /** Viewers dropped by relays that ended meanwhile, by the reason they ended with. */
    dropReasons: Record<string, number>;
    recovery: Recovery;
  };
}

interface HostHandle {
  call(command: HostCommand): Promise<unknown>;
  pid: number | undefined;
  close(): Promise<void>;
}

function localHost(): HostHandle {
  const host = new SimHost();
  return { call: (c) => host.handle(c), pid: undefined, close: async () => {} };
}

function childHost(module: string): HostHandle {
  const child: ChildProcess = fork(module, ['--scale-sim-host'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) w?.reject(new Error(m.error));
    else w?.resolve(m.result);
  });
  child.on('error', () => {}); // a send to an exited host: its call is rejected below
  child.on('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`scale-sim host exited (${code})`));
    waiting.clear();
  });
  return {
    pid: child.pid,
    call: (command) =>
      new Promise((resolve, reject) => {
        const id = next++;
        if (!child.connected) return reject(new Error('scale-sim host has exited'));
        waiting.set(id, { resolve, reject });
        child.send({ id, command }, (err) => {
          if (!err) return;
          waiting.delete(id);
          reject(err);
        });
      }),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Zipf weights over `n` streams with the exponent that gives the top 1.5 % of streams 85 % of viewers. */
export function zipfWeights(n: number, topShare = 0.015, viewerShare = 0.85): number[] {
  const top = Math.max(1, Math.round(n * topShare));
  const shareOf = (s: number) => {
    let head = 0;
    let all = 0;
    for (let i = 1; i <= n; i++) {
      const w = 1 / i ** s;
      all += w;
      if (i <= top) head += w;
    }
    return head / all;
  };
  let lo = 0.1;
  let hi = 4;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (shareOf(mid) < viewerShare) lo = mid;
    else hi = mid;
  }
  const w = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** hi);
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / sum);
}

function sampler(weights: number[]): () => number {
  const cum: number[] = [];
  let acc = 0;
  for (const w of weights) cum.push((acc += w));
  return () => {
    const r = Math.random() * acc;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < r) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export async function runScaleSim(o: SimOptions): Promise<SimResult> {
  const log = o.log ?? (() => {});
  const redis = await PrivateRedis.start();
  const nats = await PrivateNats.start();
  const hosts: HostHandle[] = [];
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 }).on('error', () => {});
  try {
    const regions = Array.from({ length: o.regions }, (_, i) => `r${i}`);
    const originCount = Math.max(1, Math.round(o.nodes * o.originShare));
    const edgeCount = o.nodes - originCount;
    const flashViewers = o.flashPerEdgePerSec ? Math.round(o.flashPerEdgePerSec * edgeCount * o.flashSeconds) : o.flashViewers;
    const edgeCapacity = Math.ceil(((o.viewers + flashViewers) / Math.max(1, edgeCount)) * o.capacityFactor);
    const specs: SimNodeSpec[] = Array.from({ length: o.nodes }, (_, i) => {
      const r = i % o.regions;
      return {
        nodeId: `n${i}`,
        region: regions[r]!,
        peerRegions: regions.slice(r + 1).concat(regions.slice(0, r)),
        servesViewers: i >= originCount,
        maxViewers: i >= originCount ? edgeCapacity : 0,
      };
    });
    const entries: Record<string, string[]> = {};
    for (const s of specs) if (s.servesViewers) (entries[s.region] ??= []).push(s.nodeId);
    const hostCount = Math.max(1, o.hosts);
    const hostOf = (i: number) => i % hostCount;
    for (let h = 0; h < hostCount; h++) hosts.push(o.hosts > 0 ? childHost(o.hostModule!) : localHost());
    const prefix = `onair:sim:${o.readPath}:`;
    const settings = {
      prefix,
      readPath: o.readPath,
      heartbeatMs: o.heartbeatMs,
      ttlMs: o.ttlMs,
      maxDownstream: o.maxDownstream,
      audienceIntervalMs: o.audienceIntervalMs,
      fixes: o.fixes,
    };
    await Promise.all(
      hosts.map((host, h) => {
        const init: HostInit = {
          redisUrl: redis.url,
          natsUrl: nats.url,
          settings,
          entries,
          specs: specs.filter((_, i) => hostOf(i) === h),
        };
        return host.call({ cmd: 'init', init });
      }),
    );
    await Promise.all(hosts.map((h) => h.call({ cmd: 'start' })));
    log(`  ${o.label ?? o.readPath}: ${o.nodes} nodes (${originCount} origins, ${edgeCount} edges of ${edgeCapacity} viewers) started`);

    const all = () => Promise.all(hosts.map((h) => h.call({ cmd: 'stats' }) as Promise<HostStats>));
    const hostOfNode = (nodeId: string) => hosts[hostOf(Number(nodeId.slice(1)))]!;
    const streamIds = Array.from({ length: o.streams }, (_, i) => `s${i}`);
    await Promise.all(
      hosts.map((host, h) =>
        host.call({
          cmd: 'publish',
          streams: streamIds
            .map((streamId, i) => ({ streamId, nodeId: `n${i % originCount}` }))
            .filter((s) => hostOf(Number(s.nodeId.slice(1))) === h),
        }),
      ),
    );
    await sleep(o.heartbeatMs * 2);

    // Arrivals spread over the hosts, each at its share of the rate.
    const arrive = async (
      viewers: { streamId: string; region: string }[],
      ratePerSec: number,
      serverSide?: string,
    ): Promise<PlaceOutcome> => {
      const parts = await Promise.all(
        hosts.map(
          (host, h) =>
            host.call({
              cmd: 'arrive',
              viewers: viewers.filter((_, i) => i % hosts.length === h),
              ratePerSec: ratePerSec / hosts.length,
              serverSide,
            }) as Promise<PlaceOutcome>,
        ),
      );
      return {
        latenciesMs: parts.flatMap((p) => p.latenciesMs),
        serverMs: parts.flatMap((p) => p.serverMs ?? []),
        failed: parts.reduce((a, p) => a + p.failed, 0),
        attempts: parts.reduce((a, p) => a + p.attempts, 0),
      };
    };
    const pickStream = sampler(zipfWeights(o.streams));
    const randomRegion = () => regions[Math.floor(Math.random() * regions.length)]!;
    const zipfViewers = (n: number) => Array.from({ length: n }, () => ({ streamId: streamIds[pickStream()]!, region: randomRegion() }));

    // ---- ramp to the steady audience
    const rampStart = Date.now();
    const ramp = await arrive(zipfViewers(o.viewers), o.rampPerSec);
    log(`  ramp: ${ramp.latenciesMs.length} placed, ${ramp.failed} failed in ${((Date.now() - rampStart) / 1000).toFixed(1)} s`);

    // ---- steady window with churn
    const snap = async () => {
      const [cmds, varz, stats] = await Promise.all([redis.commandsProcessed(), nats.varz(), all()]);
      return {
        atMs: Date.now(),
        redisCommands: cmds.total,
        redisOutBytes: cmds.netOutputBytes,
        redisCpu: processCpuSeconds(redis.pid!),
        natsCpu: processCpuSeconds(nats.pid!),
        varz,
        hostCpu: hosts.map((h, i) => (h.pid ? processCpuSeconds(h.pid) : stats[i]!.cpuSeconds)),
        stats,
      };
    };
    await sleep(o.audienceIntervalMs);
    const s0 = await snap();
    const steadyEnd = Date.now() + o.steadySeconds * 1000;
    while (Date.now() < steadyEnd) {
      const tick = Date.now();
      const perHost = Math.round(o.churnPerSec / hosts.length);
      await Promise.all(hosts.map((h) => h.call({ cmd: 'depart', count: perHost })));
      void arrive(zipfViewers(perHost * hosts.length), o.churnPerSec * 2);
      await sleep(Math.max(0, 1000 - (Date.now() - tick)));
    }
    const s1 = await snap();
    const secs = (s1.atMs - s0.atMs) / 1000;
    const hostCpu = s1.hostCpu.reduce((a, c, i) => a + c - s0.hostCpu[i]!, 0) / secs;
    const alive = s1.stats.reduce((a, s) => a + s.alive, 0);
    const steady = {
      seconds: secs,
      redisOpsPerSec: (s1.redisCommands - s0.redisCommands) / secs,
      redisCpuCores: (s1.redisCpu - s0.redisCpu) / secs,
      redisOutMBps: (s1.redisOutBytes - s0.redisOutBytes) / secs / 1e6,
      natsInPerSec: (s1.varz.inMsgs - s0.varz.inMsgs) / secs,
      natsOutPerSec: (s1.varz.outMsgs - s0.varz.outMsgs) / secs,
      natsCpuCores: (s1.natsCpu - s0.natsCpu) / secs,
      natsSubscriptions: s1.varz.subscriptions,
      hostCpuCores: hostCpu,
      perNodeCpuMs: (hostCpu * 1000) / alive,
      viewers: s1.stats.reduce((a, s) => a + s.viewers, 0),
      holdings: s1.stats.reduce((a, s) => a + s.holdings, 0),
      loopDelayP99Ms: Math.max(...s1.stats.map((s) => s.loopDelayP99Ms)),
    };
    log(
      `  steady: redis ${steady.redisOpsPerSec.toFixed(0)} cmd/s ${steady.redisCpuCores.toFixed(3)} core, nats in ${steady.natsInPerSec.toFixed(0)}/s out ${steady.natsOutPerSec.toFixed(0)}/s, hosts ${hostCpu.toFixed(2)} core, ${steady.holdings} holdings, loop delay p99 ${steady.loopDelayP99Ms.toFixed(0)} ms`,
    );

    // ---- flash crowd on a new stream
    const flashId = 'flash';
    await hostOfNode('n0').call({ cmd: 'publish', streams: [{ streamId: flashId, nodeId: 'n0' }] });
    await sleep(o.heartbeatMs);
    await all(); // resets the hosts' event-loop delay histograms: the next read covers the flash crowd
    const f0 = await redis.commandsProcessed();
    const f0At = Date.now();
    const samples: { atMs: number; viewers: number; directory: number | undefined }[] = [];
    let sampling = true;
    const sampleLoop = (async () => {
      while (sampling) {
        const parts = (await Promise.all(hosts.map((h) => h.call({ cmd: 'sample', streamId: flashId })))) as StreamSample[];
        samples.push({
          atMs: Date.now(),
          viewers: parts.reduce((a, p) => a + p.viewers, 0),
          directory: parts.find((p) => p.directory)?.directory?.viewers,
        });
        await sleep(250);
      }
    })();
    const flash = await arrive(
      Array.from({ length: flashViewers }, () => ({ streamId: flashId, region: randomRegion() })),
      flashViewers / o.flashSeconds,
      flashId,
    );
    const flashDoneAt = Date.now();
    const flashLoopP99Ms = Math.max(...(await all()).map((s) => s.loopDelayP99Ms));
    const f1 = await redis.commandsProcessed();
    let converged: number | undefined;
    while (Date.now() - flashDoneAt < 10_000) {
      const last = samples[samples.length - 1];
      if (last && last.directory === last.viewers && last.atMs > flashDoneAt) {
        converged = last.atMs - flashDoneAt;
        break;
      }
      await sleep(250);
    }
    sampling = false;
    await sampleLoop;
    // Staleness: how long ago the true total was last what the directory shows now (0 when the
    // directory is not behind).
    const lags: number[] = [];
    samples.forEach((s, i) => {
      if (s.directory === undefined) return;
      for (let j = i; j >= 0; j--) {
        if (samples[j]!.viewers <= s.directory) {
          lags.push(s.atMs - samples[j]!.atMs);
          return;
        }
      }
    });
    const tree = await readTree(admin, prefix, flashId);
    const lastSample = samples[samples.length - 1];
    const flashResult = {
      placed: flash.latenciesMs.length,
      failed: flash.failed,
      latency: distribution(flash.latenciesMs),
      serverLatency: distribution((flash.serverMs ?? []).map((ms) => Math.round(ms * 10) / 10)),
      loopDelayP99Ms: flashLoopP99Ms,
      viewers: flashViewers,
      ratePerSec: flashViewers / o.flashSeconds,
      retriesPerViewer: flash.attempts / Math.max(1, flashViewers) - 1,
      redisOpsPerSec: (f1.total - f0.total) / ((flashDoneAt - f0At) / 1000),
      tree,
      directoryLagMs: distribution(lags),
      directoryConvergedMs: converged,
      finalViewers: lastSample?.viewers ?? 0,
      finalDirectory: lastSample?.directory,
    };
    log(
      `  flash: ${flashResult.placed}/${flashViewers} placed at ${Math.round(flashResult.ratePerSec)}/s, p50 ${flashResult.latency.p50} ms p99 ${flashResult.latency.p99} ms (node side p99 ${flashResult.serverLatency.p99} ms, loop p99 ${Math.round(flashLoopP99Ms)} ms), tree depth ${tree.depth} fan-out ${tree.maxFanOut}, directory converged ${converged ?? '-'} ms`,
    );

    // ---- recovery scenarios: crash nodes, wait until their viewers play again
    const recover = async (crash: string[]): Promise<Recovery> => {
      await all(); // drop finished reconnects of earlier phases
      const byHost = new Map<HostHandle, string[]>();
      for (const id of crash) byHost.set(hostOfNode(id), [...(byHost.get(hostOfNode(id)) ?? []), id]);
      const crashAtMs = Date.now();
      await Promise.all([...byHost].map(([h, ids]) => h.call({ cmd: 'crash', nodeIds: ids })));
      // Relays fed by a crashed node end when its record expires (the TTL), after its own viewers
      // have long been placed again: their viewers count here too, timed from the crash.
      return collectReconnects(all, crashAtMs, o.ttlMs + 2 * o.heartbeatMs, 30_000 + o.ttlMs);
    };
    const edgeIds = specs.filter((s) => s.servesViewers).map((s) => s.nodeId);
    const shuffled = [...edgeIds].sort(() => Math.random() - 0.5);
    const failing = shuffled.slice(0, Math.max(1, Math.round(edgeIds.length * o.failShare)));
    const e0 = await all();
    const failure = { crashed: failing.length, ...(await recover(failing)) };
    const e1 = await all();
    log(`  errors meanwhile: ${JSON.stringify(errorsDelta(e0, e1))}`);
    log(
      `  ${failing.length} edges crashed: ${failure.placed}/${failure.affected} viewers placed again, p99 ${failure.replace.p99} ms, max ${failure.replace.max} ms`,
    );

    let regionOutage: SimResult['regionOutage'];
    if (o.regionOutage) {
      const dark = regions[regions.length - 1]!;
      const ids = specs.filter((s) => s.servesViewers && s.region === dark && !failing.includes(s.nodeId)).map((s) => s.nodeId);
      regionOutage = { crashed: ids.length, ...(await recover(ids)) };
      log(`  errors meanwhile: ${JSON.stringify(errorsDelta(e1, await all()))}`);
      log(
        `  region ${dark} dark (${ids.length} edges): ${regionOutage.placed}/${regionOutage.affected} placed again, max ${regionOutage.replace.max} ms`,
      );
    }

    let redisRestart: SimResult['redisRestart'];
    if (o.redisRestart) {
      await all();
      const before = await all();
      const lostBefore = before.reduce((a, s) => a + s.originsLost, 0);
      const restartAtMs = Date.now();
      await redis.restart(1000);
      // Past the registry's grace after a loss (two TTLs): a node wrongly declared dead shows by then.
      const recovery = await collectReconnects(all, restartAtMs, o.ttlMs * 3 + o.heartbeatMs * 2, 30_000);
      const after = await all();
      const nodeRecordsAfter = (await admin.keys(`${prefix}node:*`).catch(() => [])).length;
      redisRestart = {
        originsLost: after.reduce((a, s) => a + s.originsLost, 0) - lostBefore,
        viewersDropped: recovery.affected,
        nodeRecordsAfter,
        aliveNodes: after.reduce((a, s) => a + s.alive, 0),
        dropReasons: reasonsDelta(before, after),
        recovery,
      };
      log(
        `  redis restart: ${redisRestart.originsLost} streams declared ended, ${recovery.affected} viewers dropped (${JSON.stringify(redisRestart.dropReasons)}), ${nodeRecordsAfter}/${redisRestart.aliveNodes} node records rebuilt`,
      );
    }

    return {
      options: o,
      edges: edgeCount,
      origins: originCount,
      edgeCapacity,
      ramp: { placed: ramp.latenciesMs.length, failed: ramp.failed, seconds: (Date.now() - rampStart) / 1000 },
      steady,
      flash: flashResult,
      failure,
      regionOutage,
      redisRestart,
    };
  } finally {
    await Promise.allSettled(hosts.map((h) => h.call({ cmd: 'close' })));
    await Promise.allSettled(hosts.map((h) => h.close()));
    admin.disconnect();
    await redis.close();
    await nats.close();
  }
}

function errorsDelta(before: HostStats[], after: HostStats[]): Record<string, number> {
  return reasonsDelta(
    before.map((h) => ({ ...h, dropReasons: h.errors })),
    after.map((h) => ({ ...h, dropReasons: h.errors })),
  );
}

function reasonsDelta(before: HostStats[], after: HostStats[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of after) for (const [k, v] of Object.entries(h.dropReasons)) out[k] = (out[k] ?? 0) + v;
  for (const h of before) for (const [k, v] of Object.entries(h.dropReasons)) out[k] = (out[k] ?? 0) - v;
  for (const k of Object.keys(out)) if (out[k] === 0) delete out[k];
  return out;
}

/**
 * Waits at least `minMs` and until no re-POSTing viewer is left (or `maxMs`), gathering how long
 * each took from `sinceMs` (the crash: that is when their video stopped).
 */
async function collectReconnects(stats: () => Promise<HostStats[]>, sinceMs: number, minMs: number, maxMs: number): Promise<Recovery> {
  const done: Reconnect[] = [];
  for (;;) {
    await sleep(250);
    const s = await stats();
    for (const h of s) done.push(...h.reconnects);
    const waiting = s.reduce((a, h) => a + h.reconnectsWaiting, 0);
    const elapsed = Date.now() - sinceMs;
    if ((waiting === 0 && elapsed >= minMs) || elapsed > maxMs) break;
  }
  const placed = done.filter((r) => r.placedAtMs !== undefined);
  const relayed = done.filter((r) => r.cause !== 'node_crashed');
  return {
    affected: done.length,
    placed: placed.length,
    failed: done.filter((r) => r.failed).length,
    replace: distribution(placed.map((r) => r.placedAtMs! - sinceMs)),
    relayed: {
      affected: relayed.length,
      replace: distribution(relayed.filter((r) => r.placedAtMs !== undefined).map((r) => r.placedAtMs! - sinceMs)),
    },
  };
}

/** The relay tree of a stream as the registry lists it: holders, depth in hops, widest fan-out. */
async function readTree(redis: Redis, prefix: string, streamId: string): Promise<SimResult['flash']['tree']> {
  const all = await redis.hgetall(`${prefix}stream:${streamId}`);
  let depth = 0;
  let maxFanOut = 0;
  let relays = 0;
  const holders = Object.values(all);
  for (const json of holders) {
    const h = JSON.parse(json) as { role: string; path: string[]; downstream: number };
    depth = Math.max(depth, h.path.length - 1);
    maxFanOut = Math.max(maxFanOut, h.downstream);
    if (h.role === 'relay') relays++;
  }
  return { holders: holders.length, relays, depth, maxFanOut };
}
