// The scale simulation's private servers: a redis-server and a nats-server (with its monitoring
// endpoint) on free loopback ports, started for one run and killed at its end, never a shared or
// fixed-port instance. Also reads what they did: Redis commands processed (INFO stats), NATS messages
// in and out (/varz), and each server's CPU from /proc/<pid>/stat. Measures nothing of OnAir itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

const TICKS_PER_SECOND = 100; // Linux USER_HZ on every supported platform (getconf CLK_TCK)

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}

async function waitForOutput(child: ChildProcess, stream: 'stdout' | 'stderr', ready: string, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let text = '';
    const src = child[stream]!;
    const onData = (b: Buffer) => {
      text += b.toString();
      if (text.includes(ready)) {
        src.off('data', onData);
        src.resume();
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`${what} exited (${code}): ${text.slice(-500)}`));
    src.on('data', onData);
    child.once('error', reject);
    child.once('exit', onExit);
  });
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** A redis-server of this run only (no persistence: a restart loses everything, the hard case). */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  private stats: Redis | undefined;
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort());
    await r.resume();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async resume(): Promise<void> {
    if (this.child) return;
    const bin = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxclients', '10000'];
    this.child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForOutput(this.child, 'stdout', 'Ready to accept connections', 'redis-server');
  }

  /** Kills the server (its data is gone) and, after `downMs`, starts a new one on the same port. */
  async restart(downMs: number): Promise<void> {
    await this.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.resume();
  }

  /** Total commands processed since the server started (INFO stats). */
  async commandsProcessed(): Promise<{ total: number; instantaneousOpsPerSec: number; netOutputBytes: number }> {
    this.stats ??= new Redis(this.url, { maxRetriesPerRequest: 1 }).on('error', () => {});
    const info = await this.stats.info('stats');
    const field = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? NaN);
    return {
      total: field('total_commands_processed'),
      instantaneousOpsPerSec: field('instantaneous_ops_per_sec'),
      netOutputBytes: field('total_net_output_bytes'),
    };
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await kill(child);
  }

  async close(): Promise<void> {
    this.stats?.disconnect();
    this.stats = undefined;
    await this.stop();
  }
}

/** A nats-server of this run only, with its monitoring endpoint for /varz. */
export class PrivateNats {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    readonly monitorPort: number,
  ) {}

  static async start(): Promise<PrivateNats> {
    const n = new PrivateNats(await freePort(), await freePort());
    const bin = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
    n.child = spawn(bin, ['-a', '127.0.0.1', '-p', String(n.port), '-m', String(n.monitorPort)], { stdio: ['ignore', 'ignore', 'pipe'] });
    await waitForOutput(n.child, 'stderr', 'Server is ready', 'nats-server');
    return n;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async varz(): Promise<{ inMsgs: number; outMsgs: number; subscriptions: number; connections: number }> {
    const res = await fetch(`http://127.0.0.1:${this.monitorPort}/varz`);
    const v = (await res.json()) as { in_msgs: number; out_msgs: number; subscriptions: number; connections: number };
    return { inMsgs: v.in_msgs, outMsgs: v.out_msgs, subscriptions: v.subscriptions, connections: v.connections };
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await kill(child);
  }
}
