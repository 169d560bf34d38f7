// A fuzzer for a running OnAir node's entry points, shared by the bounded sample in `npm test`
// (signaling/test/fuzz-sample.test.ts) and `npm run fuzz -w bench` (>= 100 k inputs with counts).
// It throws mutated input at: HTTP requests over raw TCP (paths with broken percent-encoding, huge or
// control-character segments, odd methods and headers, bodies of wrong types, deep nesting, invalid
// UTF-8), WebSocket upgrades, protobuf ClientFrames on an open channel (random, truncated, oversized,
// byte-flipped, text), and bus payloads on every subject the node subscribes to over NATS. It records
// what came back per entry point; it never decides pass or fail (its callers check that the node
// stayed up, answered no input with a 500, and still serves chat). Seeded: a run can be repeated.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect as tcpConnect } from 'node:net';
import { connect as natsConnect } from 'nats';
import WebSocket from 'ws';
import { onair } from '@onair/proto';

/** mulberry32: small, fast, seedable. */
export class Rng {
  constructor(private state: number) {}
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

export interface EntryCounts {
  inputs: number;
  /** What came back: an HTTP status ("404"), "closed", "timeout", "frame:<code>", "dropped", ... */
  outcomes: Record<string, number>;
  /** 500 answers: a handler that did not turn bad input into a 4xx. */
  serverErrors: number;
  /** A few of the inputs that got a 500, for the report. */
  examples: string[];
}

export type FuzzCounts = Record<string, EntryCounts>;

function entry(counts: FuzzCounts, name: string): EntryCounts {
  counts[name] ??= { inputs: 0, outcomes: {}, serverErrors: 0, examples: [] };
  return counts[name]!;
}

function record(e: EntryCounts, outcome: string, input: string): void {
  e.outcomes[outcome] = (e.outcomes[outcome] ?? 0) + 1;
  if (outcome === '500') {
    e.serverErrors++;
    if (e.examples.length < 5) e.examples.push(input.slice(0, 300));
  }
}

/**
 * The environment of a fuzzed node process: distributed mode (PostgreSQL, NATS, Redis, the cascade
 * on, so every entry point is there), cheap password hashing and sign-in limits out of reach (the
 * fuzzer registers from one address; the limits have tests of their own).
 */
export function fuzzNodeEnv(o: {
  databaseUrl: string;
  natsUrl: string;
  redisUrl: string;
  nodeId: string;
  jwtSecret: string;
  rtmpPort: number;
  srtPort: number;
}): Record<string, string> {
  return {
    RTMP_PORT: String(o.rtmpPort),
    SRT_PORT: String(o.srtPort),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'test',
    DATABASE_URL: o.databaseUrl,
    NATS_URL: o.natsUrl,
    REDIS_URL: o.redisUrl,
    JWT_SECRET: o.jwtSecret,
    MEDIASOUP_WORKERS: '1',
    CASCADE: 'on',
    CASCADE_REGISTRY_PREFIX: `onair-fuzz-${o.nodeId}`,
    NODE_ID: o.nodeId,
    HLS_MODE: 'off',
    PASSWORD_SCRYPT_LOG2N: '14',
    REGISTRATIONS_PER_ADDRESS: '1000000',
    LOGIN_FAILURES_PER_ADDRESS: '1000000',
    LOGIN_FAILURES_PER_ACCOUNT: '1000000',
  };
}

// ---- inputs -------------------------------------------------------------------------------------

export interface FuzzTarget {
  baseUrl: string;
  /** A real stream of the node (paths and subjects are built around it as well as random ids). */
  streamId: string;
  /** A signed-in user's token (for authenticated paths and the channel). */
  token: string;
  /** Another user's token, for stillServing's chat round trip (the fuzzed user may be rate-limited). */
  checkerToken: string;
}

const ROUTES = [
  '/',
  '/dashboard',
  '/watch/{id}',
  '/api/streams',
  '/api/streams/{id}',
  '/api/streams/{id}/chat',
  '/api/streams/{id}/bans',
  '/api/streams/{id}/moderators',
  '/api/streams/{id}/chat-settings',
  '/api/streams/{id}/activity',
  '/api/streams/{id}/tips',
  '/api/streams/{id}/thumbnail.jpg',
  '/api/streams/{id}/key/rotate',
  '/api/streams/{id}/broadcasts',
  '/api/streams/{id}/clips',
  '/api/broadcasts/{id}',
  '/api/broadcasts/{id}/chat',
  '/api/clips/{id}',
  '/api/me',
  '/api/me/streams',
  '/api/auth/login',
  '/api/auth/register',
  '/api/auth/password',
  '/api/auth/logout-all',
  '/api/wallet',
  '/api/wallet/topups',
  '/api/wallet/tips',
  '/api/webhooks/stripe',
  '/whip/{id}',
  '/whep/{id}',
  '/whep/{id}/{id}',
  '/hls/{id}/index.m3u8',
  '/hls/{id}/360p/index.m3u8',
  '/hls/{id}/360p/seg1.m4s',
  '/dash/{id}/manifest.mpd',
  '/vod/{id}/index.m3u8',
  '/vod/{id}/dvr.m3u8',
  '/vod/{id}/dvr.mpd',
  '/vod/{id}/manifest.mpd',
  '/vod/{id}/360p/{id}',
  '/time',
  '/ws/{id}',
  '/healthz',
  '/readyz',
  '/metrics',
  '/assets/x.js',
];
const METHODS = ['GET', 'GET', 'POST', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'FOO', 'G\u0001T'];
const SEGMENTS = [
  '%',
  '%zz',
  '%00',
  '%ff%fe',
  '%c0%af',
  '..',
  '%2e%2e%2f',
  '\u0001',
  '\u007f',
  '\u202e',
  '\u{1F525}',
  '-',
  '_',
  'a'.repeat(70),
  'a'.repeat(5000),
  '0',
  '00000000-0000-0000-0000-000000000000',
  'null',
  '__proto__',
  'constructor',
  '*',
  '>',
  'a.b.c',
  ' ',
  '%20',
  '?',
  '#',
  ';',
  '\\',
];
const QUERIES = [
  '',
  '?limit=-1',
  '?limit=1e9',
  '?limit=abc',
  '?tag=a&tag=b&tag=c',
  '?tag[]=x',
  '?q=%',
  '?q=%zz',
  '?cursor=%%%',
  '?cursor=eyJ4Ijp9',
  '?before=99999999999999999999',
  '?sort=__proto__',
  `?q=${'x'.repeat(3000)}`,
  '?client=%00',
  '?_HLS_msn=-5&_HLS_part=99999',
  '?_HLS_msn=1e99',
  '?token=a.b.c',
  '?live=maybe',
  '?a=1&a=2&a=3',
];

function id(rng: Rng, streamId: string): string {
  return rng.chance(0.5) ? streamId : rng.pick(SEGMENTS);
}

function path(rng: Rng, t: FuzzTarget): string {
  let p = rng.pick(ROUTES).replace(/\{id\}/g, () => id(rng, t.streamId));
  if (rng.chance(0.3)) {
    const parts = p.split('/');
    parts[rng.int(parts.length)] = rng.pick(SEGMENTS);
    p = parts.join('/');
  }
  if (rng.chance(0.1)) p = p.replace(/\//g, () => (rng.chance(0.3) ? '//' : '/'));
  return p + rng.pick(QUERIES);
}

function deep(n: number, open: string, close: string): string {
  return open.repeat(n) + close.repeat(n);
}

const BODIES: ((rng: Rng) => string | Buffer)[] = [
  () => '',
  () => '{}',
  () => '[]',
  () => 'null',
  () => '"x"',
  () => '{"username":123,"password":{}}',
  () => '{"title":null,"tags":"x"}',
  () => '{"amount":1e309}',
  () => '{"amount":-1,"message":[1,2]}',
  () => '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}',
  () => '{"tags":["a","b",null,{"x":1}]}',
  () => `{"title":"${'\\u0000'.repeat(50)}"}`,
  (rng) => deep(rng.pick([100, 5000, 50_000]), '[', ']'),
  (rng) => deep(rng.pick([100, 5000]), '{"a":', '}'),
  (rng) => `{"title":"${'x'.repeat(rng.pick([200, 70_000]))}"}`,
  () => '{"a":',
  () => 'v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n',
  () => 'a=ice-ufrag:x\r\na=candidate:garbage\r\n',
  (rng) => rng.bytes(rng.int(2000)),
  () => Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc]),
];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/sdp',
  'application/trickle-ice-sdpfrag',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  '',
  'x/\u0001',
];
const AUTHS = [
  '',
  'Bearer ',
  'Bearer a.b.c',
  'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
  'Basic Zm9vOmJhcg==',
  'Bearer {token}',
  `Bearer ${'x'.repeat(9000)}`,
];

export function httpRequest(rng: Rng, t: FuzzTarget): Buffer {
  const method = rng.pick(METHODS);
  const body = rng.chance(0.6) ? rng.pick(BODIES)(rng) : '';
  const bodyBytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const headers = [`Host: ${rng.chance(0.9) ? 'onair.test' : rng.pick(['', 'x'.repeat(5000), 'a\u0001b', '[::1'])}`, 'Connection: close'];
  const type = rng.pick(CONTENT_TYPES);
  if (type) headers.push(`Content-Type: ${type}`);
  const auth = rng.pick(AUTHS).replace('{token}', t.token);
  if (auth) headers.push(`Authorization: ${auth}`);
  if (rng.chance(0.2)) headers.push(`X-Forwarded-For: ${rng.pick(['1.2.3.4', 'garbage', '::1, 10.0.0.1', ''])}`);
  if (rng.chance(0.1)) headers.push(`If-Match: ${rng.pick(['"x"', '*', ''])}`);
  if (rng.chance(0.1)) headers.push(`Idempotency-Key: ${rng.pick(['k', '', 'x'.repeat(300), '\u00e9'])}`);
  if (rng.chance(0.05)) headers.push(`X-Big: ${'b'.repeat(rng.pick([1000, 20_000]))}`);
  if (rng.chance(0.05)) headers.push('Transfer-Encoding: chunked');
  // Mostly a truthful length; sometimes a short one (the rest is then garbage after the request).
  headers.push(`Content-Length: ${rng.chance(0.9) ? bodyBytes.length : Math.max(0, bodyBytes.length - 1 - rng.int(10))}`);
  const head = `${method} ${path(rng, t)} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), bodyBytes]);
}

export function upgradeRequest(rng: Rng, t: FuzzTarget): Buffer {
  const p = rng.chance(0.7) ? `/ws/${id(rng, t.streamId)}${rng.pick(QUERIES)}` : path(rng, t);
  const headers = [
    'Host: onair.test',
    rng.chance(0.9) ? 'Upgrade: websocket' : `Upgrade: ${rng.pick(['h2c', '', 'WebSocket2'])}`,
    rng.chance(0.9) ? 'Connection: Upgrade' : 'Connection: close',
    `Sec-WebSocket-Version: ${rng.pick(['13', '13', '8', 'x', ''])}`,
    `Sec-WebSocket-Key: ${rng.pick([randomBytes(16).toString('base64'), '', 'short', 'x'.repeat(200)])}`,
  ];
  if (rng.chance(0.5))
    headers.push(
      `Sec-WebSocket-Protocol: ${rng.pick(['onair.channel.v1', `onair.channel.v1, ${t.token}`, 'a.b.c', ',,,', 'x'.repeat(4000), '\u0001'])}`,
    );
  if (rng.chance(0.2)) headers.push(`Sec-WebSocket-Extensions: ${rng.pick(['permessage-deflate', 'x; y=', ''])}`);
  return Buffer.from(`GET ${p} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** Sends raw bytes, reads until the server closes or answers, classifies the answer. */
function exchange(baseUrl: string, bytes: Buffer, timeoutMs = 3000): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = tcpConnect(Number(port), hostname);
    let got = '';
    let settled = false;
    const done = (outcome: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done(got ? statusOf(got) : 'timeout'), timeoutMs);
    socket.on('error', () => done(got ? statusOf(got) : 'reset'));
    socket.on('data', (d) => {
      got += d.toString('latin1');
      // An upgrade answered 101: the handshake succeeded; nothing more to learn here.
      if (/^HTTP\/1\.1 101/.test(got)) done('101');
    });
    socket.on('close', () => done(got ? statusOf(got) : 'closed'));
    socket.write(bytes);
  });
}

function statusOf(response: string): string {
  return /^HTTP\/1\.[01] (\d{3})/.exec(response)?.[1] ?? 'garbled';
}

// ---- drivers ------------------------------------------------------------------------------------

async function pool(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await job(next++);
    }),
  );
}

export async function fuzzHttp(t: FuzzTarget, n: number, rng: Rng, counts: FuzzCounts, concurrency = 8): Promise<void> {
  const e = entry(counts, 'http');
  await pool(n, concurrency, async () => {
    const req = httpRequest(rng, t);
    e.inputs++;
    record(e, await exchange(t.baseUrl, req), req.toString('latin1'));
  });
}

export async function fuzzUpgrades(t: FuzzTarget, n: number, rng: Rng, counts: FuzzCounts, concurrency = 8): Promise<void> {
  const e = entry(counts, 'ws-upgrade');
  await pool(n, concurrency, async () => {
    const req = upgradeRequest(rng, t);
    e.inputs++;
    record(e, await exchange(t.baseUrl, req, 1500), req.toString('latin1'));
  });
}

const { ClientFrame } = onair.channel.v1;

export function clientFrameBytes(rng: Rng): Buffer | string {
  const valid = Buffer.from(
    ClientFrame.encode(
      rng.pick([
        { seq: rng.int(2 ** 31), chat: { text: rng.pick(['hi', '', 'x'.repeat(600), '\u0000', '\u202e', '🔥'.repeat(300)]) } },
        { seq: -1, reaction: { emoji: rng.pick(['🔥', '', 'x', '🔥'.repeat(50), '\u0000']) } },
        { seq: 0, ping: {} },
        { seq: 2 ** 31 - 1 },
      ]),
    ).finish(),
  );
  switch (rng.int(6)) {
    case 0:
      return rng.bytes(rng.int(64));
    case 1:
      return valid.subarray(0, rng.int(valid.length));
    case 2: {
      const b = Buffer.from(valid);
      for (let i = 0; i < 1 + rng.int(4); i++) if (b.length) b[rng.int(b.length)] = rng.int(256);
      return b;
    }
    case 3:
      return rng.bytes(4097 + rng.int(20_000)); // over MAX_CLIENT_FRAME_BYTES
    case 4:
      return rng.pick(['text frame', '{"chat":{"text":"x"}}', '']);
    default:
      return valid;
  }
}

/** Mutated frames on signed-in channel sockets; a socket the node closes (flood, oversize) is replaced. */
export async function fuzzFrames(t: FuzzTarget, n: number, rng: Rng, counts: FuzzCounts): Promise<void> {
  const e = entry(counts, 'client-frames');
  const url = `${t.baseUrl.replace(/^http/, 'ws')}/ws/${t.streamId}`;
  let ws: WebSocket | undefined;
  const open = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(url, ['onair.channel.v1', t.token]);
      s.on('message', (data: Buffer) => {
        try {
          const f = onair.channel.v1.ServerFrame.decode(data);
          if (f.error?.code) record(e, `frame:${f.error.code}`, '');
        } catch {
          record(e, 'undecodable-server-frame', '');
        }
      });
      s.once('open', () => resolve(s));
      s.once('error', reject);
      s.once('close', (code) => record(e, `closed:${code}`, ''));
    });
  for (let i = 0; i < n; i++) {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      ws?.terminate();
      ws = await open();
    }
    const bytes = clientFrameBytes(rng);
    e.inputs++;
    ws.send(bytes, { binary: typeof bytes !== 'string' });
    // Stay near the node's inbound budget (50 frames/s after a burst of 500) some of the time, so
    // frames are judged, not only the flood guard.
    if (i % 40 === 39) await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 300));
  ws?.terminate();
}

const STREAM_SUBJECTS = ['chat.0', 'chat.3', 'chat.7', 'reactions', 'moderation', 'viewers', 'status', 'tip'];
const NODE_SUBJECTS = ['relay', 'release', 'unlinked'];

function busPayload(rng: Rng, streamId: string): Uint8Array {
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  switch (rng.int(10)) {
    case 0:
      return Buffer.from('null');
    case 1:
      return rng.bytes(rng.int(300));
    case 2:
      return json(rng.pick([[], 1, 'x', true, {}]));
    case 3:
      return json({
        kind: rng.pick(['ban', 'unban', 'delete', 'settings', 'moderator', 'x']),
        streamId: rng.pick([streamId, 'other', '', null]),
        userId: rng.pick([null, 1, 'u']),
        untilMs: rng.pick([null, -1, 'x', 1e308]),
      });
    case 4:
      return json({
        counts: rng.pick([
          { '🔥': -5 },
          { '🔥': 1e308 },
          null,
          { x: 'y' },
          Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`e${i}`, 1])),
        ]),
      });
    case 5:
      return json({ node: rng.pick(['n1', '', null, 'a.b']), count: rng.pick([-1, 1e12, 'x', 3]) });
    case 6:
      return Buffer.from(deep(rng.pick([50, 5000]), '[', ']'));
    case 7:
      return json({ live: rng.pick([true, 'yes', null, 1]) });
    case 8:
      return json({
        streamId,
        fromNodeId: 'evil',
        enableSrtp: false,
        endpoint: { ip: rng.pick(['203.0.113.9', '127.0.0.1', '']), port: rng.pick([1, 65535, 0, -1]) },
      });
    default:
      return Buffer.from(
        onair.channel.v1.ChatMessage.encode({
          id: 'x',
          userId: rng.pick(['u', '']),
          username: rng.pick(['', 'x'.repeat(100)]),
          text: rng.pick(['', 'hi', 'x'.repeat(900)]),
          sentAtMs: rng.pick([0, -1, 1]),
        }).finish(),
      );
  }
}

/** Payloads on every subject family the node subscribes to, for its stream, another and random keys. */
export async function fuzzBus(t: FuzzTarget, natsUrl: string, nodeIds: string[], n: number, rng: Rng, counts: FuzzCounts): Promise<void> {
  const e = entry(counts, 'bus');
  const nc = await natsConnect({ servers: natsUrl });
  try {
    for (let i = 0; i < n; i++) {
      const key = rng.pick([t.streamId, t.streamId, 'nosuchstream', 'a'.repeat(64)]);
      const subject = rng.chance(0.85)
        ? `onair.stream.${key}.${rng.pick(STREAM_SUBJECTS)}`
        : `onair.cascade.node.${rng.pick(nodeIds)}.${rng.pick(NODE_SUBJECTS)}`;
      e.inputs++;
      if (subject.endsWith('.relay')) {
        const reply = await nc.request(subject, busPayload(rng, t.streamId), { timeout: 1000 }).then(
          () => 'replied',
          () => 'no-reply',
        );
        record(e, reply, subject);
      } else {
        nc.publish(subject, busPayload(rng, t.streamId));
        record(e, 'published', subject);
      }
      if (i % 200 === 199) await nc.flush();
    }
    await nc.flush();
  } finally {
    await nc.close();
  }
}

/**
 * RTMP (TCP): random bytes, a valid C0+C1 handshake then garbage, or a handshake and a mutated chunk
 * stream; SRT (UDP): random datagrams and SRT-shaped control packets (handshakes with random fields).
 * No key check can pass, so no encoder may start.
 */
export async function fuzzIngest(
  host: string,
  ports: { rtmp: number; srt: number },
  n: number,
  rng: Rng,
  counts: FuzzCounts,
): Promise<void> {
  const rtmp = entry(counts, 'rtmp');
  const srt = entry(counts, 'srt');
  const udp = createSocket('udp4');
  try {
    await pool(n, 8, async () => {
      if (rng.chance(0.5)) {
        const hello = Buffer.concat([Buffer.from([rng.chance(0.8) ? 3 : rng.int(256)]), rng.bytes(1536)]);
        const bytes = rng.pick([
          () => rng.bytes(1 + rng.int(4000)),
          () => Buffer.concat([hello, rng.bytes(rng.int(3000))]),
          // A client that never waits for S0S1: C2 and a chunk header right away, then garbage.
          () =>
            Buffer.concat([hello, rng.bytes(1536), Buffer.from([0x03, 0, 0, 0, 0, 0, 0x40, 0x14, 0, 0, 0, 0]), rng.bytes(rng.int(600))]),
        ])();
        rtmp.inputs++;
        record(rtmp, await exchange(`http://${host}:${ports.rtmp}`, bytes, 1000).then((o) => (o === 'garbled' ? 'answered' : o)), '');
      } else {
        const packet = rng.chance(0.5)
          ? rng.bytes(1 + rng.int(1500))
          : Buffer.concat([
              Buffer.from([0x80, 0x00, 0x00, 0x00]),
              rng.bytes(12),
              Buffer.from([0, 0, 0, rng.pick([4, 5])]),
              rng.bytes(rng.int(100)),
            ]);
        srt.inputs++;
        await new Promise<void>((resolve) => udp.send(packet, ports.srt, host, () => resolve()));
        record(srt, 'sent', '');
      }
    });
  } finally {
    udp.close();
  }
}

// ---- the node is still serving ------------------------------------------------------------------

/** /healthz answers and a chat message goes round trip through the channel (and, with NATS, the bus). */
export async function stillServing(t: FuzzTarget, marker: string): Promise<void> {
  const health = await fetch(`${t.baseUrl}/healthz`);
  if (health.status !== 200) throw new Error(`/healthz answered ${health.status}`);
  const url = `${t.baseUrl.replace(/^http/, 'ws')}/ws/${t.streamId}`;
  const ws = new WebSocket(url, ['onair.channel.v1', t.checkerToken]);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`chat "${marker}" did not come back within 10 s`)), 10_000);
      ws.on('message', (data: Buffer) => {
        const f = onair.channel.v1.ServerFrame.decode(data);
        if (f.chat?.messages?.some((m) => m.text === marker)) {
          clearTimeout(timer);
          resolve();
        }
      });
      ws.once('open', () => ws.send(ClientFrame.encode({ seq: 1, chat: { text: marker } }).finish()));
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } finally {
    ws.terminate();
  }
}
