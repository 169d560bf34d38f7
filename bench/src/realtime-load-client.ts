// A forked load client of the real-time bench (bench/src/realtime-scale.ts): holds a share of the
// viewers (or reaction senders) from its own loopback source address, and reports to the parent
// over IPC: connections opened, frames and bytes received, a latency histogram of the chat messages
// its sampled viewers decoded, reaction sums, refusals. Decodes fully only on sampled viewers; the
// others classify a frame by its first byte (the ServerFrame field tag), so the client stays cheap.
import WebSocket from 'ws';
import { onair } from '@onair/proto';

const { ServerFrame, ClientFrame } = onair.channel.v1;

export interface ClientJob {
  url: string;
  /** Loopback source address (127.0.0.x): a fresh 28k ephemeral-port range per client process. */
  localAddress: string;
  viewers: number;
  /** Every n-th viewer decodes every frame and records latency (0: none). */
  sampleEvery: number;
  /** Reaction senders: each sends `reactionsPerSecond`, evenly spaced. */
  senders: number;
  reactionsPerSecond: number;
  /** Connections being opened at once. */
  concurrency: number;
}

export type ToClient =
  | { kind: 'job'; job: ClientJob }
  | { kind: 'reset'; until?: number }
  | { kind: 'report' }
  | { kind: 'start-reactions' }
  | { kind: 'stop-reactions' }
  | { kind: 'exit' };

/** Latency histogram: 1 ms buckets up to 60 s (the last bucket holds the rest). */
export const HISTOGRAM_MS = 60_000;

export interface ClientReport {
  kind: 'report';
  open: number;
  failed: number;
  closed: number;
  chatFrames: number;
  reactionFrames: number;
  otherFrames: number;
  bytes: number;
  /** Messages decoded by sampled viewers and their latency histogram. */
  sampledViewers: number;
  sampledMessages: number;
  histogram: number[];
  /** The slowest latency (ms) per second of sending (epoch second -> ms), to see when a tail happened. */
  maxBySecond: Record<number, number>;
  /** Reaction sums seen by the first viewer of this client. */
  reactionSum: number;
  reactionsSent: number;
  refusals: number;
}

const TAG_CHAT = 0x0a; // field 1, length-delimited
const TAG_REACTIONS = 0x12; // field 2

let job: ClientJob | undefined;
const sockets: WebSocket[] = [];
const senders: WebSocket[] = [];
const stats = newStats();
let reactionTimer: NodeJS.Timeout | undefined;
/** Frames received after this (epoch ms) are not counted: a busy client answers its report late. */
let countUntil = Infinity;

function newStats() {
  return {
    open: 0,
    failed: 0,
    closed: 0,
    chatFrames: 0,
    reactionFrames: 0,
    otherFrames: 0,
    bytes: 0,
    sampledMessages: 0,
    histogram: new Uint32Array(HISTOGRAM_MS),
    maxBySecond: {} as Record<number, number>,
    reactionSum: 0,
    reactionsSent: 0,
    refusals: 0,
  };
}

function resetStats(): void {
  const fresh = newStats();
  Object.assign(stats, { ...fresh, open: stats.open, failed: stats.failed, closed: stats.closed, histogram: fresh.histogram });
}

function open(url: string, onMessage: (data: Buffer) => void): Promise<WebSocket | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: job!.localAddress, handshakeTimeout: 60_000 });
    ws.on('message', onMessage);
    ws.once('open', () => {
      stats.open++;
      resolve(ws);
    });
    ws.once('close', () => stats.closed++);
    ws.once('error', () => {
      stats.failed++;
      resolve(null);
    });
  });
}

async function openMany(n: number, make: (i: number) => Promise<WebSocket | null>, into: WebSocket[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const ws = await make(next++);
      if (ws) into.push(ws);
    }
  };
  await Promise.all(Array.from({ length: Math.min(job!.concurrency, n) }, worker));
}

function viewer(i: number): Promise<WebSocket | null> {
  const sampled = job!.sampleEvery > 0 && i % job!.sampleEvery === 0;
  const first = i === 0;
  return open(job!.url, (data) => {
    if (Date.now() > countUntil) return;
    stats.bytes += data.length;
    const tag = data[0];
    if (tag === TAG_CHAT) stats.chatFrames++;
    else if (tag === TAG_REACTIONS) stats.reactionFrames++;
    else stats.otherFrames++;
    if (!sampled && !(first && tag === TAG_REACTIONS)) return;
    const f = ServerFrame.decode(data);
    if (f.body === 'chat' && !f.chat?.history) {
      const now = Date.now();
      for (const m of f.chat!.messages ?? []) {
        stats.sampledMessages++;
        const sentAt = Number(m.sentAtMs);
        const ms = Math.min(HISTOGRAM_MS - 1, Math.max(0, now - sentAt));
        stats.histogram[ms]!++;
        const second = Math.floor(sentAt / 1000);
        if (ms > (stats.maxBySecond[second] ?? -1)) stats.maxBySecond[second] = ms;
      }
    } else if (f.body === 'reactions' && first) {
      for (const n of Object.values(f.reactions?.counts ?? {})) stats.reactionSum += n;
    }
  });
}

function sender(): Promise<WebSocket | null> {
  return open(job!.url, (data) => {
    stats.bytes += data.length;
    if (data[0] === 0x3a) {
      // field 7: an error frame (a refused reaction)
      const f = ServerFrame.decode(data);
      if (f.error?.code === 'rate_limited') stats.refusals++;
    }
  });
}

const EMOJIS = ['❤️', '🔥', '😂', '👏'].map((emoji) => ClientFrame.encode({ reaction: { emoji } }).finish());

/** Sends reactions round-robin over the sender sockets so each one sends evenly at the set rate. */
function startReactions(): void {
  const perSecond = job!.reactionsPerSecond * senders.length;
  const started = Date.now();
  let sent = 0;
  let cursor = 0;
  reactionTimer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1000) * perSecond);
    // A stalled process skips what it missed rather than bursting it (a burst would break the per-connection limit).
    if (due - sent > perSecond / 20) sent = due - Math.floor(perSecond / 20);
    for (; sent < due; sent++) {
      const ws = senders[cursor++ % senders.length]!;
      if (ws.readyState !== ws.OPEN) continue;
      ws.send(EMOJIS[sent % EMOJIS.length]!);
      stats.reactionsSent++;
    }
  }, 10);
}

function report(): ClientReport {
  return {
    kind: 'report',
    open: stats.open,
    failed: stats.failed,
    closed: stats.closed,
    chatFrames: stats.chatFrames,
    reactionFrames: stats.reactionFrames,
    otherFrames: stats.otherFrames,
    bytes: stats.bytes,
    sampledViewers: job && job.sampleEvery > 0 ? Math.ceil(job.viewers / job.sampleEvery) : 0,
    sampledMessages: stats.sampledMessages,
    histogram: Array.from(stats.histogram),
    maxBySecond: stats.maxBySecond,
    reactionSum: stats.reactionSum,
    reactionsSent: stats.reactionsSent,
    refusals: stats.refusals,
  };
}

process.on('message', (msg: ToClient) => {
  if (msg.kind === 'job') {
    job = msg.job;
    void (async () => {
      await openMany(job!.viewers, viewer, sockets);
      await openMany(job!.senders, () => sender(), senders);
      process.send!({ kind: 'ready', open: stats.open, failed: stats.failed });
    })();
  } else if (msg.kind === 'reset') {
    resetStats();
    countUntil = msg.until ?? Infinity;
    process.send!({ kind: 'reset-done' });
  } else if (msg.kind === 'report') {
    process.send!(report());
  } else if (msg.kind === 'start-reactions') {
    startReactions();
    process.send!({ kind: 'reactions-started' });
  } else if (msg.kind === 'stop-reactions') {
    clearInterval(reactionTimer);
    process.send!({ kind: 'reactions-stopped', sent: stats.reactionsSent });
  } else if (msg.kind === 'exit') {
    clearInterval(reactionTimer);
    for (const ws of [...sockets, ...senders]) ws.terminate();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
