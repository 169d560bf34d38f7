// CPU per RTMP input: a real node (HLS on) receives a 720p30 H.264 stream with B-frames + AAC over
// RTMP from ffmpeg (as OBS sends it); the node's contribution encoder (FLV -> H.264 constrained
// baseline + Opus RTP for WebRTC) and its HLS ladder ffmpeg are sampled from /proc over a window,
// on the same run, so the two figures add up to the node's cost per RTMP input. The pushing ffmpeg
// is the streamer's encoder and is not charged. Knobs: INGEST_SECONDS (20), INGEST_SIZE (1280x720),
// HLS_MAX_RENDITIONS (3), HLS_PRESET (veryfast).
import { spawn } from 'node:child_process';
import { contributionEncoders } from '@onair/sfu';
import { machineBusyShare, machineTicks, processCpuSeconds } from './proc-cpu.js';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { machine, round, table } from './report.js';

const seconds = Number(process.env.INGEST_SECONDS ?? 20);
const size = process.env.INGEST_SIZE ?? '1280x720';
const TARGET_CORES = 0.6;

async function main(): Promise<void> {
  const node = await startTestNode({
    HLS_MODE: 'always',
    HLS_MAX_RENDITIONS: process.env.HLS_MAX_RENDITIONS ?? '3',
    HLS_PRESET: process.env.HLS_PRESET ?? 'veryfast',
  });
  const s = await createUserAndStream(node.url, 'ingest cpu');
  const url = `rtmp://127.0.0.1:${node.rtmp!.port}/live/${s.streamKey}`;
  // The streamer's encoder, under pdeathsig: x264 veryfast with 2 B-frames (OBS's default), AAC.
  const pusher = spawn(
    '/usr/bin/setpriv',
    [
      '--pdeathsig',
      'KILL',
      '--',
      'ffmpeg',
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
      'sine',
      '-t',
      String(seconds + 60),
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-bf',
      '2',
      '-g',
      '60',
      '-b:v',
      '2500k',
      '-c:a',
      'aac',
      '-f',
      'flv',
      url,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    await waitFor('the ladder to run', () => node.ladders?.get(s.id)?.state === 'running', 40_000);
    await new Promise((r) => setTimeout(r, 3000)); // past start-up
    const ladder = node.ladders!.get(s.id)!;
    const ladderPid = ladder.encoderPid!;
    const [contributionPid] = contributionEncoders.pids();
    if (!contributionPid) throw new Error('no contribution encoder is running');
    const lastMsn = () => ladder.sink?.tracks[0]?.timeline.last?.msn ?? 0;
    const msn0 = lastMsn();
    const c0 = processCpuSeconds(contributionPid);
    const l0 = processCpuSeconds(ladderPid);
    const m0 = machineTicks();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const wallS = (Date.now() - t0) / 1000;
    const contribution = (processCpuSeconds(contributionPid) - c0) / wallS;
    const ladderCores = (processCpuSeconds(ladderPid) - l0) / wallS;
    const realtime = ((lastMsn() - msn0) * Number(process.env.HLS_SEGMENT_MS ?? 1000)) / 1000 / wallS;
    const busy = machineBusyShare(m0, machineTicks());
    const row = {
      source: `${size} H.264 B-frames over RTMP`,
      renditions: ladder.ladder.map((r) => r.name).join(' '),
      'contribution ffmpeg cores': round(contribution, 2),
      'ladder ffmpeg cores': round(ladderCores, 2),
      'total cores': round(contribution + ladderCores, 2),
      'media s per s': round(realtime, 2),
      'machine busy %': round(busy * 100, 0),
      target: `<= ${TARGET_CORES}`,
      result: contribution + ladderCores <= TARGET_CORES && realtime > 0.9 ? 'met' : 'MISSED',
    };
    console.log(`\nCPU per RTMP input over ${seconds} s (contribution re-encode for WebRTC + HLS ladder)\n`);
    console.log(table([row]));
    console.log(`\n${JSON.stringify({ bench: 'ingest-cpu', machine: machine(), seconds, ...row }, null, 2)}`);
  } finally {
    pusher.kill('SIGKILL');
    await node.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
