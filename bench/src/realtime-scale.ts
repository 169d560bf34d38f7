// The real-time channel at the issue's scale, with forked load clients (`npm run realtime-scale -w bench`).
//   chat       one stream, N viewers held by K forked client processes (each from its own loopback
//              address), a separate publisher process flooding chat on NATS as other gateway nodes
//              would; run on the real OnAir node (batched) and then, same settings, on a plain
//              one-frame-per-message-per-viewer gateway. Delivery latency p50/p99 (sentAtMs to
//              receipt, on every 20th viewer, which decodes everything), frames and socket writes
//              out, gateway CPU and RSS; the ratio plain/batched.
//   idle       as many idle connections as asked (default 50,000) on one node: RSS per connection
//              and the node's CPU while they sit there (viewer counts every 2 s).
//   reactions  reaction senders spread over client processes, each connection under the
//              per-connection limit, sending through the real WebSocket path; a watcher in each
//              client process checks that the aggregates it receives add up exactly to what was sent.
// CPU is read from /proc for the gateway process alone; the load clients and the publisher are
// reported separately. With --pin (the default on 2+ cores, but for idle) the gateway gets CPU 0 to itself and the
// load side (clients, publisher, a private NATS server) the other CPUs, as if it ran on other machines.
// Chat viewers that do not measure latency are held by native drain clients (bench/native/ws-drain.c,
// --drainer native, the default): a Node `ws` client per 10,000 viewers costs about as much CPU as
// the gateway, which on 2 cores starves the gateway being measured. Needs nats-server (or, with
// --nats shared, the NATS at TEST_NATS_URL), a C compiler for the drainer, and PostgreSQL
// (BENCH_DATABASE_URL or TEST_DATABASE_URL, used for CREATE DATABASE: a fresh one per run).
// Each process holds at most its open-file limit of sockets: the npm script raises the soft limit
// to the hard one (20,000 in this container, which lacks CAP_SYS_RESOURCE to go higher).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import postgres from 'postgres';
import { fileURLToPath } from 'node:url';
import type { ClientJob, ClientReport, ToClient } from './realtime-load-client.js';
import { HISTOGRAM_MS } from './realtime-load-client.js';
import type { PublishJob } from './realtime-publisher.js';
import { DrainClient } from './ws-drain.js';
import { PrivateNatsServer } from '../../test/support/nats-server.js';
import { processCpuSeconds } from './proc-cpu.js';

let NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url)); // bench/dist/bench/src -> repo
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
// --node-main PATH: the OnAir node to drive (default: this checkout's build). Pointing it at another
// checkout's signaling/dist/main.js (e.g. a git worktree of an older commit) compares two gateway
// designs on one machine in one session.
const NODE_MAIN = arg('node-main', `${ROOT}signaling/dist/main.js`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const fdLimit = () => Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))![1]);
const round = (n: number, d = 0) => Number(n.toFixed(d));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

// ---- CPU placement and the bench's own NATS ---------------------------------------------------------

const CPUS = availableParallelism();
// Not for idle: it runs several gateway processes, and they would share one CPU.
const PIN = arg('pin', CPUS >= 2 && arg('mode', 'chat') !== 'idle' ? 'on' : 'off') === 'on';

/** With --pin, this process (and so every load process it starts from now on) leaves CPU 0 to the gateway. */
function pinLoadSide(): void {
  if (PIN) execFileSync('taskset', ['-a', '-p', '-c', `1-${CPUS - 1}`, String(process.pid)], { stdio: 'ignore' });
}

/**
 * How a gateway process is started: with --pin, on CPU 0 only, under `taskset -c 0`, which execs it
 * (same pid); with `--profile DIR`, writing a V8 CPU profile there when it exits.
 */
const gatewayLauncher = (): { command: string; prefix: string[] } => {
  const profile = arg('profile', '') ? ['--cpu-prof', '--cpu-prof-dir', arg('profile', '')] : [];
  return PIN ? { command: 'taskset', prefix: ['-c', '0', process.execPath, ...profile] } : { command: process.execPath, prefix: profile };
};

// ---- child processes ------------------------------------------------------------------------------

interface Gateway {
  child: ChildProcess;
  wsUrl: string;
  httpUrl?: string;
  streamId: string;
  kind: 'batched' | 'plain';
}

/** The real OnAir node in the distributed mode: PostgreSQL (a fresh database per run) and NATS. */
async function startBatched(databaseUrl: string, streamId?: string): Promise<Gateway> {
  const storage = { DATABASE_URL: databaseUrl };
  const launcher = gatewayLauncher();
  const child = spawn(launcher.command, [...launcher.prefix, NODE_MAIN], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      ...storage,
      LOG_LEVEL: 'warn',
      MEDIASOUP_WORKERS: '1',
      NATS_URL,
      REDIS_URL: '',
      HLS_MODE: 'off',
      // The load clients stand in for many viewers from a few loopback addresses.
      WS_CONNECTIONS_PER_ADDRESS: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /OnAir is running at (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}): ${out}`)));
  });
  child.stdout!.resume();
  if (streamId) return { child, httpUrl: url, wsUrl: `${url.replace('http', 'ws')}/ws/${streamId}`, streamId, kind: 'batched' };
  const reg = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: `rtbench_${process.pid}_${Date.now() % 100000}`, password: 'correct horse battery' }),
  });
  const { token } = (await reg.json()) as { token: string };
  const res = await fetch(`${url}/api/streams`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ title: 'realtime bench' }),
  });
  const { id } = (await res.json()) as { id: string };
  return { child, httpUrl: url, wsUrl: `${url.replace('http', 'ws')}/ws/${id}`, streamId: id, kind: 'batched' };
}

async function startPlain(): Promise<Gateway> {
  const streamId = `plain${process.pid}`;
  const launcher = gatewayLauncher();
  const child = fork(here('./plain-fanout-gateway.js'), [NATS_URL, streamId], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execPath: launcher.command,
    execArgv: launcher.prefix,
  });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  return { child, wsUrl: `ws://127.0.0.1:${port}/`, streamId, kind: 'plain' };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
}

/** A forked load client and a typed request/answer over IPC. */
class LoadClient {
  readonly child = fork(here('./realtime-load-client.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  ask<T>(msg: ToClient, answer: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: { kind: string }) => {
        if (m.kind !== answer) return;
        this.child.off('message', onMessage);
        resolve(m as T);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', (code) => reject(new Error(`load client exited (${code})`)));
      this.child.send(msg);
    });
  }
  async exit(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ kind: 'exit' });
    await Promise.race([exited, sleep(5000).then(() => this.child.kill('SIGKILL'))]);
  }
}

async function startClients(
  gw: Gateway | Gateway[],
  count: number,
  per: (i: number) => Omit<ClientJob, 'url' | 'localAddress' | 'concurrency'>,
  firstAddress = 10,
): Promise<LoadClient[]> {
  const gws = Array.isArray(gw) ? gw : [gw];
  const clients = Array.from({ length: count }, () => new LoadClient());
  const ready = await Promise.all(
    clients.map((c, i) =>
      c.ask<{ open: number; failed: number }>(
        { kind: 'job', job: { url: gws[i % gws.length]!.wsUrl, localAddress: `127.0.0.${firstAddress + i}`, concurrency: 100, ...per(i) } },
        'ready',
      ),
    ),
  );
  const failed = ready.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) console.warn(`  ${failed} connections failed to open`);
  return clients;
}

const share = (total: number, parts: number, i: number) => Math.floor(total / parts) + (i < total % parts ? 1 : 0);

async function reports(clients: LoadClient[]): Promise<ClientReport[]> {
  return Promise.all(clients.map((c) => c.ask<ClientReport>({ kind: 'report' }, 'report')));
}

function percentile(histogram: number[], total: number, p: number): number {
  const target = Math.ceil(total * p);
  let seen = 0;
  for (let ms = 0; ms < histogram.length; ms++) {
    seen += histogram[ms]!;
    if (seen >= target) return ms;
  }
  return HISTOGRAM_MS;
}

async function metric(gw: Gateway, name: string): Promise<number> {
  if (!gw.httpUrl) return NaN;
  const text = await fetch(`${gw.httpUrl}/metrics`).then(
    (r) => r.text(),
    () => '',
  ); // NaN when out of descriptors
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

// ---- chat at scale ----------------------------------------------------------------------------------

/**
 * The viewers of a chat run. With --drainer native: the viewers that do not measure latency are
 * held by native drain clients, connected first; then one Node client holds `sampled` viewers that
 * decode every message and record latency. They join last, so the gateway (which writes to viewers
 * in the order they joined) serves them last in every window: their latency is the slowest share's.
 * With --drainer node: Node clients hold every viewer, every `sample-every`-th one measuring.
 */
interface ChatViewers {
  pids: number[];
  reset(until: number): Promise<void>;
  report(): Promise<{
    open: number;
    closed: number;
    chatFrames: number;
    sampledViewers: number;
    sampledMessages: number;
    histogram: number[];
    maxBySecond: Map<number, number>;
  }>;
  exit(): Promise<void>;
}

async function startChatViewers(gw: Gateway, viewers: number, clientCount: number): Promise<ChatViewers> {
  const native = arg('drainer', 'native') === 'native';
  const sampled = native ? Math.min(viewers, Number(arg('sampled', '500'))) : 0;
  const drainers = native
    ? Array.from(
        { length: clientCount },
        (_, i) => new DrainClient(gw.wsUrl, `127.0.0.${10 + i}`, share(viewers - sampled, clientCount, i)),
      )
    : [];
  const drained = await Promise.all(drainers.map((d) => d.ready()));
  const failed = drained.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) console.warn(`  ${failed} drain connections failed to open`);
  const clients = native
    ? await startClients(gw, 1, () => ({ viewers: sampled, sampleEvery: 1, senders: 0, reactionsPerSecond: 0 }), 10 + clientCount)
    : await startClients(gw, clientCount, (i) => ({
        viewers: share(viewers, clientCount, i),
        sampleEvery: Number(arg('sample-every', '20')),
        senders: 0,
        reactionsPerSecond: 0,
      }));
  return {
    pids: [...drainers.map((d) => d.child.pid!), ...clients.map((c) => c.child.pid!)],
    async reset(until) {
      await Promise.all([...clients.map((c) => c.ask({ kind: 'reset', until }, 'reset-done')), ...drainers.map((d) => d.reset(until))]);
    },
    async report() {
      const [rs, ds] = await Promise.all([reports(clients), Promise.all(drainers.map((d) => d.report()))]);
      const histogram = new Array<number>(HISTOGRAM_MS).fill(0);
      const maxBySecond = new Map<number, number>();
      for (const r of rs) {
        r.histogram.forEach((n, ms) => (histogram[ms]! += n));
        for (const [second, ms] of Object.entries(r.maxBySecond))
          maxBySecond.set(Number(second), Math.max(ms, maxBySecond.get(Number(second)) ?? 0));
      }
      const sum = (f: (r: { open: number; closed: number; chatFrames: number }) => number) =>
        rs.reduce((n, r) => n + f(r), 0) + ds.reduce((n, d) => n + f(d), 0);
      return {
        open: sum((r) => r.open),
        closed: sum((r) => r.closed),
        chatFrames: sum((r) => r.chatFrames),
        sampledViewers: rs.reduce((n, r) => n + r.sampledViewers, 0),
        sampledMessages: rs.reduce((n, r) => n + r.sampledMessages, 0),
        histogram,
        maxBySecond,
      };
    },
    async exit() {
      for (const c of clients) await c.exit();
      for (const d of drainers) await d.exit();
    },
  };
}

async function runChat(kind: 'batched' | 'plain', viewers: number, clientCount: number, rate: number, seconds: number) {
  const db = kind === 'batched' ? await createDatabase() : undefined;
  const gw = db ? await startBatched(db.url) : await startPlain();
  const pid = gw.child.pid!;
  await sleep(1500);
  const rss0 = rssBytes(pid);
  const t0 = Date.now();
  const load = await startChatViewers(gw, viewers, clientCount);
  const connectSeconds = (Date.now() - t0) / 1000;
  await sleep(3000);
  const rssIdle = rssBytes(pid);
  // The publisher connects before the measured flood starts. By default the flood hits a quiet
  // stream at once (a hype moment: the hardest case); --warmup-seconds runs a busy chat first (not
  // counted; never for plain, which would enter the flood already behind).
  const warmupSeconds = kind === 'plain' ? 0 : Number(arg('warmup-seconds', '0'));
  const publisher = fork(here('./realtime-publisher.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const publisherSays = (kind: string) =>
    new Promise<{ sent: number; seconds: number }>((resolve) =>
      publisher.on('message', (m: { kind: string; sent: number; seconds: number }) => m.kind === kind && resolve(m)),
    );
  const warm = publisherSays('warm');
  const done = publisherSays('published');
  publisher.send({
    natsUrl: NATS_URL,
    streamId: gw.streamId,
    rate,
    seconds,
    warmupSeconds,
    warmupRate: Number(arg('warmup-rate', '2000')),
  } satisfies PublishJob);
  await warm;
  await sleep(500); // the warm-up's last messages delivered
  // Everything is counted over the same wall-clock window: the flood plus a 2 s drain.
  const until = Date.now() + 300 + (seconds + 2) * 1000;
  await load.reset(until);
  if (kind === 'plain') gw.child.send({ kind: 'count-until', until });
  const framesBefore = await metric(gw, 'onair_channel_frames_sent_total');
  const writesBefore = await metric(gw, 'onair_channel_socket_writes_total');
  const droppedBefore = await metric(gw, 'onair_channel_frames_dropped_total');
  const cpu0 = processCpuSeconds(pid);
  const clientCpu0 = load.pids.reduce((s, p) => s + processCpuSeconds(p), 0);
  const publisherCpu0 = processCpuSeconds(publisher.pid!);
  const started = Date.now();
  publisher.send({ kind: 'go' });
  let rssPeak = 0;
  const peakTimer = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes(pid))), 500);
  const published = await done;
  const publisherCpu = processCpuSeconds(publisher.pid!) - publisherCpu0; // read before it exits
  await sleep(Math.max(0, until - Date.now())); // the 2 s drain
  clearInterval(peakTimer);
  const elapsed = (Date.now() - started) / 1000;
  const cpu = processCpuSeconds(pid) - cpu0;
  const clientCpu = load.pids.reduce((s, p) => s + processCpuSeconds(p), 0) - clientCpu0;
  const metricsAtEnd =
    kind === 'batched'
      ? await Promise.all(['frames_sent', 'socket_writes', 'frames_dropped'].map((m) => metric(gw, `onair_channel_${m}_total`)))
      : [];
  const r = await load.report();
  let plainStats: { sent: number; dropped: number } | undefined;
  if (kind === 'plain') {
    // A plain gateway far behind answers only after its backlog: then count what the viewers got.
    plainStats = await Promise.race([
      new Promise<{ sent: number; dropped: number }>((resolve) => {
        gw.child.once('message', (m: { sent: number; dropped: number }) => resolve(m));
        gw.child.send({ kind: 'stats' });
      }),
      sleep(5000).then(() => ({ sent: r.chatFrames, dropped: NaN })),
    ]);
  }
  const frames = kind === 'batched' ? metricsAtEnd[0]! - framesBefore : plainStats!.sent;
  const writes = kind === 'batched' ? metricsAtEnd[1]! - writesBefore : plainStats!.sent;
  const dropped = kind === 'batched' ? metricsAtEnd[2]! - droppedBefore : plainStats!.dropped;
  await load.exit();
  await stop(gw.child);
  await db?.drop();
  const open = r.open - r.closed;
  const seconds0 = Math.min(...r.maxBySecond.keys());
  console.log(
    `  ${kind}: slowest delivery per second of the flood (ms): ${[...r.maxBySecond]
      .sort(([a], [b]) => a - b)
      .map(([s, ms]) => `+${s - seconds0}s ${ms}`)
      .join(', ')}`,
  );
  return {
    mode: kind,
    viewers: open,
    'connect s': round(connectSeconds, 1),
    'msgs in/s': fmt(published.sent / published.seconds),
    'frames out/s': fmt(frames / elapsed),
    'writes/s': fmt(writes / elapsed),
    'dropped frames/s': fmt(dropped / elapsed),
    'chat frames/s recvd': fmt(r.chatFrames / elapsed),
    'chat frames/s/viewer': round(r.chatFrames / Math.max(1, open) / published.seconds, 1),
    'latency viewers': r.sampledViewers,
    'msgs/viewer (sampled)': fmt(r.sampledMessages / Math.max(1, r.sampledViewers)),
    'p50 ms': percentile(r.histogram, r.sampledMessages, 0.5),
    'p99 ms': percentile(r.histogram, r.sampledMessages, 0.99),
    'max ms': percentile(r.histogram, r.sampledMessages, 1),
    'gateway CPU (cores)': round(cpu / elapsed, 2),
    'clients CPU (cores)': round(clientCpu / elapsed, 2),
    'publisher CPU (cores)': round(publisherCpu / published.seconds, 2),
    'KB/idle conn': round((rssIdle - rss0) / Math.max(1, open) / 1024, 1),
    'peak RSS MB': round(rssPeak / 2 ** 20),
  };
}

// ---- idle connections ---------------------------------------------------------------------------------

/**
 * Idle connections on one machine. One process holds at most its open-file limit of sockets (20,000
 * here, and this container may not raise it), so above that the machine runs several gateway
 * processes in the distributed mode (one PostgreSQL database, NATS), clients spread over them.
 */
async function runIdle(connections: number, clientCount: number, gatewayCount: number, holdSeconds: number) {
  const gws: Gateway[] = [];
  const db = await createDatabase();
  gws.push(await startBatched(db.url));
  for (let i = 1; i < gatewayCount; i++) gws.push(await startBatched(db.url, gws[0]!.streamId));
  await sleep(1500);
  const pids = gws.map((g) => g.child.pid!);
  const rss0 = pids.reduce((n, pid) => n + rssBytes(pid), 0);
  const t0 = Date.now();
  const clients = await startClients(gws, clientCount, (i) => ({
    viewers: share(connections, clientCount, i),
    sampleEvery: 0,
    senders: 0,
    reactionsPerSecond: 0,
  }));
  const connectSeconds = (Date.now() - t0) / 1000;
  await sleep(3000);
  const cpu0 = pids.reduce((n, pid) => n + processCpuSeconds(pid), 0);
  await sleep(holdSeconds * 1000);
  const cpu = (pids.reduce((n, pid) => n + processCpuSeconds(pid), 0) - cpu0) / holdSeconds;
  const rss = pids.reduce((n, pid) => n + rssBytes(pid), 0);
  const rs = await reports(clients);
  const open = rs.reduce((n, r) => n + r.open - r.closed, 0);
  const perGateway = await Promise.all(gws.map((g) => metric(g, 'onair_channel_connections')));
  for (const c of clients) await c.exit();
  for (const g of gws) await stop(g.child);
  await db.drop();
  return {
    mode: 'idle',
    'gateway processes': gws.length,
    asked: fmt(connections),
    'open (clients)': fmt(open),
    'open (per gateway)': perGateway.map(fmt).join(' + '),
    failed: fmt(rs.reduce((n, r) => n + r.failed, 0)),
    'connect s': round(connectSeconds, 1),
    'RSS base MB (all)': round(rss0 / 2 ** 20),
    'RSS MB (all)': round(rss / 2 ** 20),
    'KB/idle conn': round((rss - rss0) / Math.max(1, open) / 1024, 1),
    'gateway CPU idle (cores, all)': round(cpu, 3),
  };
}

/** A fresh PostgreSQL database for gateways that must share one (dropped at the end). */
async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const name = `onair_rtbench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

// ---- reactions -------------------------------------------------------------------------------------------

async function runReactions(senders: number, perSender: number, watchersPerClient: number, clientCount: number, seconds: number) {
  const db = await createDatabase();
  const gw = await startBatched(db.url);
  const pid = gw.child.pid!;
  const clients = await startClients(gw, clientCount, (i) => ({
    viewers: watchersPerClient,
    sampleEvery: 0,
    senders: share(senders, clientCount, i),
    reactionsPerSecond: perSender,
  }));
  await sleep(2000);
  await Promise.all(clients.map((c) => c.ask({ kind: 'reset' }, 'reset-done')));
  const accepted0 = await metric(gw, 'onair_channel_reactions_accepted_total');
  const refused0 = await metric(gw, 'onair_channel_reactions_refused_total');
  const cpu0 = processCpuSeconds(pid);
  const clientCpu0 = clients.reduce((s, c) => s + processCpuSeconds(c.child.pid!), 0);
  const started = Date.now();
  await Promise.all(clients.map((c) => c.ask({ kind: 'start-reactions' }, 'reactions-started')));
  await sleep(seconds * 1000);
  const stopped = await Promise.all(clients.map((c) => c.ask<{ sent: number }>({ kind: 'stop-reactions' }, 'reactions-stopped')));
  const sendSeconds = (Date.now() - started) / 1000;
  await sleep(2000); // the last windows
  const elapsed = (Date.now() - started) / 1000;
  const cpu = processCpuSeconds(pid) - cpu0;
  const clientCpu = clients.reduce((s, c) => s + processCpuSeconds(c.child.pid!), 0) - clientCpu0;
  const rs = await reports(clients);
  const accepted = (await metric(gw, 'onair_channel_reactions_accepted_total')) - accepted0;
  const refused = (await metric(gw, 'onair_channel_reactions_refused_total')) - refused0;
  for (const c of clients) await c.exit();
  await stop(gw.child);
  await db.drop();
  const sent = stopped.reduce((n, s) => n + s.sent, 0);
  const sums = rs.map((r) => r.reactionSum);
  const watchers = watchersPerClient * clientCount;
  return {
    mode: 'reactions (WebSocket senders)',
    senders: fmt(senders),
    'offered/s': fmt(sent / sendSeconds),
    sent: fmt(sent),
    'accepted (gateway)': fmt(accepted),
    'refused by limit': fmt(refused),
    'accepted/s': fmt(accepted / sendSeconds),
    'sums seen (one watcher per client)': sums.map(fmt).join(' / '),
    'sum = accepted': sums.every((s) => s === accepted) ? 'yes' : 'NO',
    'sent = accepted + refused': sent === accepted + refused ? 'yes' : 'NO',
    'reaction frames/s/watcher': round(rs.reduce((n, r) => n + r.reactionFrames, 0) / watchers / elapsed, 1),
    'gateway CPU (cores)': round(cpu / elapsed, 2),
    'clients CPU (cores)': round(clientCpu / elapsed, 2),
  };
}

/**
 * Reactions as other gateway nodes deliver them: `nodes` simulated nodes publish their 250 ms partial
 * counts on NATS (summing to `rate`/s); watchers on the real node check the aggregates add up exactly.
 * This measures the aggregation and fan-out at the issue's rate, not the WebSocket ingest.
 */
async function runReactionsViaBus(rate: number, nodes: number, watchers: number, clientCount: number, seconds: number) {
  const db = await createDatabase();
  const gw = await startBatched(db.url);
  const pid = gw.child.pid!;
  const clients = await startClients(gw, clientCount, (i) => ({
    viewers: share(watchers, clientCount, i),
    sampleEvery: 0,
    senders: 0,
    reactionsPerSecond: 0,
  }));
  await sleep(1000);
  await Promise.all(clients.map((c) => c.ask({ kind: 'reset' }, 'reset-done')));
  const cpu0 = processCpuSeconds(pid);
  const started = Date.now();
  const publisher = fork(here('./realtime-publisher.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const published = await new Promise<{ sent: number; seconds: number }>((resolve) => {
    publisher.once('message', (m: { sent: number; seconds: number }) => resolve(m));
    publisher.send({ natsUrl: NATS_URL, streamId: gw.streamId, rate, seconds, what: 'reactions', nodes } satisfies PublishJob);
  });
  await sleep(1500);
  const elapsed = (Date.now() - started) / 1000;
  const cpu = processCpuSeconds(pid) - cpu0;
  const rs = await reports(clients);
  for (const c of clients) await c.exit();
  await stop(gw.child);
  await db.drop();
  const sums = rs.map((r) => r.reactionSum);
  return {
    mode: `reactions (${nodes} nodes via NATS)`,
    'reactions/s': fmt(published.sent / published.seconds),
    sent: fmt(published.sent),
    'sums seen (one watcher per client)': sums.map(fmt).join(' / '),
    'sum = sent': sums.every((s) => s === published.sent) ? 'yes' : 'NO',
    watchers,
    'reaction frames/s/watcher': round(rs.reduce((n, r) => n + r.reactionFrames, 0) / watchers / elapsed, 1),
    'gateway CPU (cores)': round(cpu / elapsed, 2),
  };
}

// ---- main ---------------------------------------------------------------------------------------------------

const mode = arg('mode', 'chat');
const clientCount = Number(arg('clients', '4'));
// Every process (gateway, load client) needs one descriptor per connection it holds.
const perProcess =
  mode === 'idle'
    ? Math.ceil(Number(arg('connections', '50000')) / Math.min(Number(arg('clients', '6')), Math.max(1, Number(arg('gateways', '3')))))
    : 12_000;
if (fdLimit() < perProcess + 500) {
  console.error(
    `open-file limit ${fdLimit()} is below the ~${perProcess + 500} one process needs: raise \`ulimit -n\` (the npm script raises the soft limit to the hard one) or use more --gateways/--clients`,
  );
  process.exit(2);
}
pinLoadSide();
// With --nats private, a nats-server for this run only, started after pinLoadSide: it shares the load side's CPUs, not the gateway's.
const privateNats = arg('nats', PIN ? 'private' : 'shared') === 'private' ? await PrivateNatsServer.start() : undefined;
if (privateNats) NATS_URL = privateNats.url;
console.log(
  `realtime-scale ${mode}: ${new Date().toISOString()}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}, ` +
    (PIN ? `gateway on CPU 0, load side (clients, publisher, NATS) on CPU 1-${CPUS - 1}` : 'no CPU pinning') +
    `, NATS ${NATS_URL}`,
);
if (mode === 'chat') {
  const viewers = Number(arg('viewers', '10000'));
  const rate = Number(arg('rate', '20000'));
  const seconds = Number(arg('seconds', '10'));
  const which = arg('gateways', 'both');
  const rows = [];
  if (which !== 'plain') rows.push(await runChat('batched', viewers, clientCount, rate, seconds));
  if (which !== 'batched') rows.push(await runChat('plain', viewers, clientCount, rate, seconds));
  console.table(rows);
  if (rows.length === 2) {
    const [b, p] = rows as unknown as Record<string, string | number>[];
    const num = (v: string | number | undefined) => Number(String(v).replace(/,/g, ''));
    console.log(
      `plain/batched: ${(num(p!['frames out/s']) / num(b!['frames out/s'])).toFixed(1)}x the frames out, ` +
        `${(num(p!['writes/s']) / num(b!['writes/s'])).toFixed(1)}x the socket writes, ` +
        `${(num(p!['gateway CPU (cores)']) / num(b!['gateway CPU (cores)'])).toFixed(1)}x the gateway CPU; ` +
        `p99 ${p!['p99 ms']} ms vs ${b!['p99 ms']} ms`,
    );
  }
} else if (mode === 'idle') {
  // Clients are assigned to gateways round-robin: keep --clients a multiple of --gateways.
  console.table([
    await runIdle(
      Number(arg('connections', '50000')),
      Number(arg('clients', '6')),
      Number(arg('gateways', '3')),
      Number(arg('seconds', '10')),
    ),
  ]);
} else if (mode === 'reactions-bus') {
  console.table([
    await runReactionsViaBus(
      Number(arg('rate', '100000')),
      Number(arg('nodes', '100')),
      Number(arg('watchers', '10000')),
      clientCount,
      Number(arg('seconds', '10')),
    ),
  ]);
} else if (mode === 'reactions') {
  console.table([
    await runReactions(
      Number(arg('senders', '5600')),
      Number(arg('per-sender', '18')),
      Number(arg('watchers', '25')),
      clientCount,
      Number(arg('seconds', '10')),
    ),
  ]);
} else {
  console.error('--mode chat|idle|reactions|reactions-bus');
  process.exit(2);
}
await privateNats?.stop();
process.exit(0);
