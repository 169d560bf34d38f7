// CPU per RTMP input: a real node (HLS on) receives a 720p30 H.264 stream with B-frames + AAC over
// RTMP from ffmpeg (as OBS sends it), and the ffmpeg processes that work for it are sampled from
// /proc over a window: the contribution encoder (FLV -> three H.264 constrained-baseline simulcast
// layers + Opus RTP for WebRTC) and, where the design has one, the HLS ladder's own ffmpeg. The
// pushing ffmpeg is the streamer's encoder and is not charged. Two designs alternate in one run, on
// the same node and machine load:
//   copy       (current) the contribution encoder also writes its layers as CMAF (one encode, two
//              muxers), AAC and posters; the ladder only copies them to the packager: one decode.
//   transcode  (before) the ladder taps the top layer, decodes it and encodes three renditions
//              again; reproduced in-process by giving the RTMP listener no ladder output, so the
//              contribution encoder writes none and the ladder falls back to transcoding.
// The node process's own CPU (RTMP parsing, packaging; it also runs this bench's sampling) is shown
// beside, not in the total; 'cores per media s' divides the total by how much media the ladder
// packaged per wall second, so a window where ffmpeg fell behind real time (a busy machine) is not
// mistaken for a cheap one (such a window is marked 'starved', never 'met'). Knobs: INGEST_SECONDS (20 per window), INGEST_ROUNDS (2 of each design),
// INGEST_SIZE (1280x720), HLS_MAX_RENDITIONS (3), HLS_PRESET (veryfast).
import { contributionEncoders, type LadderOutput } from '@onair/sfu';
import { loadavg } from 'node:os';
import { machineBusyShare, machineTicks, processCpuSeconds } from './proc-cpu.js';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { spawnPush } from '../../test/support/push-encoder.js';
import { machine, round, table } from './report.js';

const seconds = Number(process.env.INGEST_SECONDS ?? 20);
const rounds = Number(process.env.INGEST_ROUNDS ?? 2);
const size = process.env.INGEST_SIZE ?? '1280x720';
const segmentMs = Number(process.env.HLS_SEGMENT_MS ?? 1000);
const TARGET_CORES = 0.6;

type Design = 'copy' | 'transcode';

async function main(): Promise<void> {
  const node = await startTestNode({
    HLS_MODE: 'always',
    HLS_MAX_RENDITIONS: process.env.HLS_MAX_RENDITIONS ?? '3',
    HLS_PRESET: process.env.HLS_PRESET ?? 'veryfast',
    PUBLISHER_TIMEOUT_MS: '5000',
  });
  // The listener's options object, read at each publish: without `ladder` its encoders write no
  // renditions, and the stream's ladder transcodes as before.
  const listenerOpts = (node.rtmp as unknown as { opts: { ladder?: LadderOutput } }).opts;
  const ladderOutput = listenerOpts.ladder;
  if (!ladderOutput) throw new Error('the node gives its RTMP encoders no ladder output (HLS off?)');
  const rows: Record<string, string | number>[] = [];
  try {
    for (let i = 0; i < rounds * 2; i++) {
      const design: Design = i % 2 === 0 ? 'copy' : 'transcode';
      listenerOpts.ladder = design === 'copy' ? ladderOutput : undefined;
      rows.push(await measure(node, design));
    }
  } finally {
    listenerOpts.ladder = ladderOutput;
    await node.close();
  }
  console.log(`\nCPU per RTMP input, ${seconds} s windows, the two designs alternating on one node\n`);
  console.log(table(rows));
  console.log(`\n${JSON.stringify({ bench: 'ingest-cpu', machine: machine(), seconds, rows }, null, 2)}`);
}

async function measure(node: Awaited<ReturnType<typeof startTestNode>>, design: Design): Promise<Record<string, string | number>> {
  const s = await createUserAndStream(node.url, `ingest cpu ${design}`);
  // The streamer's encoder: x264 veryfast with 2 B-frames (OBS's default), 2.5 Mbps, AAC.
  const pusher = spawnPush({
    url: `rtmp://127.0.0.1:${node.rtmp!.port}/live/${s.streamKey}`,
    format: 'flv',
    size,
    videoBitrate: '2500k',
    seconds: seconds + 60,
  });
  try {
    await waitFor('the ladder to run', () => node.ladders?.get(s.id)?.state === 'running', 40_000);
    await new Promise((r) => setTimeout(r, 3000)); // past start-up
    const ladder = node.ladders!.get(s.id)!;
    const ladderPid = ladder.encoderPid;
    if ((design === 'copy') !== (ladderPid === undefined)) throw new Error(`the ${design} design ran with ladder pid ${ladderPid}`);
    const [contributionPid] = contributionEncoders.pids();
    if (!contributionPid) throw new Error('no contribution encoder is running');
    const lastMsn = () => ladder.sink?.tracks[0]?.timeline.last?.msn ?? 0;
    const msn0 = lastMsn();
    const c0 = processCpuSeconds(contributionPid);
    const l0 = ladderPid ? processCpuSeconds(ladderPid) : 0;
    const n0 = process.cpuUsage();
    const m0 = machineTicks();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const wallS = (Date.now() - t0) / 1000;
    const contribution = (processCpuSeconds(contributionPid) - c0) / wallS;
    const ladderCores = ladderPid ? (processCpuSeconds(ladderPid) - l0) / wallS : 0;
    const n1 = process.cpuUsage(n0);
    const nodeCores = (n1.user + n1.system) / 1e6 / wallS;
    const realtime = ((lastMsn() - msn0) * segmentMs) / 1000 / wallS;
    const busy = machineBusyShare(m0, machineTicks());
    const total = contribution + ladderCores;
    return {
      time: new Date().toISOString().slice(11, 16),
      design,
      renditions: ladder.ladder.map((r) => r.name).join(' '),
      'contribution ffmpeg cores': round(contribution, 2),
      'ladder ffmpeg cores': round(ladderCores, 2),
      'total cores': round(total, 2),
      'node process cores': round(nodeCores, 2),
      'media s per s': round(realtime, 2),
      // A starved window (ffmpeg behind real time) spends less per wall second: per media second it compares.
      'cores per media s': realtime > 0 ? round(total / realtime, 2) : '-',
      'machine busy %': round(busy * 100, 0),
      'load 1m': round(loadavg()[0]!, 1),
      result: realtime < 0.9 ? 'starved' : total <= TARGET_CORES ? 'met' : 'MISSED',
    };
  } finally {
    // A stop (deleteStream) ends the stream at once; a drop would keep it for a reconnect.
    pusher.child.kill('SIGINT');
    const killer = setTimeout(() => pusher.child.kill('SIGKILL'), 3000);
    await pusher.exited;
    clearTimeout(killer);
    await waitFor('the stream to end', () => !node.media.isBroadcasting(s.id), 60_000);
    await waitFor('no contribution encoder left', () => contributionEncoders.running === 0, 10_000);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
