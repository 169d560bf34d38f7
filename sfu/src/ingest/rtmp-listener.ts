// RTMP ingest: one TCP port for every stream (`rtmp://host:port/live` + stream key, or
// `rtmp://host:port/live/<key>`). It owns the listening socket and every connection on it. A
// connection is asked for its stream key before anything is allocated: `authorize` (the caller's
// stream catalog) names the stream or refuses, and only then does the media plane open the stream
// (409-equivalent refusal when it is live from any protocol) and, on the first H.264 video message,
// an ffmpeg re-encodes the FLV to RTP for it (see ContributionEncoder). HEVC/AV1 (Enhanced RTMP) and
// other codecs are refused with a clear log line. Ending the stream (timeout, key rotation, node
// shutdown) closes the connection and kills ffmpeg; the publisher leaving ends the stream. It never
// reads the database or HTTP itself: stream keys are the `authorize` callback's business.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@onair/platform';
import type { MediaPlane } from '../media-plane.js';
import { isMediaError } from '../media-error.js';
import type { RtpIngestSession } from '../rtp-ingest-session.js';
import { decodeAmf0 } from './amf0.js';
import { type ContributionEncoder, type LadderOutput, startContributionEncoder } from './contribution-encoder.js';
import { type ContributionBroadcast, type EncoderLocalPorts, ParkedBroadcasts } from './parked-broadcasts.js';
import { RtmpConnection, type PublishVerdict, type RtmpMediaType } from './rtmp-connection.js';

export type IngestProtocol = 'rtmp' | 'srt';

/** The stream a key opens, or why not (`code` is logged; `message` goes back to the encoder). */
export type IngestAuthorization = { ok: true; streamId: string } | { ok: false; code: string; message: string };

export type IngestAuthorizer = (streamKey: string, remote: string, protocol: IngestProtocol) => Promise<IngestAuthorization>;

export interface RtmpListenerOptions {
  host: string;
  /** 0: an ephemeral port (read `port` after start). */
  port: number;
  ffmpegPath: string;
  /** The HLS/DASH renditions the contribution encoder also writes (undefined: HLS is off). */
  ladder?: LadderOutput;
  /** Connect + publish must complete within this. */
  handshakeTimeoutMs?: number;
  /** Connections one address may hold at once (publishing or not). */
  maxConnectionsPerAddress?: number;
}

/** The RTMP application publishers connect to (`rtmp://host/live`). */
export const RTMP_APP = 'live';
/** Media messages kept while waiting for the first video message (the codec check). */
const MAX_EARLY_MESSAGES = 512;

export class RtmpListener {
  private readonly connections = new Set<RtmpConnection>();
  private readonly perAddress = new Map<string, number>();
  /** Streams whose publisher dropped off and may reconnect within the publisher timeout. */
  private readonly parked = new ParkedBroadcasts();
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly media: MediaPlane,
    private readonly authorize: IngestAuthorizer,
    private readonly opts: RtmpListenerOptions,
    private readonly log: Logger,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(media: MediaPlane, authorize: IngestAuthorizer, opts: RtmpListenerOptions, log: Logger): Promise<RtmpListener> {
    const server = createServer({ pauseOnConnect: false });
    const listener = new RtmpListener(server, media, authorize, opts, log.child({ ingest: 'rtmp' }));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: opts.host, port: opts.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => log.error({ err }, 'rtmp listener error'));
    return listener;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Connections open now (handshaking or publishing), for tests and metrics. */
  get connectionCount(): number {
    return this.connections.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.connections]) c.close('node_shutdown');
    this.parked.closeAll('node_shutdown');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const address = socket.remoteAddress ?? '?';
    const held = this.perAddress.get(address) ?? 0;
    if (this.closed || held >= (this.opts.maxConnectionsPerAddress ?? 8)) {
      this.log.warn({ remote: `${address}:${socket.remotePort}` }, 'rtmp connection refused: too many from this address');
      socket.destroy();
      return;
    }
    this.perAddress.set(address, held + 1);
    let publication: RtmpPublication | undefined;
    const conn: RtmpConnection = new RtmpConnection(
      socket,
      {
        publish: async (app, name) => {
          const verdict = await this.admit(conn, app, name);
          if (!verdict.ok) return verdict;
          publication = verdict.publication;
          return { ok: true };
        },
        media: (type, ts, payload) => publication?.message(type, ts, payload),
        closed: (reason) => {
          this.connections.delete(conn);
          const n = (this.perAddress.get(address) ?? 1) - 1;
          if (n > 0) this.perAddress.set(address, n);
          else this.perAddress.delete(address);
          if (publication) publication.connectionClosed(reason);
          else if (reason !== 'peer_closed' && reason !== 'node_shutdown') {
            this.log.info({ remote: conn.remote, reason }, 'rtmp connection closed before publishing');
          }
        },
      },
      { handshakeTimeoutMs: this.opts.handshakeTimeoutMs ?? 10_000 },
    );
    this.connections.add(conn);
  }

  /** The key check, then the stream: nothing is allocated for a connection refused here. */
  private async admit(
    conn: RtmpConnection,
    app: string,
    streamName: string,
  ): Promise<{ ok: true; publication: RtmpPublication } | Extract<PublishVerdict, { ok: false }>> {
    const refuse = (code: string, description: string, streamId?: string) => {
      this.log.warn({ remote: conn.remote, code, streamId }, `rtmp publish refused: ${description}`);
      return { ok: false as const, code, description };
    };
    // `rtmp://host/live/<key>` with the key left empty arrives as app `live/<key>` from some clients.
    let key = streamName;
    if (app !== RTMP_APP) {
      const m = /^live\/(.+)$/.exec(app);
      if (!m) return refuse('unknown_app', `publish to rtmp://host:port/${RTMP_APP} with the stream key as the stream name`);
      key ||= m[1]!;
    }
    if (!key) return refuse('missing_stream_key', 'the stream key is missing');
    const auth = await this.authorize(key, conn.remote, 'rtmp');
    if (!auth.ok) return refuse(auth.code, auth.message);
    const streamId = auth.streamId;
    // A publisher that dropped off within the publisher timeout resumes its broadcast (ParkedBroadcasts).
    let broadcast: ContributionBroadcast & { resumed: boolean };
    try {
      broadcast = await this.parked.resumeOrPublish(this.media, streamId);
    } catch (err) {
      if (isMediaError(err)) return refuse(err.code, err.message, streamId);
      this.log.error({ err, streamId }, 'rtmp publish failed');
      return { ok: false, code: 'internal_error', description: 'the stream could not be opened' };
    }
    const { session, localPorts } = broadcast;
    if (broadcast.resumed) {
      this.log.info({ remote: conn.remote, streamId, sessionId: session.id }, 'rtmp publisher reconnected: the broadcast resumes');
    }
    const publication = new RtmpPublication(streamId, conn, session, localPorts, this.opts, this.log.child({ streamId }));
    publication.onDropped = () => {
      if (!this.closed) this.parked.park(streamId, { session, localPorts });
    };
    if (session.closed || conn.closed) {
      // The connection went away while the stream opened.
      publication.connectionClosed('peer_closed');
      return { ok: false, code: 'peer_closed', description: 'connection closed' };
    }
    this.log.info({ remote: conn.remote, streamId, sessionId: session.id }, 'rtmp publisher accepted');
    return { ok: true, publication };
  }
}

/**
 * One accepted RTMP publish: FLV built from the connection's messages is written to the stream's
 * encoder. Owns the encoder; ties the three lifetimes (connection, encoder, stream) so that any of
 * them ending ends the other two, once.
 */
class RtmpPublication {
  /** The connection dropped mid-broadcast: the owner keeps the stream for a reconnect. */
  onDropped: () => void = () => {};
  private encoder: ContributionEncoder | undefined;
  private early: { type: RtmpMediaType; ts: number; payload: Buffer }[] = [];
  private hasAudio = false;
  private metadataAudio: boolean | undefined;
  private ended = false;
  private baseTs: number | undefined;

  constructor(
    readonly streamId: string,
    private readonly conn: RtmpConnection,
    private readonly session: RtpIngestSession,
    private readonly localPorts: EncoderLocalPorts,
    private readonly opts: RtmpListenerOptions,
    private readonly log: Logger,
  ) {
    session.once('closed', (reason) => this.end(reason));
  }

  message(type: RtmpMediaType, ts: number, payload: Buffer): void {
    if (this.ended) return;
    if (this.encoder) return this.writeTag(type, ts, payload);
    if (type === 18) this.noteMetadata(payload);
    if (type === 8 && payload.length > 0) this.hasAudio = true;
    if (type === 9 && payload.length > 0) {
      const refusal = videoRefusal(payload);
      if (refusal) {
        this.log.error(
          { remote: this.conn.remote, codec: refusal },
          `rtmp stream refused: video codec ${refusal} is not supported; send H.264`,
        );
        this.session.close('unsupported_codec');
        return;
      }
      this.early.push({ type, ts, payload });
      this.startEncoder();
      return;
    }
    if (this.early.length >= MAX_EARLY_MESSAGES) {
      this.log.warn({ remote: this.conn.remote }, 'rtmp stream sent no video: ending it');
      this.session.close('no_video');
      return;
    }
    this.early.push({ type, ts, payload });
  }

  /**
   * The connection closed. A publisher that drops off mid-broadcast (TCP closed without
   * deleteStream) may reconnect within the publisher timeout and resume it; anything else (stop,
   * protocol error, shutdown) ends the stream now.
   */
  connectionClosed(reason: string): void {
    if (reason === 'peer_closed' && this.encoder && !this.session.closed && !this.ended) {
      this.log.info({ remote: this.conn.remote }, 'rtmp publisher dropped off: keeping the stream for a reconnect');
      this.end('publisher_dropped');
      this.onDropped();
      return;
    }
    this.session.close(reason === 'peer_closed' ? 'publisher_disconnected' : reason);
    this.end(reason);
  }

  private startEncoder(): void {
    const audio = this.metadataAudio ?? this.hasAudio;
    const encoder = startContributionEncoder({
      ffmpegPath: this.opts.ffmpegPath,
      input: 'flv',
      session: this.session,
      localPorts: this.localPorts,
      audio,
      ladder: this.opts.ladder,
      protocol: 'rtmp',
      log: this.log,
      stillWanted: () => !this.ended,
    });
    this.encoder = encoder;
    // TCP backpressure: a slow ffmpeg slows the encoder's socket instead of growing our memory.
    encoder.on('drain', () => this.conn.resume());
    const header = Buffer.from([0x46, 0x4c, 0x56, 0x01, audio ? 0x05 : 0x01, 0, 0, 0, 9, 0, 0, 0, 0]);
    encoder.write(header);
    for (const m of this.early) this.writeTag(m.type, m.ts, m.payload);
    this.early = [];
  }

  private writeTag(type: RtmpMediaType, ts: number, payload: Buffer): void {
    let data = payload;
    if (type === 18) {
      // `@setDataFrame` wraps the metadata on the wire; FLV files carry `onMetaData` bare.
      const unwrapped = unwrapSetDataFrame(payload);
      if (!unwrapped) return;
      data = unwrapped;
    }
    this.baseTs ??= ts;
    const t = Math.max(0, ts - this.baseTs) >>> 0;
    const tag = Buffer.alloc(11 + data.length + 4);
    tag[0] = type;
    tag.writeUIntBE(data.length, 1, 3);
    tag.writeUIntBE(t & 0xffffff, 4, 3);
    tag[7] = (t >>> 24) & 0xff;
    data.copy(tag, 11);
    tag.writeUInt32BE(11 + data.length, 11 + data.length);
    if (this.encoder && !this.encoder.write(tag)) this.conn.pause();
  }

  private noteMetadata(payload: Buffer): void {
    try {
      const values = decodeAmf0(payload);
      const meta = values.find((v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date));
      if (meta && typeof meta === 'object' && !Array.isArray(meta) && !(meta instanceof Date)) {
        this.metadataAudio = meta.audiocodecid !== undefined && meta.audiocodecid !== null && meta.audiocodecid !== 0 ? true : undefined;
      }
    } catch {
      // unreadable metadata: decide on the messages themselves
    }
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.early = [];
    this.log.info({ reason, encoderStderr: this.encoder?.stderr || undefined }, 'rtmp publication ended');
    void this.encoder?.stop();
    this.conn.close(reason, { code: 'NetStream.Publish.Stopped', description: `the stream ended: ${reason}` });
  }
}

/** Why a video message's codec cannot be ingested (undefined: H.264, go ahead). */
export function videoRefusal(payload: Buffer): string | undefined {
  const b = payload[0]!;
  if (b & 0x80) {
    // Enhanced RTMP: a FourCC follows the packet type (hvc1, av01, vp09).
    const fourcc = payload.subarray(1, 5).toString('latin1');
    const name = fourcc === 'hvc1' ? 'HEVC' : fourcc === 'av01' ? 'AV1' : fourcc === 'vp09' ? 'VP9' : fourcc;
    return `${name} (Enhanced RTMP)`;
  }
  const codecId = b & 0x0f;
  if (codecId === 7) return undefined;
  return codecId === 12 ? 'HEVC' : `FLV codec id ${codecId}`;
}

function unwrapSetDataFrame(payload: Buffer): Buffer | undefined {
  // 0x02, length 13, "@setDataFrame": then the bare onMetaData string and its array follow.
  const marker = Buffer.from('@setDataFrame');
  if (payload.length > 3 + marker.length && payload[0] === 0x02 && payload.subarray(3, 3 + marker.length).equals(marker)) {
    return payload.subarray(3 + marker.length);
  }
  return payload[0] === 0x02 ? payload : undefined;
}
