// A process's share of the scale simulation: it hosts some simulated nodes (scale-sim-node.ts) on one
// Redis connection and one NATS connection, answers the simulated WHEP POSTs addressed to them
// (`sim.whep.<nodeId>` over NATS, standing in for the HTTP hop, so redirects cross processes as they
// cross machines), and runs the simulated viewers' clients: pick an entry node in the viewer's
// region, follow redirects, retry with jittered backoff, re-POST when the stream is lost (what the
// SDK's playWithReconnect does). Commands come from the orchestrator (scale-sim.ts) either over the
// child-process IPC channel or directly (in-process, for the test). Owns its nodes and connections;
// close() ends them.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createLogger, NatsBus, type Bus, type Logger } from '@onair/platform';
import { isMediaError } from '@onair/sfu';
import { SimNode, type SimNodeSettings, type SimNodeSpec } from './scale-sim-node.js';

export interface HostInit {
  redisUrl: string;
  natsUrl: string;
  settings: SimNodeSettings;
  /** The nodes this host runs. */
  specs: SimNodeSpec[];
  /** Every node of the fleet that takes viewers (entry points), by region. */
  entries: Record<string, string[]>;
}

export interface PlaceOutcome {
  latenciesMs: number[];
  /**
   * With `serverSide`: how long each node's WHEP handler took for these viewers (the cascade's
   * placeViewer, relay set-up included), without the simulated client's hops through the hosts' event loops.
   */
  serverMs?: number[];
  failed: number;
  attempts: number;
}

/** A viewer that lost its stream (node crashed, relay ended) and how long it took to play again. */
export interface Reconnect {
  droppedAtMs: number;
  /** Why its video stopped: its node crashed, or the relay it watched ended (with that reason). */
  cause: string;
  placedAtMs: number | undefined;
  /** Gave up (30 s of retries) without playing again. */
  failed: boolean;
}

export type HostCommand =
  | { cmd: 'init'; init: HostInit }
  | { cmd: 'start' }
  | { cmd: 'publish'; streams: { streamId: string; nodeId: string }[] }
  | { cmd: 'arrive'; viewers: { streamId: string; region: string }[]; ratePerSec: number; serverSide?: string }
  | { cmd: 'depart'; count: number }
  | { cmd: 'crash'; nodeIds: string[] }
  | { cmd: 'sample'; streamId: string }
  | { cmd: 'stats' }
  | { cmd: 'close' };

export interface HostStats {
  cpuSeconds: number;
  nodes: number;
  alive: number;
  viewers: number;
  originsLost: number;
  /** Reconnects that finished (placed or gave up) since the last stats call. */
  reconnects: Reconnect[];
  reconnectsWaiting: number;
  /** Streams held (origin or relay) over this host's live nodes: one registry holding each. */
  holdings: number;
  /** p99 event-loop delay since the previous stats call, ms. */
  loopDelayP99Ms: number;
  dropReasons: Record<string, number>;
  errors: Record<string, number>;
  busDropped: number;
}

export interface StreamSample {
  viewers: number;
  directory: { viewers: number; atMs: number } | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
/** A full-jitter backoff: a random wait up to the exponential step (spreads a herd of retries). */
const backoffMs = (attempt: number) => Math.random() * Math.min(2000, 50 * 2 ** attempt);

type WhepReply = { ok: true } | { redirect: string } | { error: string };

export class SimHost {
  private redis!: Redis;
  private bus!: NatsBus;
  private log!: Logger;
  private init!: HostInit;
  private readonly nodes = new Map<string, SimNode>();
  private readonly directory = new Map<string, { viewers: number; atMs: number }>();
  private readonly reconnects: Reconnect[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  /** Failed WHEP attempts by error code (a retry follows each). */
  private readonly errors: Record<string, number> = {};
  /** Viewers dropped by relays that ended, by the reason the stream ended with. */
  private readonly dropReasons: Record<string, number> = {};
  private closed = false;
  /** This process's event-loop delay: when it is high, the simulation itself is the bottleneck. */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  /** WHEP handler durations of the stream being timed server-side (one arrive at a time). */
  private serverSide: { streamId: string; ms: number[] } | undefined;

  async handle(c: HostCommand): Promise<unknown> {
    switch (c.cmd) {
      case 'init':
        return this.setUp(c.init);
      case 'start':
        return this.start();
      case 'publish':
        for (const s of c.streams) this.nodes.get(s.nodeId)!.media.publish(s.streamId);
        return null;
      case 'arrive':
        return this.arrive(c.viewers, c.ratePerSec, c.serverSide);
      case 'depart':
        return this.depart(c.count);
      case 'crash':
        return this.crash(c.nodeIds);
      case 'sample':
        return this.sample(c.streamId);
      case 'stats':
        return this.stats();
      case 'close':
        return this.close();
    }
  }

  private async setUp(init: HostInit): Promise<null> {
    this.init = init;
    this.loopDelay.enable();
    this.log = createLogger(process.env.SCALE_SIM_LOG ?? 'silent', 'scale-sim');
    // Commands fail fast while Redis is down (the Redis restart scenario) instead of queueing forever.
    this.redis = new Redis(init.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: true, retryStrategy: () => 200 });
    this.redis.on('error', () => {}); // reconnect errors are expected in the restart scenario; commands report failures
    this.bus = await NatsBus.connect({ url: init.natsUrl, name: 'scale-sim' }, this.log);
    for (const spec of init.specs) {
      const node = new SimNode(spec, init.settings, { redis: this.redis, bus: this.bus as Bus, log: this.log }, (id, viewers) =>
        this.directory.set(id, { viewers, atMs: Date.now() }),
      );
      node.media.onViewersDropped = (streamId, count, reason) => {
        this.dropReasons[reason] = (this.dropReasons[reason] ?? 0) + count;
        this.replace(streamId, spec.region, count, Date.now(), reason);
      };
      this.nodes.set(spec.nodeId, node);
      this.bus.serve(`sim.whep.${spec.nodeId}`, async (data) => {
        const { streamId } = JSON.parse(new TextDecoder().decode(data)) as { streamId: string };
        return new TextEncoder().encode(JSON.stringify(await this.answerWhep(node, streamId)));
      });
    }
    await this.bus.flush();
    return null;
  }

  /** Starts every node, spread over one heartbeat (real nodes do not tick in step). */
  private async start(): Promise<null> {
    const step = this.init.settings.heartbeatMs / Math.max(1, this.nodes.size);
    await Promise.all(
      [...this.nodes.values()].map(async (n, i) => {
        await sleep(i * step);
        await n.start();
      }),
    );
    return null;
  }

  /** The WHEP route of one node: ask the cascade, then take the viewer (MediaPlane.play in the model). */
  private async answerWhep(node: SimNode, streamId: string): Promise<WhepReply> {
    if (node.crashed) return { error: 'node_crashed' };
    const started = performance.now();
    const timed = this.serverSide?.streamId === streamId ? this.serverSide.ms : undefined;
    try {
      const placement = await node.cascade.placeViewer(streamId);
      if ('redirect' in placement) return { redirect: placement.nodeId };
      node.media.addViewer(streamId);
      timed?.push(performance.now() - started);
      return { ok: true };
    } catch (err) {
      return { error: isMediaError(err) ? err.code : 'internal' };
    }
  }

  /** One simulated viewer's client: entry node in its region, redirects, jittered retries. */
  private async placeOne(streamId: string, region: string, deadlineMs = 30_000): Promise<{ ok: boolean; attempts: number }> {
    const started = Date.now();
    let attempts = 0;
    let unreachable = 0;
    const avoid = new Set<string>();
    while (!this.closed && Date.now() - started < deadlineMs) {
      attempts++;
      // An unreachable region (outage): after two misses the client's DNS answer moves it elsewhere.
      const entries = unreachable >= 2 ? Object.values(this.init.entries).flat() : (this.init.entries[region] ?? []);
      // A client does not go back to an entry node that did not answer it.
      const reachable = entries.filter((id) => !avoid.has(id));
      let target = pick(reachable.length ? reachable : entries);
      for (let hop = 0; hop < 4; hop++) {
        let reply: WhepReply;
        try {
          const data = await this.bus.request(`sim.whep.${target}`, new TextEncoder().encode(JSON.stringify({ streamId })), {
            timeoutMs: 5000,
          });
          reply = JSON.parse(new TextDecoder().decode(data)) as WhepReply;
        } catch {
          reply = { error: 'unreachable' };
        }
        if ('ok' in reply) return { ok: true, attempts };
        if ('redirect' in reply) {
          target = reply.redirect;
          continue;
        }
        if (reply.error === 'unreachable' || reply.error === 'node_crashed') {
          unreachable++;
          avoid.add(target);
        }
        this.errors[reply.error] = (this.errors[reply.error] ?? 0) + 1;
        break;
      }
      await sleep(backoffMs(attempts));
    }
    return { ok: false, attempts };
  }

  private async arrive(viewers: { streamId: string; region: string }[], ratePerSec: number, serverSide?: string): Promise<PlaceOutcome> {
    const out: PlaceOutcome = { latenciesMs: [], failed: 0, attempts: 0 };
    if (serverSide) this.serverSide = { streamId: serverSide, ms: [] };
    const t0 = Date.now();
    const all: Promise<void>[] = [];
    for (let i = 0; i < viewers.length; i++) {
      const due = t0 + (i * 1000) / ratePerSec;
      const wait = due - Date.now();
      if (wait > 2) await sleep(wait);
      const v = viewers[i]!;
      const started = Date.now();
      all.push(
        this.placeOne(v.streamId, v.region).then((r) => {
          out.attempts += r.attempts;
          if (r.ok) out.latenciesMs.push(Date.now() - started);
          else out.failed++;
        }),
      );
    }
    await Promise.all(all);
    if (serverSide && this.serverSide?.streamId === serverSide) {
      out.serverMs = this.serverSide.ms;
      this.serverSide = undefined;
    }
    return out;
  }

  /** Viewers leave: chosen uniformly among the viewers this host's nodes serve. */
  private depart(count: number): number {
    const held: { node: SimNode; streamId: string; viewers: number }[] = [];
    let total = 0;
    for (const node of this.nodes.values()) {
      if (node.crashed) continue;
      for (const [streamId, viewers] of node.media.viewersByStream()) {
        held.push({ node, streamId, viewers });
        total += viewers;
      }
    }
    let left = 0;
    for (let i = 0; i < count && total > 0; i++) {
      let at = Math.floor(Math.random() * total);
      for (const h of held) {
        if (at < h.viewers) {
          if (h.node.media.removeViewer(h.streamId)) {
            h.viewers--;
            total--;
            left++;
          }
          break;
        }
        at -= h.viewers;
      }
    }
    return left;
  }

  /** Viewers that lost their stream re-POST, each after a short random detection delay. */
  private replace(streamId: string, region: string, count: number, droppedAtMs: number, cause: string): void {
    for (let i = 0; i < count; i++) {
      const r: Reconnect = { droppedAtMs, cause, placedAtMs: undefined, failed: false };
      this.reconnects.push(r);
      const p = sleep(Math.random() * 500)
        .then(() => this.placeOne(streamId, region))
        .then((o) => {
          if (o.ok) r.placedAtMs = Date.now();
          else r.failed = true;
        });
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    }
  }

  private async crash(nodeIds: string[]): Promise<number> {
    const now = Date.now();
    let dropped = 0;
    for (const id of nodeIds) {
      const node = this.nodes.get(id);
      if (!node || node.crashed) continue;
      const held = await node.crash();
      for (const [streamId, n] of held) {
        dropped += n;
        this.replace(streamId, node.spec.region, n, now, 'node_crashed');
      }
    }
    return dropped;
  }

  private sample(streamId: string): StreamSample {
    let viewers = 0;
    for (const n of this.nodes.values()) if (!n.crashed) viewers += n.media.viewerCount(streamId);
    return { viewers, directory: this.directory.get(streamId) };
  }

  private stats(): HostStats {
    const u = process.cpuUsage();
    let viewers = 0;
    let alive = 0;
    let originsLost = 0;
    let holdings = 0;
    for (const n of this.nodes.values()) {
      originsLost += n.originsLost;
      if (n.crashed) continue;
      alive++;
      holdings += n.media.liveStreamIds().length;
      viewers += n.media.load().viewers;
    }
    const loop = this.loopDelay.percentile(99) / 1e6;
    this.loopDelay.reset();
    const all = this.reconnects.splice(0);
    const reconnects = all.filter((r) => r.placedAtMs !== undefined || r.failed);
    for (const r of all) if (r.placedAtMs === undefined && !r.failed) this.reconnects.push(r);
    return {
      cpuSeconds: (u.user + u.system) / 1e6,
      nodes: this.nodes.size,
      alive,
      viewers,
      originsLost,
      reconnects,
      reconnectsWaiting: this.reconnects.length,
      holdings,
      loopDelayP99Ms: loop,
      dropReasons: { ...this.dropReasons },
      errors: { ...this.errors },
      busDropped: this.bus.dropped,
    };
  }

  private async close(): Promise<null> {
    this.closed = true;
    this.loopDelay.disable();
    await Promise.allSettled([...this.pending]);
    await Promise.allSettled([...this.nodes.values()].map((n) => n.close()));
    await this.bus.close();
    this.redis.disconnect();
    return null;
  }
}

// Run as a child process: commands arrive on the IPC channel, each answered with its id.
if (process.argv.includes('--scale-sim-host') && process.send) {
  const host = new SimHost();
  // As the node's main.ts does: a stray rejection is logged, the node keeps running.
  process.on('unhandledRejection', (reason) => console.error('scale-sim host: unhandled rejection', reason));
  process.on('message', (m: { id: number; command: HostCommand }) => {
    host.handle(m.command).then(
      (result) => process.send!({ id: m.id, result }),
      (err: Error) => process.send!({ id: m.id, error: err.stack ?? err.message }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
