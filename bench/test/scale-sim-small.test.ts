// A small configuration of the scale simulation (bench/src/scale-sim-run.ts), so the bench cannot rot:
// 20 simulated nodes in this process running the real registry (indexed read path), cascade, audience
// and directory feed against a private redis-server and nats-server. Every viewer is placed, a flash
// crowd fans out as a tree within the relay-link limit, the directory's count converges, the viewers
// of crashed edges play again elsewhere, and a Redis restart ends no stream and drops no viewer.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, runScaleSim } from '../src/scale-sim-run.js';

describe('the scale simulation, small', () => {
  it('places every viewer, survives 5 % of edges crashing and a Redis restart', { timeout: 120_000 }, async () => {
    const r = await runScaleSim({
      ...DEFAULTS,
      readPath: 'indexed',
      nodes: 20,
      streams: 200,
      viewers: 400,
      hosts: 0,
      steadySeconds: 3,
      churnPerSec: 20,
      flashViewers: 400,
      flashSeconds: 4,
      regionOutage: false,
      redisRestart: true,
    });
    expect(r.ramp).toMatchObject({ placed: 400, failed: 0 });
    expect(r.steady.viewers).toBeGreaterThan(300);
    expect(r.steady.redisOpsPerSec).toBeGreaterThan(0);
    expect(r.steady.natsInPerSec).toBeGreaterThan(0);

    expect(r.flash).toMatchObject({ placed: 400, failed: 0 });
    expect(r.flash.tree.maxFanOut).toBeLessThanOrEqual(DEFAULTS.maxDownstream);
    expect(r.flash.tree.relays).toBeGreaterThan(DEFAULTS.maxDownstream); // more relays than the origin's links: a tree
    expect(r.flash.tree.depth).toBeGreaterThanOrEqual(2);
    expect(r.flash.directoryConvergedMs).toBeDefined();
    expect(r.flash.finalDirectory).toBe(r.flash.finalViewers);

    expect(r.failure!.crashed).toBe(1);
    expect(r.failure!.affected).toBeGreaterThan(0);
    expect(r.failure!.placed).toBe(r.failure!.affected);
    expect(r.failure!.replace.max).toBeLessThan(10_000);

    expect(r.redisRestart, JSON.stringify(r.redisRestart)).toMatchObject({ originsLost: 0, viewersDropped: 0 });
    expect(r.redisRestart!.nodeRecordsAfter).toBe(r.redisRestart!.aliveNodes);
  });
});
