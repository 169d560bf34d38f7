// The ffmpeg that turns one RTMP or SRT contribution into what WebRTC carries: it reads the
// contribution (FLV or MPEG-TS) on stdin, decodes it once and sends H.264 constrained baseline
// without B-frames (browsers' WebRTC cannot reorder frames) in simulcast layers (source up to 720p,
// 2/3 and 1/2 of it) and Opus (WebRTC has no AAC) as RTP to the stream's RtpIngestSession, under the payload types and SSRCs the session expects. One process
// per publishing stream, spawned only after the stream key was accepted and the codec checked. It
// runs under `setpriv --pdeathsig KILL` and every live one is killed on exit, so it dies with the
// node even on SIGKILL; its owner (the contribution) stops it when the stream ends. Never restarted:
// an encoder that dies ends the broadcast (the publisher reconnects, as it would to any server).
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Logger } from '@onair/platform';
import { TOP_LAYER_MAX_HEIGHT, type RtpIngestSession, type RtpTarget, type VideoLayer } from '../rtp-ingest-session.js';

export type ContributionFormat = 'flv' | 'mpegts';

export interface ContributionEncoderOptions {
  ffmpegPath: string;
  input: ContributionFormat;
  video: RtpTarget;
  /** Simulcast layers, lowest first, all sent to `video` from `videoLocalPort`. */
  layers: VideoLayer[];
  /** The one local port every video layer is sent from (the comedia transport accepts one source). */
  videoLocalPort: number;
  /** Undefined: the contribution has no audio (ffmpeg fails on an output with nothing mapped). */
  audio: RtpTarget | undefined;
  /** The local port audio is sent from (fixed, so an encoder that replaces this one is accepted too). */
  audioLocalPort: number;
}

const SETPRIV = '/usr/bin/setpriv';
const live = new Set<ChildProcess>();
let exitHook = false;

/** Encoders spawned in this process so far and running now: refused publishers must spawn none. */
export const contributionEncoders = {
  spawned: 0,
  get running(): number {
    return live.size;
  },
  /** Process ids of the running encoders (benches sample their CPU). */
  pids(): number[] {
    return [...live].flatMap((c) => (c.pid ? [c.pid] : []));
  },
};

export function contributionEncoderArgs(o: ContributionEncoderOptions): string[] {
  // udp:// rather than rtp://: the RTP muxer then sends its RTCP on the same socket, and with
  // reuse=1 every layer's socket binds the same local port, so the transport sees one source.
  const rtp = (t: RtpTarget, ssrc: number, localPort?: number) => [
    '-f',
    'rtp',
    '-payload_type',
    String(t.payloadType),
    '-ssrc',
    String(ssrc),
    `udp://${t.ip}:${t.port}?pkt_size=1200${localPort ? `&localport=${localPort}&reuse=1` : ''}`,
  ];
  const n = o.layers.length;
  // Decode once, cap the top layer's height, then split and scale for the lower layers.
  const graph =
    `[0:v:0]scale=-2:'min(ih,${TOP_LAYER_MAX_HEIGHT})',format=yuv420p,split=${n}${o.layers.map((_, i) => `[s${i}]`).join('')};` +
    o.layers
      .map((l, i) => (l.scale === 1 ? `[s${i}]null[v${i}]` : `[s${i}]scale=-2:'trunc(ih*${l.scale.toFixed(4)}/2)*2'[v${i}]`))
      .join(';');
  const video = o.layers.flatMap((l, i) => {
    const kbps = Math.round(l.maxBitrate / 1000);
    return [
      '-map',
      `[v${i}]`,
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-tune',
      'zerolatency',
      '-profile:v',
      'baseline',
      '-bf',
      '0',
      // A key frame every second in every layer, at the same instants: a WebRTC viewer joining or
      // switching layers waits at most that, since ffmpeg does not answer the PLIs mediasoup forwards.
      '-force_key_frames',
      'expr:gte(t,n_forced*1)',
      // Quality-capped rather than constant: a simple picture costs little at any layer, a busy one
      // is held to the layer's bitrate (what mediasoup's layer selection weighs against each viewer's BWE).
      '-crf',
      '23',
      '-maxrate',
      `${kbps}k`,
      '-bufsize',
      `${kbps}k`,
      ...rtp(o.video, l.ssrc, o.videoLocalPort),
    ];
  });
  return [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    // Start on what the first second shows; a live input must not be buffered for analysis.
    '-fflags',
    '+nobuffer',
    '-probesize',
    '1000000',
    '-analyzeduration',
    '1000000',
    '-f',
    o.input,
    '-i',
    'pipe:0',
    '-filter_complex',
    graph,
    ...video,
    ...(o.audio
      ? ['-map', '0:a:0', '-c:a', 'libopus', '-ar', '48000', '-ac', '2', '-b:a', '96k', ...rtp(o.audio, o.audio.ssrc, o.audioLocalPort)]
      : []),
  ];
}

/** A local UDP port free now, for ffmpeg to send from (a race with another process only fails that encoder). */
export async function freeLocalUdpPort(ip: string): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, ip, () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export class ContributionEncoder extends EventEmitter<{ exited: [reason: string]; drain: [] }> {
  private readonly child: ChildProcess;
  private readonly stdin: Writable;
  private stopping = false;
  private stderrTail = '';
  private readonly done: Promise<void>;

  constructor(opts: ContributionEncoderOptions) {
    super();
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const c of live) c.kill('SIGKILL');
      });
    }
    const args = contributionEncoderArgs(opts);
    const pdeathsig = existsSync(SETPRIV);
    this.child = spawn(pdeathsig ? SETPRIV : opts.ffmpegPath, pdeathsig ? ['--pdeathsig', 'KILL', '--', opts.ffmpegPath, ...args] : args, {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    contributionEncoders.spawned++;
    live.add(this.child);
    this.stdin = this.child.stdin!;
    this.stdin.on('error', () => {}); // EPIPE when ffmpeg died: 'close' reports why
    this.stdin.on('drain', () => this.emit('drain'));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderrTail = (this.stderrTail + d).slice(-2000)));
    this.done = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.stderrTail += ` spawn failed: ${err.message}`;
      });
      this.child.once('close', (code, signal) => {
        live.delete(this.child);
        resolve();
        if (this.stopping) return;
        const why = this.stderrTail.trim().split('\n').slice(-2).join(' | ');
        this.emit('exited', why || `exit ${code ?? signal}`);
      });
    });
  }

  /** The end of ffmpeg's error output, for the log line that says why a stream ended. */
  get stderr(): string {
    return this.stderrTail.trim().slice(-500);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Writes contribution bytes; false means wait for 'drain' (ffmpeg is behind). */
  write(chunk: Buffer): boolean {
    if (this.stopping || this.stdin.destroyed) return true;
    return this.stdin.write(chunk);
  }

  /** Kills ffmpeg (SIGTERM, SIGKILL after 2 s) and resolves once it has exited; idempotent. */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.stdin.destroy();
      this.child.kill('SIGTERM');
      const force = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      void this.done.then(() => clearTimeout(force));
    }
    await this.done;
    this.removeAllListeners();
  }
}

/**
 * The encoder of one RTMP or SRT publication, feeding its RtpIngestSession (the session's targets and
 * layers, from the publication's fixed local ports). An encoder that exits while the publication
 * still wants it ends the broadcast (`encoder_exited`); the caller writes the contribution into it.
 */
export function startContributionEncoder(o: {
  ffmpegPath: string;
  input: ContributionFormat;
  session: RtpIngestSession;
  localPorts: { video: number; audio: number };
  audio: boolean;
  /** `rtmp` or `srt`, for the log lines */
  protocol: string;
  log: Logger;
  stillWanted: () => boolean;
}): ContributionEncoder {
  const encoder = new ContributionEncoder({
    ffmpegPath: o.ffmpegPath,
    input: o.input,
    video: o.session.video,
    layers: o.session.layers,
    videoLocalPort: o.localPorts.video,
    audioLocalPort: o.localPorts.audio,
    audio: o.audio ? o.session.audio : undefined,
  });
  o.session.touch();
  o.log.info({ pid: encoder.pid, audio: o.audio }, `${o.protocol} contribution encoder started`);
  encoder.on('exited', (why) => {
    if (!o.stillWanted()) return;
    o.log.error({ why }, `${o.protocol} contribution encoder exited: ending the stream`);
    o.session.close('encoder_exited');
  });
  return encoder;
}
