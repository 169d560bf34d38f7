// SRT ingest: one UDP port for every stream, callers in caller mode with the stream key in
// `streamid` (plain `<key>`, or the SRT Access Control form `#!::r=<key>,m=publish`), with
// SRT_PASSPHRASE enforced by libsrt when set. libsrt lives in a small C helper
// (sfu/native/srt-ingest.c, compiled with the machine's cc on first use) that this module spawns,
// owns and talks to over pipes: the helper asks for a verdict on each caller during the handshake,
// and the key is checked here (`authorize`, then the media plane's 409) before the handshake
// completes, so a refused caller costs no stream and no process. An accepted caller's MPEG-TS is
// checked (its PMT: H.264 video only) and then fed to one ContributionEncoder per stream, exactly
// as RTMP's FLV is. Any of connection, encoder and stream ending ends the other two, except a
// publisher that drops off: as with RTMP, an encoder that reconnects with the same key within
// PUBLISHER_TIMEOUT_MS resumes the same broadcast (same session, producers, directory entry and
// viewers; its encoder sends from the same local ports). SRT runs over UDP, so a dropped caller is
// only noticed by its silence: a caller for a live SRT stream whose publication has sent nothing for
// STALLED_MS takes it over, and a connection that libsrt ends after such a silence (its peer idle
// timeout) is kept for a reconnect; one that ends while media still flowed (the encoder's own close)
// ends the stream at once.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@onair/platform';
import type { MediaPlane } from '../media-plane.js';
import { isMediaError } from '../media-error.js';
import type { RtpIngestSession } from '../rtp-ingest-session.js';
import { type ContributionEncoder, type LadderOutput, startContributionEncoder } from './contribution-encoder.js';
import { type ContributionBroadcast, type EncoderLocalPorts, ParkedBroadcasts } from './parked-broadcasts.js';
import type { IngestAuthorizer } from './rtmp-listener.js';
import { readTsProgram, tsVideoCodecName } from './ts-program.js';

export interface SrtListenerOptions {
  /** An IPv4 address (the helper binds IPv4 only). */
  host: string;
  /** 0: an ephemeral port (read `port` after start). */
  port: number;
  passphrase: string | undefined;
  /** The receive latency asked of callers (SRTO_LATENCY, ms); undefined: libsrt's default (120). */
  latencyMs?: number;
  /** Callers one address may have connecting or publishing at once (default 8). */
  maxCallersPerAddress?: number;
  ffmpegPath: string;
  /** The HLS/DASH renditions the contribution encoder also writes (undefined: HLS is off). */
  ladder?: LadderOutput;
}

const SOURCE = fileURLToPath(new URL('../../native/srt-ingest.c', import.meta.url)); // from src/ingest and dist/ingest alike
const BINARY = fileURLToPath(new URL('../../dist/native/srt-ingest', import.meta.url));
const SETPRIV = '/usr/bin/setpriv';
/** An accepted caller that has not completed its handshake after this (e.g. a wrong passphrase) is forgotten. */
const CONNECT_TIMEOUT_MS = 5000;
/** MPEG-TS kept while looking for the PMT (the codec check) before giving up. */
const MAX_PROBE_BYTES = 2 * 1024 * 1024;
/**
 * A publication silent this long has lost its encoder: a caller with its key may take it over, and
 * a connection that then ends is kept for a reconnect. A live encoder sends many packets a second
 * (one per 1316 bytes of MPEG-TS), so a second of nothing is no pause between packets.
 */
const STALLED_MS = 1000;

/** Builds the helper when missing or older than its source; throws with the compiler's message. */
export function buildSrtHelper(): string {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return BINARY;
  mkdirSync(dirname(BINARY), { recursive: true });
  const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'srt'], { encoding: 'utf8' }).trim().split(/\s+/);
  execFileSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', BINARY, SOURCE, ...flags, '-lpthread'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return BINARY;
}

/** The IP of a caller's "ip:port" (IPv4: the helper listens on IPv4 only). */
function addressOf(remote: string): string {
  const colon = remote.lastIndexOf(':');
  return colon < 0 ? remote : remote.slice(0, colon);
}
/** The stream key in an SRT streamid: `<key>` or `#!::r=<key>,m=publish` (ffmpeg sends it URL-encoded). */
export function streamKeyFromStreamId(raw: string): { key: string } | { refused: string } {
  let sid = raw;
  if (sid.includes('%')) {
    try {
      sid = decodeURIComponent(sid);
    } catch {
      return { refused: 'malformed streamid' };
    }
  }
  if (!sid.startsWith('#!::')) return sid ? { key: sid } : { refused: 'the streamid (the stream key) is missing' };
  const fields = new Map<string, string>();
  for (const part of sid.slice(4).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const mode = fields.get('m') ?? 'request';
  if (mode !== 'publish') return { refused: `this port takes publishers only (m=publish), not m=${mode}` };
  const key = fields.get('r');
  return key ? { key } : { refused: 'the streamid has no r=<stream key>' };
}

export class SrtListener {
  private readonly publications = new Map<number, SrtPublication>();
  /** Callers whose key was accepted and whose handshake is completing. */
  private readonly admitted = new Map<number, { streamId: string; remote: string }>();
  /** Callers whose key is being checked now, and their address (the per-address limit counts them). */
  private readonly checking = new Map<number, string>();
  /** Connections that ended while their stream was opening. */
  private readonly gone = new Set<number>();
  /** Streams whose publisher dropped off and may reconnect within the publisher timeout. */
  private readonly parked = new ParkedBroadcasts();
  private pending: Buffer = Buffer.alloc(0);
  private closed = false;
  private exited: Promise<void>;

  private constructor(
    private readonly helper: ChildProcess,
    readonly port: number,
    private readonly media: MediaPlane,
    private readonly authorize: IngestAuthorizer,
    private readonly opts: SrtListenerOptions,
    private readonly log: Logger,
    first: Buffer,
  ) {
    this.exited = new Promise((resolve) => helper.once('close', () => resolve()));
    helper.stdout!.on('data', (d: Buffer) => this.receive(d));
    helper.once('close', (code, signal) => {
      for (const p of [...this.publications.values()]) p.connectionClosed('srt_listener_gone');
      if (!this.closed) log.error({ code, signal }, 'srt ingest helper exited: SRT ingest is down');
    });
    if (first.length) this.receive(first);
  }

  static async start(media: MediaPlane, authorize: IngestAuthorizer, opts: SrtListenerOptions, log: Logger): Promise<SrtListener> {
    const binary = buildSrtHelper();
    const args = [opts.host, String(opts.port)];
    const pdeathsig = existsSync(SETPRIV);
    const helper = spawn(pdeathsig ? SETPRIV : binary, pdeathsig ? ['--pdeathsig', 'KILL', '--', binary, ...args] : args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ONAIR_SRT_PASSPHRASE: opts.passphrase ?? '', ONAIR_SRT_LATENCY_MS: String(opts.latencyMs ?? '') },
    });
    helper.stdin!.on('error', () => {});
    let stderr = '';
    helper.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    // The first frame says the port it listens on (or the helper exits saying why not).
    const { port, rest } = await new Promise<{ port: number; rest: Buffer }>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 9) return;
        const len = buf.readUInt32BE(5);
        if (buf.length < 9 + len) return;
        helper.stdout!.off('data', onData);
        helper.off('close', onClose);
        if (buf[0] !== 0x4c) return reject(new Error('srt helper spoke out of turn'));
        resolve({ port: Number(buf.subarray(9, 9 + len).toString()), rest: buf.subarray(9 + len) });
      };
      const onClose = (code: number | null) => reject(new Error(`srt helper exited (${code}): ${stderr.trim()}`));
      helper.stdout!.on('data', onData);
      helper.once('close', onClose);
    });
    return new SrtListener(helper, port, media, authorize, opts, log.child({ ingest: 'srt' }), rest);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.publications.values()]) p.connectionClosed('node_shutdown');
    this.parked.closeAll('node_shutdown');
    this.helper.stdin!.end(); // the helper exits when its stdin ends
    const force = setTimeout(() => this.helper.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(force);
  }

  /** The receive latency (ms) libsrt agreed with the caller publishing `streamId` now, if one is. */
  latencyOf(streamId: string): number | undefined {
    for (const p of this.publications.values()) if (p.streamId === streamId) return p.latencyMs;
    return undefined;
  }

  /** Tells the helper to hang up on a connection (its publication ended). */
  hangUp(id: number): void {
    if (!this.closed) this.helper.stdin!.write(`close ${id}\n`);
  }

  private receive(data: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    while (this.pending.length >= 9) {
      const len = this.pending.readUInt32BE(5);
      if (this.pending.length < 9 + len) return;
      const type = String.fromCharCode(this.pending[0]!);
      const id = this.pending.readUInt32BE(1);
      const payload = this.pending.subarray(9, 9 + len);
      this.pending = this.pending.subarray(9 + len);
      if (type === 'D') this.publications.get(id)?.data(payload);
      else if (type === 'A') void this.admit(id, payload);
      else if (type === 'O') void this.open(id, Number(payload.toString()) || undefined);
      else if (type === 'C') {
        const p = this.publications.get(id);
        this.publications.delete(id);
        if (p) p.connectionClosed(payload.toString() === 'peer_closed' ? 'publisher_disconnected' : payload.toString());
        else if (!this.admitted.delete(id) && payload.toString() !== 'closed_by_node') this.gone.add(id);
      }
    }
  }

  /** The key check for a caller still in its handshake: the helper waits for our verdict. */
  private async admit(id: number, payload: Buffer): Promise<void> {
    const zero = payload.indexOf(0);
    const streamid = payload.subarray(0, zero < 0 ? payload.length : zero).toString();
    const remote = zero < 0 ? '?' : payload.subarray(zero + 1).toString();
    const refuse = (code: string, why: string, streamId?: string) => {
      this.log.warn({ remote, code, streamId }, `srt publish refused: ${why}`);
      if (!this.closed) this.helper.stdin!.write(`reject ${id}\n`);
    };
    // Before the key is looked up: an address's callers being checked, admitted or publishing.
    const address = addressOf(remote);
    if (this.callersFrom(address) >= (this.opts.maxCallersPerAddress ?? 8)) {
      return refuse('too_many_from_address', 'too many SRT callers from this address');
    }
    this.checking.set(id, address);
    try {
      await this.check(id, streamid, remote, refuse);
    } finally {
      this.checking.delete(id);
    }
  }

  /** Callers from `address` (an IP) being checked, admitted or publishing now. */
  private callersFrom(address: string): number {
    let n = 0;
    for (const a of this.checking.values()) if (a === address) n++;
    for (const a of this.admitted.values()) if (addressOf(a.remote) === address) n++;
    for (const p of this.publications.values()) if (addressOf(p.remote) === address) n++;
    return n;
  }

  /** The streamid, the key and the stream's state decide; `accept` or `reject` goes to the helper. */
  private async check(
    id: number,
    streamid: string,
    remote: string,
    refuse: (code: string, why: string, streamId?: string) => void,
  ): Promise<void> {
    const parsed = streamKeyFromStreamId(streamid);
    if ('refused' in parsed) return refuse('bad_streamid', parsed.refused);
    const auth = await this.authorize(parsed.key, remote, 'srt').catch((err: unknown) => {
      this.log.error({ err }, 'srt publish check failed');
      return { ok: false as const, code: 'internal_error', message: 'the stream key could not be checked' };
    });
    if (!auth.ok) return refuse(auth.code, auth.message);
    if (this.media.isBroadcasting(auth.streamId) && !this.resumable(auth.streamId)) {
      return refuse('stream_already_live', 'this stream is already being published; end that first', auth.streamId);
    }
    // The stream opens once the handshake completes ('O'): a caller that then fails it (a wrong
    // passphrase is checked after this verdict) must not hold the stream.
    this.admitted.set(id, { streamId: auth.streamId, remote });
    setTimeout(() => this.admitted.delete(id), CONNECT_TIMEOUT_MS).unref();
    if (!this.closed) this.helper.stdin!.write(`accept ${id}\n`);
  }

  /** The live SRT publication of a stream whose encoder went silent (a caller with its key may take it over). */
  private stalledPublication(streamId: string): SrtPublication | undefined {
    for (const p of this.publications.values()) if (p.streamId === streamId && p.silentMs() >= STALLED_MS) return p;
    return undefined;
  }

  /** Whether a caller for this live stream resumes it (its publisher dropped off) rather than being refused. */
  private resumable(streamId: string): boolean {
    return this.parked.has(streamId) || this.stalledPublication(streamId) !== undefined;
  }

  /**
   * A caller we accepted completed its handshake: open (or resume) its stream (409-equivalent if
   * someone beat it). `latencyMs` is the receive latency it and the listener agreed on.
   */
  private async open(id: number, latencyMs: number | undefined): Promise<void> {
    const admitted = this.admitted.get(id);
    this.admitted.delete(id);
    if (!admitted) return this.hangUp(id);
    const { streamId, remote } = admitted;
    let session: RtpIngestSession;
    let localPorts: EncoderLocalPorts;
    const stalled = this.stalledPublication(streamId);
    if (stalled && !stalled.session.closed) {
      // The new connection arrived before libsrt gave up on the old one: that one is silent, so hung up.
      ({ session, localPorts } = stalled.handOver());
      session.encoderRestarted();
      this.log.info(
        { remote, streamId, sessionId: session.id },
        'srt publisher reconnected (its old connection had gone silent): the broadcast resumes',
      );
    } else {
      let broadcast: ContributionBroadcast & { resumed: boolean };
      try {
        broadcast = await this.parked.resumeOrPublish(this.media, streamId);
      } catch (err) {
        const code = isMediaError(err) ? err.code : 'internal_error';
        this.log.warn({ remote, code, streamId }, `srt publish refused: ${(err as Error).message}`);
        return this.hangUp(id);
      }
      ({ session, localPorts } = broadcast);
      if (broadcast.resumed) this.log.info({ remote, streamId, sessionId: session.id }, 'srt publisher reconnected: the broadcast resumes');
    }
    if (this.gone.delete(id)) {
      session.close('publisher_disconnected'); // it left while the stream opened
      return;
    }
    const publication = new SrtPublication(id, streamId, remote, session, localPorts, this, this.opts, this.log.child({ streamId }));
    this.publications.set(id, publication);
    publication.latencyMs = latencyMs;
    publication.onDropped = () => {
      if (!this.closed) this.parked.park(streamId, { session, localPorts });
    };
    publication.onEnded = () => this.publications.delete(id);
    this.log.info({ remote, streamId, sessionId: session.id, latencyMs }, 'srt publisher connected');
  }
}

/**
 * One accepted SRT caller: its MPEG-TS to the stream's encoder. Owns the encoder; ends with the
 * connection and the stream, except that a dropped caller leaves the stream to its reconnect.
 */
class SrtPublication {
  /** The receive latency (ms) libsrt agreed for this connection. */
  latencyMs: number | undefined;
  onEnded: () => void = () => {};
  /** The connection dropped after a silence: the owner keeps the stream for a reconnect. */
  onDropped: () => void = () => {};
  private encoder: ContributionEncoder | undefined;
  private probe: Buffer[] = [];
  private probeBytes = 0;
  private ended = false;
  private lastDataAt = Date.now();

  constructor(
    private readonly id: number,
    readonly streamId: string,
    readonly remote: string,
    readonly session: RtpIngestSession,
    private readonly localPorts: EncoderLocalPorts,
    private readonly listener: SrtListener,
    private readonly opts: SrtListenerOptions,
    private readonly log: Logger,
  ) {
    session.once('closed', (reason) => this.end(reason));
  }

  /** Milliseconds since the caller last sent media. */
  silentMs(): number {
    return Date.now() - this.lastDataAt;
  }

  data(chunk: Buffer): void {
    if (this.ended) return;
    this.lastDataAt = Date.now();
    if (this.encoder) {
      this.encoder.write(chunk);
      return;
    }
    this.probe.push(chunk);
    this.probeBytes += chunk.length;
    const all = Buffer.concat(this.probe);
    this.probe = [all];
    const program = readTsProgram(all);
    if (!program) {
      if (this.probeBytes > MAX_PROBE_BYTES) {
        this.log.error({ remote: this.remote }, 'srt stream refused: no MPEG-TS program table (PMT) found');
        this.session.close('not_mpegts');
      }
      return;
    }
    const video = program.videoTypes[0];
    if (video !== 0x1b) {
      const codec = video === undefined ? 'none' : tsVideoCodecName(video);
      this.log.error({ remote: this.remote, codec }, `srt stream refused: video codec ${codec} is not supported; send H.264`);
      this.session.close('unsupported_codec');
      return;
    }
    const audio = program.audioTypes.length > 0;
    const encoder = startContributionEncoder({
      ffmpegPath: this.opts.ffmpegPath,
      input: 'mpegts',
      session: this.session,
      localPorts: this.localPorts,
      audio,
      ladder: this.opts.ladder,
      protocol: 'srt',
      log: this.log,
      stillWanted: () => !this.ended,
    });
    this.encoder = encoder;
    encoder.write(all);
    this.probe = [];
  }

  /**
   * The connection ended. After a silence (libsrt's peer idle timeout: the encoder is gone, not
   * stopped) the stream waits for a reconnect within the publisher timeout; an encoder that closed
   * its connection while still sending (stop) or anything else (shutdown) ends the stream now.
   */
  connectionClosed(reason: string): void {
    if (reason === 'publisher_disconnected' && this.encoder && !this.session.closed && !this.ended && this.silentMs() >= STALLED_MS) {
      this.log.info({ remote: this.remote, silentMs: this.silentMs() }, 'srt publisher dropped off: keeping the stream for a reconnect');
      this.end('publisher_dropped');
      this.onDropped();
      return;
    }
    this.session.close(reason);
    this.end(reason);
  }

  /** A reconnected caller takes the stream over: this (silent) connection and its encoder end, the session stays. */
  handOver(): { session: RtpIngestSession; localPorts: EncoderLocalPorts } {
    this.end('publisher_reconnected');
    return { session: this.session, localPorts: this.localPorts };
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.probe = [];
    this.log.info({ reason, encoderStderr: this.encoder?.stderr || undefined }, 'srt publication ended');
    void this.encoder?.stop();
    this.listener.hangUp(this.id);
    this.onEnded();
  }
}
