// One RTMP publisher's connection, up to and including its media: the handshake (the simple form
// that ffmpeg, OBS/librtmp and hardware encoders accept), the chunk stream (RFC-less but
// well-known: Adobe's RTMP 1.0 spec), the commands a publisher sends (connect, releaseStream,
// FCPublish, createStream, publish, deleteStream) and our replies, then audio, video and metadata
// messages handed on whole. It never decides whether a publisher is welcome (its owner's `publish`
// hook does, before any media is accepted) and never decodes media. Limits keep a hostile peer
// cheap: a handshake deadline, small messages until publishing is allowed, bounded sizes throughout.
// Protocol violations end the connection with a reason; nothing here throws out of a socket event.
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Amf0Error, decodeAmf0, encodeAmf0, type Amf0Value } from './amf0.js';

export type RtmpMediaType = 8 | 9 | 18;

export type PublishVerdict = { ok: true } | { ok: false; code: string; description: string };

export interface RtmpConnectionHooks {
  /** The peer asks to publish `streamName` in `app`; media is refused until this resolves ok. */
  publish(app: string, streamName: string): Promise<PublishVerdict>;
  /** An audio (8), video (9) or data (18) message of the published stream, after publish was allowed. */
  media(type: RtmpMediaType, timestampMs: number, payload: Buffer): void;
  /** The connection ended (peer left, protocol error, or close() called); once. */
  closed(reason: string): void;
}

export interface RtmpLimits {
  /** The handshake and publish command must complete within this. */
  handshakeTimeoutMs: number;
}

const HANDSHAKE_SIZE = 1536;
/** Until the publish is allowed, no message needs more than this (commands are small). */
const MAX_PRE_PUBLISH_MESSAGE = 64 * 1024;
/** RTMP's own ceiling (24-bit length); also bounds a chunk size a peer can ask for. */
const MAX_MESSAGE = 0xffffff;
const MAX_CHUNK_STREAMS = 64;
const OUR_CHUNK_SIZE = 4096;
const WINDOW_ACK_SIZE = 5_000_000;

interface ChunkStreamState {
  timestamp: number;
  delta: number;
  length: number;
  type: number;
  streamId: number;
  extended: boolean;
  /** Payload pieces of the message being assembled. */
  parts: Buffer[];
  received: number;
}

type Phase = 'c0c1' | 'c2' | 'chunks' | 'closed';

export class RtmpConnection {
  private phase: Phase = 'c0c1';
  private pending: Buffer = Buffer.alloc(0);
  private inChunkSize = 128;
  private readonly streams = new Map<number, ChunkStreamState>();
  private app: string | undefined;
  private publishing: 'no' | 'asking' | 'yes' = 'no';
  private bytesIn = 0;
  private ackedAt = 0;
  private peerWindow = 2_500_000;
  private readonly deadline: NodeJS.Timeout;

  constructor(
    readonly socket: Socket,
    private readonly hooks: RtmpConnectionHooks,
    limits: RtmpLimits,
  ) {
    this.deadline = setTimeout(() => this.close('handshake_timeout'), limits.handshakeTimeoutMs);
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => this.receive(b));
    socket.on('error', () => {}); // 'close' follows; the reason is the peer leaving
    socket.once('close', () => this.close('peer_closed'));
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  /** Ends the connection (idempotent); `status` sends the publisher an onStatus first (e.g. why). */
  close(reason: string, status?: { code: string; description: string }): void {
    if (this.phase === 'closed') return;
    if (status && this.phase === 'chunks') {
      this.sendCommand(1, 'onStatus', 0, null, { level: 'error', code: status.code, description: status.description });
    }
    this.phase = 'closed';
    clearTimeout(this.deadline);
    this.pending = Buffer.alloc(0);
    this.streams.clear();
    this.socket.end();
    // A peer that does not read our last words must not keep the socket.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.hooks.closed(reason);
  }

  /** Stops reading while the consumer of media catches up (backpressure to the encoder over TCP). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (this.phase !== 'closed') this.socket.resume();
  }

  private receive(data: Buffer): void {
    if (this.phase === 'closed') return;
    this.bytesIn += data.length;
    this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    try {
      this.advance();
    } catch (err) {
      const reason = err instanceof Amf0Error ? 'bad_amf0' : err instanceof ProtocolError ? err.reason : 'internal_error';
      this.close(reason);
    }
    if (this.phase === 'chunks' && this.bytesIn - this.ackedAt >= this.peerWindow) {
      this.ackedAt = this.bytesIn;
      this.sendControl(3, u32(this.bytesIn >>> 0));
    }
  }

  private advance(): void {
    while (this.phase !== 'closed') {
      if (this.phase === 'c0c1') {
        if (this.pending.length < 1 + HANDSHAKE_SIZE) return;
        // Version 3 is RTMP; 6 is RTMPE (encrypted), which we do not offer. Anything else is not RTMP.
        if (this.pending[0] !== 3) throw new ProtocolError('not_rtmp');
        const c1 = this.pending.subarray(1, 1 + HANDSHAKE_SIZE);
        const s1 = Buffer.alloc(HANDSHAKE_SIZE);
        s1.writeUInt32BE(0, 0);
        s1.writeUInt32BE(0, 4); // zero version: clients skip digest validation (the simple handshake)
        randomBytes(HANDSHAKE_SIZE - 8).copy(s1, 8);
        this.socket.write(Buffer.concat([Buffer.from([3]), s1, c1]));
        this.pending = this.pending.subarray(1 + HANDSHAKE_SIZE);
        this.phase = 'c2';
      } else if (this.phase === 'c2') {
        if (this.pending.length < HANDSHAKE_SIZE) return;
        this.pending = this.pending.subarray(HANDSHAKE_SIZE);
        this.phase = 'chunks';
      } else if (!this.readChunk()) return;
    }
  }

  /** Reads one chunk if it is complete in `pending`; returns false when more bytes are needed. */
  private readChunk(): boolean {
    const b = this.pending;
    if (b.length < 1) return false;
    const fmt = b[0]! >> 6;
    let csid = b[0]! & 0x3f;
    let at = 1;
    if (csid === 0) {
      if (b.length < 2) return false;
      csid = 64 + b[1]!;
      at = 2;
    } else if (csid === 1) {
      if (b.length < 3) return false;
      csid = 64 + b[1]! + b[2]! * 256;
      at = 3;
    }
    const headerLen = [11, 7, 3, 0][fmt]!;
    if (b.length < at + headerLen) return false;
    let s = this.streams.get(csid);
    if (!s) {
      if (fmt !== 0) throw new ProtocolError('chunk_without_header');
      if (this.streams.size >= MAX_CHUNK_STREAMS) throw new ProtocolError('too_many_chunk_streams');
      s = { timestamp: 0, delta: 0, length: 0, type: 0, streamId: 0, extended: false, parts: [], received: 0 };
      this.streams.set(csid, s);
    }
    const startsMessage = s.received === 0;
    let tsField = 0;
    let length = s.length;
    let type = s.type;
    let streamId = s.streamId;
    if (fmt <= 2) tsField = b.readUIntBE(at, 3);
    if (fmt <= 1) {
      length = b.readUIntBE(at + 3, 3);
      type = b[at + 6]!;
    }
    if (fmt === 0) streamId = b.readUInt32LE(at + 7);
    at += headerLen;
    const extended = fmt <= 2 ? tsField === 0xffffff : s.extended;
    if (extended) {
      if (b.length < at + 4) return false;
      tsField = b.readUInt32BE(at);
      at += 4;
    }
    if (!startsMessage && fmt !== 3) throw new ProtocolError('interleaved_message_header');
    const limit = this.publishing === 'yes' ? MAX_MESSAGE : MAX_PRE_PUBLISH_MESSAGE;
    if (length > limit) throw new ProtocolError('message_too_large');
    const take = Math.min(this.inChunkSize, length - s.received);
    if (b.length < at + take) return false;
    // The whole chunk is here: commit the header, then its payload.
    if (startsMessage) {
      if (fmt === 0) {
        s.timestamp = tsField;
        s.delta = 0;
      } else if (fmt === 1 || fmt === 2) {
        s.delta = tsField;
        s.timestamp = (s.timestamp + tsField) >>> 0;
      } else s.timestamp = (s.timestamp + s.delta) >>> 0;
      s.length = length;
      s.type = type;
      s.streamId = streamId;
      s.extended = extended;
    }
    if (take > 0) s.parts.push(Buffer.from(b.subarray(at, at + take)));
    s.received += take;
    this.pending = b.subarray(at + take);
    if (s.received >= s.length) {
      const payload = s.parts.length === 1 ? s.parts[0]! : Buffer.concat(s.parts);
      s.parts = [];
      s.received = 0;
      this.onMessage(s.type, s.timestamp, s.streamId, payload);
    }
    return true;
  }

  private onMessage(type: number, timestamp: number, streamId: number, payload: Buffer): void {
    switch (type) {
      case 1: {
        if (payload.length < 4) throw new ProtocolError('bad_set_chunk_size');
        const size = payload.readUInt32BE(0) & 0x7fffffff;
        if (size < 1 || size > MAX_MESSAGE) throw new ProtocolError('bad_set_chunk_size');
        this.inChunkSize = size;
        return;
      }
      case 2: {
        if (payload.length >= 4) {
          const s = this.streams.get(payload.readUInt32BE(0));
          if (s) {
            s.parts = [];
            s.received = 0;
          }
        }
        return;
      }
      case 5:
        if (payload.length >= 4) this.peerWindow = Math.max(4096, payload.readUInt32BE(0));
        return;
      case 3:
      case 4:
      case 6:
        return;
      case 20:
        return this.onCommand(decodeAmf0(payload), streamId);
      case 17:
        // AMF3 command: a format byte, then AMF0 values (what encoders send in practice).
        return this.onCommand(decodeAmf0(payload.subarray(1)), streamId);
      case 8:
      case 9:
      case 18:
        if (this.publishing !== 'yes') {
          if (type === 18) return; // metadata before publish is harmless; media is not
          throw new ProtocolError('media_before_publish');
        }
        this.hooks.media(type, timestamp, payload);
        return;
      default:
        return; // shared objects, aggregates and others a publisher has no business with: ignored
    }
  }

  private onCommand(values: Amf0Value[], streamId: number): void {
    const [name, txid] = values;
    if (typeof name !== 'string') throw new ProtocolError('bad_command');
    const tx = typeof txid === 'number' ? txid : 0;
    switch (name) {
      case 'connect': {
        const cmd = values[2];
        const app = cmd && typeof cmd === 'object' && !Array.isArray(cmd) && !(cmd instanceof Date) ? cmd.app : undefined;
        if (typeof app !== 'string') throw new ProtocolError('connect_without_app');
        this.app = app.replace(/\/+$/, '');
        this.sendControl(5, u32(WINDOW_ACK_SIZE));
        this.sendControl(6, Buffer.concat([u32(WINDOW_ACK_SIZE), Buffer.from([2])]));
        this.sendControl(1, u32(OUR_CHUNK_SIZE));
        this.outChunkSize = OUR_CHUNK_SIZE;
        this.sendCommand(
          0,
          '_result',
          tx,
          { fmsVer: 'FMS/3,0,1,123', capabilities: 31 },
          { level: 'status', code: 'NetConnection.Connect.Success', description: 'Connection succeeded.', objectEncoding: 0 },
        );
        return;
      }
      case 'createStream':
        this.sendCommand(0, '_result', tx, null, 1);
        return;
      case 'releaseStream':
      case 'FCPublish':
      case 'FCUnpublish':
      case 'getStreamLength':
        this.sendCommand(0, '_result', tx, null, undefined);
        return;
      case 'publish': {
        const raw = values[3];
        if (this.app === undefined || typeof raw !== 'string') throw new ProtocolError('publish_before_connect');
        if (this.publishing !== 'no') throw new ProtocolError('second_publish');
        this.publishing = 'asking';
        // `live` + key, or `live/<key>` split by the client either way; a query string is not the key.
        const streamName = raw.split('?')[0]!;
        void this.hooks.publish(this.app, streamName).then(
          (verdict) => this.answerPublish(verdict, streamId || 1, streamName),
          () => this.close('publish_check_failed', { code: 'NetStream.Publish.Failed', description: 'internal error' }),
        );
        return;
      }
      case 'deleteStream':
      case 'closeStream':
        this.close('publisher_unpublished');
        return;
      default:
        return; // play, seek and friends: a publisher port does not serve them
    }
  }

  private answerPublish(verdict: PublishVerdict, streamId: number, streamName: string): void {
    if (this.phase === 'closed') return;
    if (!verdict.ok) {
      this.sendCommand(0, '_error', 0, null, { level: 'error', code: 'NetConnection.Connect.Rejected', description: verdict.description });
      this.close(verdict.code, { code: 'NetStream.Publish.BadName', description: verdict.description });
      return;
    }
    clearTimeout(this.deadline);
    this.publishing = 'yes';
    this.sendCommand(streamId, 'onStatus', 0, null, {
      level: 'status',
      code: 'NetStream.Publish.Start',
      description: `${streamName.length > 8 ? `${streamName.slice(0, 6)}…` : 'stream'} is now published.`,
    });
  }

  private outChunkSize = 128;

  private sendControl(type: number, payload: Buffer): void {
    this.sendMessage(2, type, 0, payload);
  }

  private sendCommand(streamId: number, ...values: Amf0Value[]): void {
    this.sendMessage(streamId === 0 ? 3 : 5, 20, streamId, encodeAmf0(...values));
  }

  /** Writes one message as a fmt-0 chunk followed by fmt-3 continuation chunks (csid < 64). */
  private sendMessage(csid: number, type: number, streamId: number, payload: Buffer): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    const header = Buffer.alloc(12);
    header[0] = csid;
    header.writeUIntBE(0, 1, 3);
    header.writeUIntBE(payload.length, 4, 3);
    header[7] = type;
    header.writeUInt32LE(streamId, 8);
    const parts: Buffer[] = [header];
    for (let at = 0; at < payload.length; at += this.outChunkSize) {
      if (at > 0) parts.push(Buffer.from([0xc0 | csid]));
      parts.push(payload.subarray(at, at + this.outChunkSize));
    }
    this.socket.write(Buffer.concat(parts));
  }
}

class ProtocolError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
