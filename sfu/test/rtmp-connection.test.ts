// The RTMP connection's parser against what encoders send and what strangers send: a publisher
// that writes its chunks in any TCP fragmentation, with every chunk header form, extended
// timestamps and a chunk size change, gets its media messages back whole and in order; the key is
// asked for exactly once and media before the verdict is refused; random bytes before or after
// the handshake, oversized messages and headerless chunks close the connection without an
// exception escaping.
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAmf0, type Amf0Value } from '../src/ingest/amf0.js';
import { RtmpConnection, type PublishVerdict, type RtmpMediaType } from '../src/ingest/rtmp-connection.js';

interface Seen {
  publishes: { app: string; name: string }[];
  media: { type: RtmpMediaType; ts: number; payload: Buffer }[];
  closed: Promise<string>;
}

let server: Server;
let port: number;
let verdict: PublishVerdict = { ok: true };
const conns: Seen[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    let resolveClosed: (r: string) => void = () => {};
    const seen: Seen = { publishes: [], media: [], closed: new Promise((r) => (resolveClosed = r)) };
    conns.push(seen);
    new RtmpConnection(
      socket,
      {
        publish: async (app, name) => {
          seen.publishes.push({ app, name });
          return verdict;
        },
        media: (type, ts, payload) => seen.media.push({ type, ts, payload }),
        closed: (reason) => resolveClosed(reason),
      },
      { handshakeTimeoutMs: 3000 },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A minimal RTMP publisher: handshake, then messages as chunks of `chunkSize`, in fmt 0 + fmt 3. */
class Client {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  chunkSize = 128;
  private prev = new Map<number, { ts: number; len: number; type: number }>();
  constructor() {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d) => (this.received = Buffer.concat([this.received, d])));
    this.socket.on('error', () => {});
  }
  async handshake(): Promise<void> {
    const c1 = randomBytes(1536);
    await this.send(Buffer.concat([Buffer.from([3]), c1]));
    await until(() => this.received.length >= 1 + 1536 * 2);
    expect(this.received[0]).toBe(3);
    expect(this.received.subarray(1 + 1536, 1 + 3072).equals(c1)).toBe(true); // S2 echoes C1
    await this.send(this.received.subarray(1, 1 + 1536)); // C2 echoes S1
    this.received = Buffer.alloc(0);
  }
  /** One message; `fmt` picks the first chunk's header form (1 and 2 reuse the previous header's fields). */
  chunks(csid: number, type: number, ts: number, payload: Buffer, fmt: 0 | 1 | 2 | 3 = 0, streamId = 0): Buffer {
    const prev = this.prev.get(csid);
    const ext = (fmt === 0 ? ts : ts - (prev?.ts ?? 0)) >= 0xffffff;
    const field = fmt === 0 ? ts : ts - (prev?.ts ?? 0);
    const parts: Buffer[] = [];
    const header = [Buffer.from([(fmt << 6) | csid])];
    if (fmt <= 2) header.push(u24(ext ? 0xffffff : field));
    if (fmt <= 1) header.push(u24(payload.length), Buffer.from([type]));
    if (fmt === 0) {
      const sid = Buffer.alloc(4);
      sid.writeUInt32LE(streamId);
      header.push(sid);
    }
    const extBuf = ext ? u32(field) : Buffer.alloc(0);
    if (ext) header.push(extBuf);
    parts.push(...header);
    for (let at = 0; at < payload.length; at += this.chunkSize) {
      if (at > 0) parts.push(Buffer.from([0xc0 | csid]), extBuf);
      parts.push(payload.subarray(at, at + this.chunkSize));
    }
    this.prev.set(csid, { ts, len: payload.length, type });
    return Buffer.concat(parts);
  }
  command(...values: Amf0Value[]): Buffer {
    return this.chunks(3, 20, 0, encodeAmf0(...values));
  }
  /** Writes in random slices, as TCP may deliver them. */
  async send(data: Buffer): Promise<void> {
    for (let at = 0; at < data.length; ) {
      const n = 1 + Math.floor(Math.random() * 700);
      this.socket.write(data.subarray(at, at + n));
      at += n;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  async publish(name: string): Promise<void> {
    await this.send(this.command('connect', 1, { app: 'live', tcUrl: 'rtmp://127.0.0.1/live' }));
    await this.send(this.command('createStream', 2, null));
    await this.send(this.chunks(4, 20, 0, encodeAmf0('publish', 3, null, name, 'live'), 0, 1));
  }
}

const u24 = (n: number) => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('RtmpConnection', () => {
  it('reassembles every message a publisher sends, whatever the chunking and header forms', async () => {
    verdict = { ok: true };
    const c = new Client();
    await c.handshake();
    await c.publish('sk_key');
    const seen = conns.at(-1)!;
    await until(() => seen.publishes.length === 1);
    expect(seen.publishes).toEqual([{ app: 'live', name: 'sk_key' }]);
    await until(() => c.received.includes(Buffer.from('NetStream.Publish.Start')));
    // A chunk size change, then video and audio in every header form and an extended timestamp.
    const setChunk = Buffer.concat([Buffer.from([0x02]), u24(0), u24(4), Buffer.from([1]), Buffer.alloc(4), u32(1000)]);
    await c.send(setChunk);
    c.chunkSize = 1000;
    const frames = [randomBytes(5000), randomBytes(10), randomBytes(2500), randomBytes(999), randomBytes(1000)];
    const out = [
      c.chunks(6, 9, 0, frames[0]!, 0, 1),
      c.chunks(6, 9, 33, frames[1]!, 1), // same stream id, new length
      c.chunks(6, 9, 66, frames[2]!, 1),
      c.chunks(7, 8, 70, frames[3]!, 0, 1),
      c.chunks(6, 9, 0x1000000, frames[4]!, 0, 1), // extended timestamp, also on continuation chunks
    ];
    await c.send(Buffer.concat(out));
    await until(() => seen.media.length === frames.length);
    expect(seen.media.map((m) => [m.type, m.ts])).toEqual([
      [9, 0],
      [9, 33],
      [9, 66],
      [8, 70],
      [9, 0x1000000],
    ]);
    seen.media.forEach((m, i) => expect(m.payload.equals(frames[i]!)).toBe(true));
    c.socket.destroy();
    expect(await seen.closed).toBe('peer_closed');
  });

  it('asks once and refuses with _error when the verdict is no; media before a yes closes the connection', async () => {
    verdict = { ok: false, code: 'invalid_stream_key', description: 'the stream key is wrong' };
    const c = new Client();
    await c.handshake();
    await c.publish('sk_wrong');
    const seen = conns.at(-1)!;
    expect(await seen.closed).toBe('invalid_stream_key');
    await until(() => c.received.includes(Buffer.from('_error')) && c.received.includes(Buffer.from('NetStream.Publish.BadName')));
    expect(seen.media).toEqual([]);

    verdict = { ok: true };
    const d = new Client();
    await d.handshake();
    await d.send(d.command('connect', 1, { app: 'live' }));
    await d.send(d.chunks(6, 9, 0, randomBytes(100), 0, 1));
    expect(await conns.at(-1)!.closed).toBe('media_before_publish');
  });

  it('closes on bytes that are not RTMP, before or after the handshake, without throwing', async () => {
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    process.on('uncaughtException', onError);
    try {
      for (let i = 0; i < 40; i++) {
        const c = new Client();
        if (i % 2) await c.handshake();
        else await c.send(Buffer.from([3])); // right version byte, then garbage as C1 and beyond
        await c.send(randomBytes(200 + Math.floor(Math.random() * 20_000)));
        const seen = conns.at(-1)!;
        c.socket.end();
        const reason = await seen.closed;
        expect(typeof reason).toBe('string');
      }
      // A message longer than any command, announced before publishing: refused before it is buffered.
      const c = new Client();
      await c.handshake();
      await c.send(Buffer.concat([Buffer.from([0x03]), u24(0), u24(0xfffff0), Buffer.from([20]), Buffer.alloc(4)]));
      expect(await conns.at(-1)!.closed).toBe('message_too_large');
      const v = new Client();
      await v.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.padEnd(1600, 'x')));
      expect(await conns.at(-1)!.closed).toBe('not_rtmp');
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(errors).toEqual([]);
  });
});
