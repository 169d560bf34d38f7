// The ffmpeg that turns one RTMP or SRT contribution into what WebRTC carries: it reads the
// contribution (FLV or MPEG-TS) on stdin, decodes it once and sends H.264 constrained baseline
// without B-frames (browsers' WebRTC cannot reorder frames) in simulcast layers (source up to 720p,
// 2/3 and 1/2 of it) and Opus (WebRTC has no AAC) as RTP to the stream's RtpIngestSession, under
// the payload types and SSRCs the session expects. With a ladder output it also writes the stream's
// HLS/DASH renditions from the same decode: each layer's encoded frames, unchanged, as CMAF on a pipe
// of its own (ffmpeg's tee muxer: one encode, two muxers), AAC, and poster JPEGs, into the session's
// EncodedLadder; key frames are forced at the same instants in every layer, on the segment grid, so
// the renditions switch at segment boundaries. One process per publishing stream, spawned only
// after the stream key was accepted and the codec checked. It runs under `setpriv --pdeathsig KILL`
// and every live one is killed on exit, so it dies with the node even on SIGKILL; its owner (the
// contribution) stops it when the stream ends. Never restarted: an encoder that dies ends the
// broadcast (the publisher reconnects, as it would to any server).
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import type { Logger } from '@onair/platform';
import type { EncodedLadder, EncodedTrack } from './encoded-ladder.js';
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
  /** Also write the HLS/DASH renditions (undefined: HLS is off on this node). */
  ladder?: LadderOutput;
}

/** How the renditions for the HLS/DASH ladder are cut (the node's HLS settings). */
export interface LadderOutput {
  /** Duration of an fMP4 fragment (= an LL-HLS part), in milliseconds. */
  partMs: number;
  /** Duration of a segment, in milliseconds: key frames fall on its boundaries. */
  segmentMs: number;
  /** AAC bits per second. */
  audioBitrate: number;
  /** One poster JPEG every this many milliseconds (0: none). */
  posterIntervalMs: number;
  posterHeight: number;
}

/** The argv and, with a ladder output, which pipe (fd 3 on) carries which rendition. */
export interface ContributionCommand {
  args: string[];
  /** fd of each EncodedLadder track (video layers highest first, then audio). */
  trackFds: number[];
  tracks: EncodedTrack[];
  posterFd: number | undefined;
  /** Pipes after stdio 0-2. */
  pipes: number;
}

/** fragmented MP4 as the CMAF packager reads it (the same flags as the transcoding ladder's). */
const CMAF_MOVFLAGS = '+frag_keyframe+empty_moov+delay_moov+default_base_moof+cmaf';

/**
 * Seconds between forced key frames: at most 1 s (a WebRTC viewer joining or switching layers waits
 * that long at most, as ffmpeg does not answer PLIs), and a whole fraction of the segment so every
 * segment boundary is a key frame in every layer.
 */
export function keyFrameIntervalSec(segmentMs: number | undefined): number {
  if (!segmentMs) return 1;
  return segmentMs / Math.ceil(segmentMs / 1000) / 1000;
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

export function contributionEncoderArgs(o: ContributionEncoderOptions): ContributionCommand {
  // udp:// rather than rtp://: the RTP muxer then sends its RTCP on the same socket, and with
  // reuse=1 every layer's socket binds the same local port, so the transport sees one source.
  const rtpUrl = (t: RtpTarget, localPort?: number) =>
    `udp://${t.ip}:${t.port}?pkt_size=1200${localPort ? `&localport=${localPort}&reuse=1` : ''}`;
  const rtp = (t: RtpTarget, ssrc: number, localPort?: number) => [
    '-f',
    'rtp',
    '-payload_type',
    String(t.payloadType),
    '-ssrc',
    String(ssrc),
    rtpUrl(t, localPort),
  ];
  const ladder = o.ladder;
  const n = o.layers.length;
  const poster = ladder !== undefined && ladder.posterIntervalMs > 0;
  const branches = n + (poster ? 1 : 0);
  // Decode once, cap the top layer's height, then split and scale for the lower layers (and the poster).
  const graph = [
    `[0:v:0]scale=-2:'min(ih,${TOP_LAYER_MAX_HEIGHT})',format=yuv420p,split=${branches}${Array.from({ length: branches }, (_, i) => `[s${i}]`).join('')}`,
    ...o.layers.map((l, i) => (l.scale === 1 ? `[s${i}]null[v${i}]` : `[s${i}]scale=-2:'trunc(ih*${l.scale.toFixed(4)}/2)*2'[v${i}]`)),
    ...(poster ? [`[s${n}]fps=1000/${ladder.posterIntervalMs},scale=-2:'min(${ladder.posterHeight},ih)'[poster]`] : []),
  ].join(';');
  const keyFrameSec = keyFrameIntervalSec(ladder?.segmentMs);
  // Pipes from fd 3: the CMAF renditions highest layer first (the ladder's order), then AAC, then posters.
  let fd = 3;
  const layerFds = new Map<number, number>();
  const tracks: EncodedTrack[] = [];
  const trackFds: number[] = [];
  if (ladder) {
    for (let i = n - 1; i >= 0; i--) {
      layerFds.set(i, fd);
      tracks.push({ kind: 'video', bitrate: o.layers[i]!.maxBitrate });
      trackFds.push(fd++);
    }
  }
  const cmafSlave = (pipe: number) =>
    `[f=mp4:movflags=${CMAF_MOVFLAGS}:frag_duration=${ladder!.partMs * 1000}:flush_packets=1:onfail=ignore]pipe:${pipe}`;
  const video = o.layers.flatMap((l, i) => {
    const kbps = Math.round(l.maxBitrate / 1000);
    const fdOut = layerFds.get(i);
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
      // A key frame every second (or a whole fraction of the segment) in every layer, at the same
      // instants and nowhere else (no scene-cut key frames): a WebRTC viewer joining or switching
      // layers waits at most that, since ffmpeg does not answer the PLIs mediasoup forwards, and the
      // HLS renditions' segments start together.
      '-force_key_frames',
      `expr:gte(t,n_forced*${keyFrameSec})`,
      '-sc_threshold',
      '0',
      // Quality-capped rather than constant: a simple picture costs little at any layer, a busy one
      // is held to the layer's bitrate (what mediasoup's layer selection weighs against each viewer's BWE).
      '-crf',
      '23',
      '-maxrate',
      `${kbps}k`,
      '-bufsize',
      `${kbps}k`,
      ...(fdOut === undefined
        ? rtp(o.video, l.ssrc, o.videoLocalPort)
        : // One encode, two muxers: RTP for WebRTC and CMAF for the ladder; a ladder that stops
          // reading (onfail=ignore) never costs WebRTC viewers their picture.
          [
            '-f',
            'tee',
            `[f=rtp:payload_type=${o.video.payloadType}:ssrc=${l.ssrc}]${rtpUrl(o.video, o.videoLocalPort)}|${cmafSlave(fdOut)}`,
          ]),
    ];
  });
  const audio: string[] = [];
  if (o.audio) {
    audio.push(
      '-map',
      '0:a:0',
      '-c:a',
      'libopus',
      '-ar',
      '48000',
      '-ac',
      '2',
      '-b:a',
      '96k',
      ...rtp(o.audio, o.audio.ssrc, o.audioLocalPort),
    );
    if (ladder) {
      // The same decoded audio, encoded a second time as AAC (HLS players take no Opus in MPEG-TS-era
      // clients, and Safari's fMP4 HLS wants AAC): cheap beside the video.
      audio.push('-map', '0:a:0', '-c:a', 'aac', '-b:a', String(ladder.audioBitrate), '-ar', '48000', '-ac', '2');
      audio.push(
        '-f',
        'mp4',
        '-movflags',
        CMAF_MOVFLAGS,
        '-frag_duration',
        String(ladder.partMs * 1000),
        '-flush_packets',
        '1',
        `pipe:${fd}`,
      );
      tracks.push({ kind: 'audio', bitrate: ladder.audioBitrate });
      trackFds.push(fd++);
    }
  }
  let posterFd: number | undefined;
  if (poster) {
    audio.push('-map', '[poster]', '-c:v', 'mjpeg', '-q:v', '5', '-f', 'image2pipe', `pipe:${fd}`);
    posterFd = fd++;
  }
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    // Start on what the first second shows. Those packets are kept and worked through at once
    // (no `-fflags +nobuffer`: with it the audio stayed a whole analysis window, 1 s, behind the
    // video for the stream's life, measured on the CMAF outputs; without it both run ~0.35 s behind
    // the input after the first second).
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
    ...audio,
  ];
  return { args, trackFds, tracks, posterFd, pipes: fd - 3 };
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

  constructor(opts: ContributionEncoderOptions, ladder?: EncodedLadder) {
    super();
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const c of live) c.kill('SIGKILL');
      });
    }
    const command = contributionEncoderArgs(opts);
    const { args } = command;
    const pdeathsig = existsSync(SETPRIV);
    const stdio: ('pipe' | 'ignore')[] = ['pipe', 'ignore', 'pipe', ...Array.from({ length: command.pipes }, () => 'pipe' as const)];
    this.child = spawn(pdeathsig ? SETPRIV : opts.ffmpegPath, pdeathsig ? ['--pdeathsig', 'KILL', '--', opts.ffmpegPath, ...args] : args, {
      stdio,
    });
    contributionEncoders.spawned++;
    live.add(this.child);
    if (ladder && opts.ladder) {
      ladder.begin(command.tracks);
      command.trackFds.forEach((fd, track) => {
        (this.child.stdio[fd] as Readable).on('data', (chunk: Buffer) => {
          if (!this.stopping) ladder.write(track, chunk);
        });
      });
      if (command.posterFd !== undefined) {
        (this.child.stdio[command.posterFd] as Readable).on('data', (chunk: Buffer) => {
          if (!this.stopping) ladder.poster(chunk);
        });
      }
    }
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
  /** Also write the stream's HLS/DASH renditions into the session's EncodedLadder (undefined: HLS off). */
  ladder?: LadderOutput;
  /** `rtmp` or `srt`, for the log lines */
  protocol: string;
  log: Logger;
  stillWanted: () => boolean;
}): ContributionEncoder {
  const encoder = new ContributionEncoder(
    {
      ffmpegPath: o.ffmpegPath,
      input: o.input,
      video: o.session.video,
      layers: o.session.layers,
      videoLocalPort: o.localPorts.video,
      audioLocalPort: o.localPorts.audio,
      audio: o.audio ? o.session.audio : undefined,
      ...(o.ladder ? { ladder: o.ladder } : {}),
    },
    o.session.encodedLadder,
  );
  o.session.touch();
  o.log.info({ pid: encoder.pid, audio: o.audio }, `${o.protocol} contribution encoder started`);
  encoder.on('exited', (why) => {
    if (!o.stillWanted()) return;
    o.log.error({ why }, `${o.protocol} contribution encoder exited: ending the stream`);
    o.session.close('encoder_exited');
  });
  return encoder;
}
