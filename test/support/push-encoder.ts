// ffmpeg as a streamer's encoder for the RTMP and SRT ingest tests and benches: a test picture and
// a tone, x264 with 2 B-frames (as OBS's default) and AAC, pushed as FLV over RTMP or MPEG-TS over
// SRT; one command line (pushEncoderArgs) with the benches' variations as options (size, bitrate,
// B-frames, zerolatency, a picture from stdin). Every one runs under `setpriv --pdeathsig KILL` and
// is killed when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';

export interface EncoderPush {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** Kills every encoder still pushing (afterAll). */
export function killEncoders(): void {
  for (const c of running) c.kill('SIGKILL');
}

/** What the streamer's encoder sends; defaults are OBS's x264 defaults at a test size. */
export interface PushOptions {
  url: string;
  format: 'flv' | 'mpegts';
  /** The test picture's size (ignored with `videoInput`). */
  size?: string;
  videoCodec?: 'libx264' | 'libx265';
  videoBitrate?: string;
  /** B-frames (OBS's x264 default: 2); 0 for a WebRTC-like encoder. */
  bFrames?: number;
  /** Key frame interval in frames. */
  gop?: number;
  /** x264 `-tune zerolatency`: no lookahead, no frame threads' delay (a low-latency encoder setting). */
  zeroLatency?: boolean;
  /** How long to push, in seconds. */
  seconds?: number;
  /** ffmpeg input options for the picture instead of the test pattern (e.g. raw frames on stdin). */
  videoInput?: string[];
  /** Muxer options before the output (e.g. MPEG-TS packing for a low-latency SRT encoder). */
  muxOptions?: string[];
  /** false: video only (no tone, no AAC). */
  audio?: boolean;
}

/** The streamer's ffmpeg command line: a test picture (or `videoInput`) and a tone, H.264 or HEVC + AAC, pushed live. */
export function pushEncoderArgs(o: PushOptions): string[] {
  const size = o.size ?? '640x360';
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    ...(o.videoInput ?? ['-re', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`]),
    ...(o.audio === false ? [] : ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000']),
    '-t',
    String(o.seconds ?? 120),
    '-c:v',
    o.videoCodec ?? 'libx264',
    '-preset',
    'veryfast',
    ...(o.zeroLatency ? ['-tune', 'zerolatency'] : []),
    '-bf',
    String(o.bFrames ?? 2),
    '-g',
    String(o.gop ?? 60),
    '-b:v',
    o.videoBitrate ?? '1000k',
    ...(o.audio === false ? [] : ['-c:a', 'aac', '-b:a', '96k']),
    ...(o.muxOptions ?? []),
    '-f',
    o.format,
    o.url,
  ];
}

/** Starts the streamer's encoder (under pdeathsig; killEncoders() and process exit kill it). */
export function spawnPush(o: PushOptions, stdin: 'ignore' | 'pipe' = 'ignore'): EncoderPush {
  const args = pushEncoderArgs(o);
  const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', 'ffmpeg', ...args], { stdio: [stdin, 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return { child, exited, stderr: () => stderr };
}

/** The tests' encoder: x264 with 2 B-frames (as OBS's default) + AAC, for up to 2 minutes (tests stop it earlier). */
export function pushEncoder(
  url: string,
  format: 'flv' | 'mpegts',
  size = '640x360',
  videoCodec: 'libx264' | 'libx265' = 'libx264',
): EncoderPush {
  return spawnPush({ url, format, size, videoCodec });
}
