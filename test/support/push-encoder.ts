// ffmpeg as a streamer's encoder for the RTMP and SRT ingest tests: a test picture and a tone,
// x264 with 2 B-frames (as OBS's default) and AAC, pushed as FLV over RTMP or MPEG-TS over SRT.
// Every one runs under `setpriv --pdeathsig KILL` and is killed when the test process exits.
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

export function pushEncoder(
  url: string,
  format: 'flv' | 'mpegts',
  size = '640x360',
  videoCodec: 'libx264' | 'libx265' = 'libx264',
): EncoderPush {
  // Pushing media (-re) for up to 2 minutes; tests stop it earlier.
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-re',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=30`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    '120',
    '-c:v',
    videoCodec,
    '-preset',
    'veryfast',
    '-bf',
    '2',
    '-g',
    '60',
    '-b:v',
    '1000k',
    '-c:a',
    'aac',
    '-b:a',
    '96k',
    '-f',
    format,
    url,
  ];
  const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', 'ffmpeg', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
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
