// Real ffmpeg for the packager tests, with the per-output arguments the product uses: one
// video-only fMP4/CMAF output per rendition and one AAC-only output, each on its own pipe. Either
// live (-re, bytes written into a CmafPackager as they come) or recorded as fast as possible into
// buffers that a test replays with arbitrary chunk boundaries. Each runner owns its child process.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { CmafPackager, PackagerTrack } from '@onair/hls-fallback';

export interface Rendition {
  name: string;
  height: number;
  kbps: number;
}

export const LADDER_720: Rendition[] = [
  { name: '720p', height: 720, kbps: 2500 },
  { name: '480p', height: 480, kbps: 1200 },
  { name: '240p', height: 240, kbps: 400 },
];
/** cheaper ladder for protocol tests on a shared 2-core machine */
export const LADDER_SMALL: Rendition[] = [
  { name: '360p', height: 360, kbps: 800 },
  { name: '180p', height: 180, kbps: 250 },
];

export function tracksOf(ladder: Rendition[]): PackagerTrack[] {
  return [
    ...ladder.map((r) => ({ kind: 'video' as const, name: r.name, bandwidth: r.kbps * 1000 })),
    { kind: 'audio' as const, name: 'audio', bandwidth: 96_000 },
  ];
}

const CMAF = [
  '-f',
  'mp4',
  '-movflags',
  '+frag_keyframe+empty_moov+delay_moov+default_base_moof+cmaf',
  '-frag_duration',
  '200000',
  '-flush_packets',
  '1',
];

export function ffmpegArgs(ladder: Rendition[], opts: { realtime: boolean; seconds?: number }): string[] {
  const re = opts.realtime ? ['-re'] : [];
  const t = opts.seconds ? ['-t', String(opts.seconds)] : [];
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    ...re,
    ...t,
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=1280x720:rate=30',
    ...re,
    ...t,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-filter_complex',
    `[0:v]split=${ladder.length}${ladder.map((_, i) => `[s${i}]`).join('')};` +
      ladder.map((r, i) => `[s${i}]scale=-2:${r.height}[v${i}]`).join(';'),
  ];
  ladder.forEach((r, i) => {
    args.push(
      '-map',
      `[v${i}]`,
      '-an',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-tune',
      'zerolatency',
      '-profile:v',
      'main',
      '-bf',
      '0',
      '-g',
      '30',
      '-keyint_min',
      '30',
      '-sc_threshold',
      '0',
      '-force_key_frames',
      'expr:gte(t,n_forced*1)',
      '-b:v',
      `${r.kbps}k`,
      '-maxrate',
      `${r.kbps}k`,
      '-bufsize',
      `${r.kbps}k`,
      ...CMAF,
      `pipe:${3 + i}`,
    );
  });
  args.push('-map', '1:a', '-vn', '-c:a', 'aac', '-b:a', '96k', '-ar', '48000', '-ac', '2', ...CMAF, `pipe:${3 + ladder.length}`);
  return args;
}

function spawnFfmpeg(
  ladder: Rendition[],
  opts: { realtime: boolean; seconds?: number },
): { child: ChildProcess; outputs: Readable[]; stderr: () => string } {
  const n = ladder.length + 1;
  const child = spawn('ffmpeg', ffmpegArgs(ladder, opts), {
    stdio: ['ignore', 'ignore', 'pipe', ...Array.from({ length: n }, () => 'pipe' as const)],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const outputs = Array.from({ length: n }, (_, i) => child.stdio[3 + i] as Readable);
  return { child, outputs, stderr: () => err };
}

/** A live ffmpeg writing into a packager; stop() kills it and waits for the exit. */
export class LiveEncoder {
  private child: ChildProcess | undefined;
  constructor(
    private readonly packager: CmafPackager,
    private readonly ladder: Rendition[],
  ) {}

  start(): this {
    const { child, outputs } = spawnFfmpeg(this.ladder, { realtime: true });
    this.child = child;
    outputs.forEach((o, i) =>
      o.on('data', (d: Buffer) => {
        if (this.child === child) this.packager.write(i, d);
      }),
    );
    return this;
  }

  /** Kills ffmpeg (SIGKILL: a crash) and resolves once it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

/** Runs ffmpeg without -re for `seconds` of media and returns each output's bytes. */
export async function recordOutputs(ladder: Rendition[], seconds: number): Promise<Buffer[]> {
  const { child, outputs, stderr } = spawnFfmpeg(ladder, { realtime: false, seconds });
  const chunks = outputs.map(() => [] as Buffer[]);
  outputs.forEach((o, i) => o.on('data', (d: Buffer) => chunks[i]!.push(d)));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`ffmpeg exited with ${code}: ${stderr()}`);
  return chunks.map((c) => Buffer.concat(c));
}

/**
 * Writes recorded outputs into a packager in odd-sized chunks, interleaving the tracks by their
 * progress so parts arrive in about the order a live encoder delivers them: the largest output
 * goes `chunkBytes` at a time, the others by the same share of their size (the audio, cut to
 * follow the video, must not run seconds ahead of it).
 */
export function replay(packager: CmafPackager, outputs: Buffer[], chunkBytes = 7_777): void {
  const pos = outputs.map(() => 0);
  const rounds = Math.max(1, ...outputs.map((b) => Math.ceil(b.length / chunkBytes)));
  for (;;) {
    let progressed = false;
    outputs.forEach((buf, i) => {
      // advance each track by a share of its size so all end together
      const share = Math.max(1, Math.ceil(buf.length / rounds));
      const at = pos[i]!;
      if (at >= buf.length) return;
      const end = Math.min(buf.length, at + share);
      packager.write(i, buf.subarray(at, end));
      pos[i] = end;
      progressed = true;
    });
    if (!progressed) return;
  }
}
