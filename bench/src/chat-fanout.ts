// Chat fan-out bench: one stream, a chat flood published on NATS (as other gateway nodes would),
// N WebSocket viewers on one gateway. Runs twice on the same machine and settings:
//   batched  the real OnAir node (signaling/dist/main.js): at most 10 chat frames/s per viewer,
//            each frame encoded once and written to every socket, sampled when too fast to read;
//   plain    a minimal `ws` gateway doing one frame per message per viewer (also encoded once per
//            message, same backpressure), the naive design to compare with.
// Reports delivery latency (p50/p99, from sentAtMs to receipt, on every 10th viewer), chat frames/s
// out, the gateway's CPU and RSS per idle connection. Needs a NATS server (TEST_NATS_URL).
// Usage: npm run chat-fanout -w bench -- [--viewers 500] [--rate 2000] [--seconds 5] [--mode both|batched|plain]
// Reactions: --mode reactions [--senders 500] [--viewers 100]: each sender connection sends ~18
// reactions/s (under the per-connection limit); checks that the aggregates sum exactly to what was
// accepted and reports the reaction frames per viewer and the gateway's CPU.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect as natsConnect } from 'nats';
import WebSocket, { WebSocketServer } from 'ws';
import { onair } from '@onair/proto';
import { streamTopics } from '@onair/platform';
import { processCpuSeconds } from './proc-cpu.js';

const { ServerFrame, ChatMessage } = onair.channel.v1;
const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url)); // bench/dist/bench/src -> repo

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
// --node-main PATH: the OnAir node to drive (default: this checkout's build). Pointing it at another
// checkout's signaling/dist/main.js (e.g. a git worktree of an older commit) compares two gateway
// designs on one machine in one session.
const NODE_MAIN = arg('node-main', `${ROOT}signaling/dist/main.js`);

const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : NaN);

// ---- the plain fan-out gateway (child process role) -------------------------------------------

async function servePlain(streamId: string): Promise<void> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  const nc = await natsConnect({ servers: NATS_URL });
  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
  });
  nc.subscribe(streamTopics.chat.pattern(streamId), {
    callback: (_err, msg) => {
      const m = ChatMessage.decode(msg.data);
      const frame = ServerFrame.encode({ chat: { messages: [m] } }).finish();
      for (const ws of sockets) if (ws.bufferedAmount < 256 * 1024) ws.send(frame);
    },
  });
  const addr = wss.address() as { port: number };
  console.log(`PLAIN_URL http://127.0.0.1:${addr.port}`);
}

// ---- orchestration ------------------------------------------------------------------------------

interface Gateway {
  child: ChildProcess;
  url: string;
  streamId: string;
  wsPath: string;
}

async function startChild(
  args: string[],
  env: Record<string, string>,
  marker: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = marker.exec(out);
      if (m) resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}): ${out}`)));
  });
  child.stdout!.resume();
  return { child, match };
}

async function startBatched(): Promise<Gateway> {
  const { child, match } = await startChild(
    [NODE_MAIN],
    {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: ':memory:',
      LOG_LEVEL: 'warn',
      // The bench's viewers all come from 127.0.0.1.
      WS_CONNECTIONS_PER_ADDRESS: '0',
      MEDIASOUP_WORKERS: '1',
      NATS_URL,
      REDIS_URL: '',
    },
    /OnAir is running at (\S+)/,
  );
  const url = match[1]!;
  const reg = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: `bench_${process.pid}`, password: 'correct horse battery' }),
  });
  const { token } = (await reg.json()) as { token: string };
  const res = await fetch(`${url}/api/streams`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ title: 'chat bench' }),
  });
  const { id } = (await res.json()) as { id: string };
  return { child, url, streamId: id, wsPath: `/ws/${id}` };
}

async function startPlain(): Promise<Gateway> {
  const streamId = `plain${process.pid}`;
  const { child, match } = await startChild([fileURLToPath(import.meta.url), '--serve-plain', streamId], {}, /PLAIN_URL (\S+)/);
  return { child, url: match[1]!, streamId, wsPath: '/' };
}

async function run(mode: 'batched' | 'plain', viewers: number, rate: number, seconds: number) {
  const gw = mode === 'batched' ? await startBatched() : await startPlain();
  const pid = gw.child.pid!;
  const sockets: WebSocket[] = [];
  const latencies: number[] = [];
  let chatFrames = 0;
  let messagesSeen = 0;
  const rssBefore = rssBytes(pid);
  for (let i = 0; i < viewers; i += 100) {
    await Promise.all(
      Array.from(
        { length: Math.min(100, viewers - i) },
        (_, k) =>
          new Promise<void>((resolve, reject) => {
            const ws = new WebSocket(`${gw.url.replace('http', 'ws')}${gw.wsPath}`, { perMessageDeflate: false });
            const sample = (i + k) % 10 === 0;
            ws.on('message', (data: Buffer) => {
              const f = ServerFrame.decode(data);
              if (f.body !== 'chat' || f.chat?.history) return;
              chatFrames++;
              const now = Date.now();
              for (const m of f.chat!.messages ?? []) {
                messagesSeen++;
                if (sample) latencies.push(now - Number(m.sentAtMs));
              }
            });
            ws.once('open', () => resolve());
            ws.once('error', reject);
            sockets.push(ws);
          }),
      ),
    );
  }
  await sleep(2000);
  const rssPerConnection = (rssBytes(pid) - rssBefore) / viewers;
  const nc = await natsConnect({ servers: NATS_URL });
  const cpu0 = processCpuSeconds(pid);
  const started = Date.now();
  let sent = 0;
  while (Date.now() - started < seconds * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    for (; sent < due; sent++) {
      const userId = `00000000-0000-4000-8000-${String(sent % 5000).padStart(12, '0')}`;
      const m = { id: `b${sent}`, userId, username: 'bench', text: `message number ${sent} of the flood`, sentAtMs: Date.now() };
      nc.publish(streamTopics.chat.subject(gw.streamId, m), streamTopics.chat.codec.encode(m));
    }
    await sleep(5);
  }
  await nc.flush();
  const floodSeconds = (Date.now() - started) / 1000;
  await sleep(2000);
  const cpu = processCpuSeconds(pid) - cpu0;
  for (const ws of sockets) ws.terminate();
  await nc.close();
  gw.child.kill('SIGTERM');
  await new Promise((r) => gw.child.once('exit', r));
  latencies.sort((a, b) => a - b);
  return {
    mode,
    viewers,
    'msgs in/s': Math.round(sent / floodSeconds),
    'chat frames/s out': Math.round(chatFrames / (floodSeconds + 2)),
    'frames/s per viewer': +(chatFrames / viewers / floodSeconds).toFixed(1),
    'msgs delivered/viewer': Math.round(messagesSeen / viewers),
    'p50 ms': pct(latencies, 0.5),
    'p99 ms': pct(latencies, 0.99),
    'gateway CPU s/s': +(cpu / (floodSeconds + 2)).toFixed(2),
    'gateway KB/idle conn': +(rssPerConnection / 1024).toFixed(1),
  };
}

async function runReactions(viewers: number, senders: number, seconds: number) {
  const gw = await startBatched();
  const pid = gw.child.pid!;
  const url = `${gw.url.replace('http', 'ws')}${gw.wsPath}`;
  const open = (onFrame?: (f: onair.channel.v1.ServerFrame) => void) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      if (onFrame) ws.on('message', (d: Buffer) => onFrame(ServerFrame.decode(d)));
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  let summed = 0;
  let reactionFrames = 0;
  const watchers: WebSocket[] = [];
  for (let i = 0; i < viewers; i++) {
    const first = i === 0;
    watchers.push(
      await open((f) => {
        if (f.body !== 'reactions') return;
        reactionFrames++;
        if (first) for (const n of Object.values(f.reactions?.counts ?? {})) summed += n;
      }),
    );
  }
  const senderSockets: WebSocket[] = [];
  for (let i = 0; i < senders; i += 100)
    senderSockets.push(...(await Promise.all(Array.from({ length: Math.min(100, senders - i) }, () => open()))));
  const emojis = ['❤️', '🔥', '😂', '👏'];
  const frames = emojis.map((emoji) => onair.channel.v1.ClientFrame.encode({ reaction: { emoji } }).finish());
  let sent = 0;
  const cpu0 = processCpuSeconds(pid);
  const started = Date.now();
  const timers = senderSockets.map((ws, i) =>
    setInterval(() => {
      ws.send(frames[(sent + i) % frames.length]!);
      sent++;
    }, 56),
  );
  await sleep(seconds * 1000);
  for (const t of timers) clearInterval(t);
  const elapsed = (Date.now() - started) / 1000;
  await sleep(1500);
  const cpu = processCpuSeconds(pid) - cpu0;
  for (const ws of [...watchers, ...senderSockets]) ws.terminate();
  gw.child.kill('SIGTERM');
  await new Promise((r) => gw.child.once('exit', r));
  return {
    mode: 'reactions',
    senders,
    viewers,
    'reactions in/s': Math.round(sent / elapsed),
    'sum seen by a viewer': summed,
    sent: sent,
    exact: summed === sent,
    'reaction frames/s per viewer': +(reactionFrames / viewers / (elapsed + 1.5)).toFixed(1),
    'gateway CPU s/s': +(cpu / (elapsed + 1.5)).toFixed(2),
  };
}

if (process.argv[2] === '--serve-plain') {
  await servePlain(process.argv[3]!);
} else {
  const viewers = Number(arg('viewers', '500'));
  const rate = Number(arg('rate', '2000'));
  const seconds = Number(arg('seconds', '5'));
  const mode = arg('mode', 'both');
  if (mode === 'reactions') {
    console.table([await runReactions(Number(arg('viewers', '100')), Number(arg('senders', '500')), seconds)]);
    process.exit(0);
  }
  const rows = [];
  if (mode !== 'plain') rows.push(await run('batched', viewers, rate, seconds));
  if (mode !== 'batched') rows.push(await run('plain', viewers, rate, seconds));
  console.table(rows);
  if (rows.length === 2) {
    const [b, p] = rows as unknown as [Record<string, number>, Record<string, number>];
    console.log(
      `plain/batched: ${(p['chat frames/s out']! / b['chat frames/s out']!).toFixed(1)}x the frames, ${(p['gateway CPU s/s']! / b['gateway CPU s/s']!).toFixed(1)}x the gateway CPU, p99 ${p['p99 ms']} ms vs ${b['p99 ms']} ms`,
    );
  }
  process.exit(0);
}
