// Builds the ffmpeg command line for one stream's ladder: decode the RTP input once, normalise the
// frame rate, split and scale per rendition, encode x264 with 1 s closed GOPs aligned across
// renditions (forced key frames on time), AAC audio, each track as fragmented CMAF on its own pipe
// (fd 3, 4, ...: video renditions, then audio), plus a poster JPEG stream on the last pipe.
// Pure: returns argv and the pipe layout; spawning is LadderEncoder's job.
import type { Rendition } from './ladder.js';

export interface EncodeSettings {
  preset: string;
  frameRate: number;
  /** Duration of an fMP4 fragment (= an LL-HLS part), in milliseconds. */
  partMs: number;
  /** Duration of a GOP (= a segment), in milliseconds. */
  segmentMs: number;
  audioBitrate: number;
  /** One poster frame every this many milliseconds; 0 disables the poster output. */
  posterIntervalMs: number;
  posterHeight: number;
}

export interface LadderCommand {
  args: string[];
  /** The fd of each video rendition's CMAF output, in ladder order. */
  videoFds: number[];
  audioFd: number | undefined;
  posterFd: number | undefined;
  /** Total pipes after stdio 0-2. */
  pipes: number;
}

const CMAF = ['-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+delay_moov+default_base_moof+cmaf', '-flush_packets', '1'];

export function ladderCommand(sdpPath: string, ladder: Rendition[], hasAudio: boolean, s: EncodeSettings): LadderCommand {
  const args = ['-hide_banner', '-loglevel', 'warning', '-nostats', '-nostdin'];
  args.push('-protocol_whitelist', 'file,udp,rtp', '-fflags', '+genpts', '-analyzeduration', '1M', '-probesize', '1M');
  args.push('-reorder_queue_size', '64', '-threads', '1', '-i', sdpPath);
  const poster = s.posterIntervalMs > 0;
  const branches = ladder.length + (poster ? 1 : 0);
  const labels = Array.from({ length: branches }, (_, i) => `[s${i}]`).join('');
  const graph = [`[0:v]fps=${s.frameRate},split=${branches}${labels}`];
  ladder.forEach((r, i) => graph.push(`[s${i}]scale=-2:${r.height}:flags=bicubic,format=yuv420p[v${i}]`));
  if (poster) graph.push(`[s${ladder.length}]fps=1000/${s.posterIntervalMs},scale=-2:'min(${s.posterHeight},ih)'[poster]`);
  args.push('-filter_complex', graph.join(';'));
  const gop = Math.max(1, Math.round((s.frameRate * s.segmentMs) / 1000));
  const fragUs = String(s.partMs * 1000); // the mp4 muxer takes microseconds
  const videoFds: number[] = [];
  let fd = 3;
  ladder.forEach((r, i) => {
    const rate = String(r.videoBitrate);
    args.push('-map', `[v${i}]`, '-c:v', 'libx264', '-preset', s.preset, '-tune', 'zerolatency', '-profile:v', 'main');
    args.push('-bf', '0', '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0');
    args.push('-force_key_frames', `expr:gte(t,n_forced*${s.segmentMs / 1000})`);
    args.push('-b:v', rate, '-maxrate', rate, '-bufsize', rate);
    args.push(...CMAF, '-frag_duration', fragUs, `pipe:${fd}`);
    videoFds.push(fd++);
  });
  let audioFd: number | undefined;
  if (hasAudio) {
    args.push('-map', '0:a:0', '-c:a', 'aac', '-b:a', String(s.audioBitrate), '-ar', '48000', '-ac', '2');
    args.push(...CMAF, '-frag_duration', fragUs, `pipe:${fd}`);
    audioFd = fd++;
  }
  let posterFd: number | undefined;
  if (poster) {
    args.push('-map', '[poster]', '-c:v', 'mjpeg', '-q:v', '5', '-f', 'image2pipe', `pipe:${fd}`);
    posterFd = fd++;
  }
  return { args, videoFds, audioFd, posterFd, pipes: fd - 3 };
}
