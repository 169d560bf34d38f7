// Learns the source picture size (and which codecs arrive) by running ffprobe on the RTP input for a
// few seconds, so the ladder can be chosen without upscaling. Needs a key frame to arrive: the caller
// requests one while this runs. Resolves `undefined` when nothing decodable arrived in time.
import { spawn } from 'node:child_process';

export interface ProbedSource {
  video: { codec: string; width: number; height: number } | undefined;
  audio: { codec: string } | undefined;
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
}

export function probeRtpSource(sdpPath: string, timeoutMs: number, ffprobe = 'ffprobe'): Promise<ProbedSource | undefined> {
  return new Promise((resolve) => {
    const args = ['-v', 'error', '-protocol_whitelist', 'file,udp,rtp', '-analyzeduration', '3M', '-probesize', '5M'];
    args.push('-show_entries', 'stream=codec_type,codec_name,width,height', '-of', 'json', sdpPath);
    const child = spawn(ffprobe, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    child.once('close', () => {
      clearTimeout(timer);
      let streams: FfprobeStream[] = [];
      try {
        streams = (JSON.parse(out) as { streams?: FfprobeStream[] }).streams ?? [];
      } catch {
        return resolve(undefined);
      }
      const v = streams.find((s) => s.codec_type === 'video' && s.width && s.height);
      const a = streams.find((s) => s.codec_type === 'audio');
      if (!v) return resolve(undefined);
      resolve({
        video: { codec: v.codec_name ?? '?', width: v.width!, height: v.height! },
        audio: a ? { codec: a.codec_name ?? '?' } : undefined,
      });
    });
  });
}
